"""Chord successor list: the closest known nodes clockwise from self (SPEC §7.6).

Sorted by bias from ``self_id``, at most ``max_size`` entries (3 in 0.2.5, ``swarm.rs``),
never containing ``self_id`` (Stoica et al. 2001, §5.2: r successors survive r-1 failures).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator

from ..did import RING_SIZE, Did
from ..errors import InvalidArgument

__all__ = ["SuccessorList"]

_MASK = RING_SIZE - 1


class SuccessorList:
    """Up to ``max_size`` nodes sorted clockwise from ``self_id``."""

    __slots__ = ("self_id", "max_size", "_base", "_nodes", "_bias")

    def __init__(self, self_id: Did, max_size: int = 3) -> None:
        if not isinstance(self_id, Did):
            raise InvalidArgument(f"self_id expected Did, got {type(self_id).__name__}")
        if not isinstance(max_size, int) or isinstance(max_size, bool) or max_size < 1:
            raise InvalidArgument(f"max_size expected int >= 1, got {max_size!r}")
        self.self_id = self_id
        self.max_size = max_size
        self._base = int(self_id)
        self._nodes: list[Did] = []
        self._bias: list[int] = []  # ascending, parallel to _nodes

    def update(self, did: Did) -> bool:
        """Insert ``did`` if the list is not full or it is closer than the last entry.

        Args:
            did: a known node; ``self_id`` and entries already present are ignored.
        Returns:
            True if the list changed.
        """
        b = (int(did) - self._base) & _MASK
        i = bisect_left(self._bias, b)
        if b == 0 or i >= self.max_size or (i < len(self._bias) and self._bias[i] == b):
            return False
        self._nodes.insert(i, did)
        self._bias.insert(i, b)
        if len(self._nodes) > self.max_size:
            self._nodes.pop()
            self._bias.pop()
        return True

    def remove(self, did: Did) -> bool:
        """Drop ``did``.

        Returns:
            True if it was in the list.
        """
        b = (int(did) - self._base) & _MASK
        i = bisect_left(self._bias, b)
        if i == len(self._bias) or self._bias[i] != b:
            return False
        del self._nodes[i], self._bias[i]
        return True

    def first(self) -> Did | None:
        """The immediate successor, or None if empty."""
        return self._nodes[0] if self._nodes else None

    def max(self) -> Did | None:
        """The farthest entry, or None if empty."""
        return self._nodes[-1] if self._nodes else None

    def max_bias(self) -> int | None:
        """Bias of the farthest entry, or None if empty."""
        return self._bias[-1] if self._bias else None

    def first_bias(self) -> int | None:
        """Bias of the immediate successor (hot path of ``find_successor``), or None."""
        return self._bias[0] if self._bias else None

    @property
    def is_full(self) -> bool:
        return len(self._nodes) >= self.max_size

    def list(self) -> list[Did]:
        """A copy of the entries, closest first (0.2.5 ``SuccessorSeq::list``)."""
        return self._nodes.copy()

    def __len__(self) -> int:
        return len(self._nodes)

    def __iter__(self) -> Iterator[Did]:
        return iter(self._nodes.copy())

    def __contains__(self, did: object) -> bool:
        return did in self._nodes
