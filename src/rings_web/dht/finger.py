"""Chord finger table: 160 slots, slot k = first known node at or after ``self + 2^k`` (SPEC §7.6).

Invariant kept by every mutation (Stoica et al. 2001, §4.3 with the table over a known set S):
``slot[k] = min-by-bias{n in S : bias(n) >= 2^k}``.  Hence biases never decrease with k,
empty slots form a suffix, and a node occupies one contiguous run of slots ending at slot
``bias.bit_length() - 1``.  ``join``/``remove`` only touch that run, never all 160 slots.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..did import RING_BITS, RING_SIZE, Did
from ..errors import InvalidArgument

__all__ = ["FingerTable"]

_MASK = RING_SIZE - 1
_EMPTY = RING_SIZE  # bias of an empty slot: farther than any node


class FingerTable:
    """The 160 finger slots of node ``self_id``; each slot holds a ``Did`` or ``None``."""

    __slots__ = ("self_id", "_base", "_slots", "_bias")

    def __init__(self, self_id: Did) -> None:
        if not isinstance(self_id, Did):
            raise InvalidArgument(f"self_id expected Did, got {type(self_id).__name__}")
        self.self_id = self_id
        self._base = int(self_id)
        self._slots: list[Did | None] = [None] * RING_BITS
        self._bias: list[int] = [_EMPTY] * RING_BITS  # bias of each slot's node, kept alongside

    def join(self, did: Did) -> bool:
        """Offer a node: it takes every slot k with ``2^k <= bias(did)`` where it is closer.

        The rule of 0.2.5 (§7.6), but only over slots ``bit_length(bias) - 1`` down to the
        first slot already holding a node at least as close (the invariant makes the rest
        unchanged).

        Args:
            did: a known node; ``self_id`` is ignored.
        Returns:
            True if any slot changed.
        """
        b = (int(did) - self._base) & _MASK
        k = b.bit_length() - 1  # highest k with 2^k <= b; -1 for self
        slots, bias = self._slots, self._bias
        changed = False
        while k >= 0 and b < bias[k]:
            slots[k] = did
            bias[k] = b
            changed = True
            k -= 1
        return changed

    def remove(self, did: Did) -> bool:
        """Drop a node; its run of slots takes the entry following the run (as 0.2.5).

        With the invariant this *is* the recomputation from the remaining entries: the slot
        after the run holds the closest remaining node beyond ``did``.  Nodes the table never
        held (shadowed by ``did``) are not known here; ``PeerRing.remove`` re-offers its
        successors for that.

        Returns:
            True if ``did`` was in the table.
        """
        b = (int(did) - self._base) & _MASK
        top = b.bit_length()  # the run ends at slot top - 1
        slots, bias = self._slots, self._bias
        if top == 0 or bias[top - 1] != b:
            return False
        repl, repl_bias = (slots[top], bias[top]) if top < RING_BITS else (None, _EMPTY)
        k = top - 1
        while k >= 0 and bias[k] == b:
            slots[k] = repl
            bias[k] = repl_bias
            k -= 1
        return True

    def first_slot(self, did: Did) -> int | None:
        """The lowest slot holding ``did`` (the start of its run), or None if it holds none."""
        b = (int(did) - self._base) & _MASK
        k = b.bit_length() - 1
        bias = self._bias
        if k < 0 or bias[k] != b:
            return None
        while k > 0 and bias[k - 1] == b:
            k -= 1
        return k

    @property
    def slots(self) -> tuple[Did | None, ...]:
        """All 160 slots, index k = finger ``self + 2^k`` (the 0.2.5 ``finger`` vector)."""
        return tuple(self._slots)

    def __getitem__(self, k: int) -> Did | None:
        return self._slots[k]

    def __iter__(self) -> Iterator[Did]:
        """Distinct nodes in clockwise order, jumping from run to run."""
        k = 0
        while k < RING_BITS and self._slots[k] is not None:
            yield self._slots[k]  # type: ignore[misc]
            k = self._bias[k].bit_length()

    def __contains__(self, did: object) -> bool:
        if not isinstance(did, int):
            return False
        b = (int(did) - self._base) & _MASK
        return b != 0 and self._bias[b.bit_length() - 1] == b
