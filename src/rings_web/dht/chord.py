"""PeerRing: the Chord decisions of one node, with no I/O (SPEC §7.6, §7.7).

Methods change the local routing state and return small decisions; the engine turns them
into messages (``FindSuccessorSend``, ``NotifyPredecessorSend``, ...).

>>> ring = PeerRing(Did(0))
>>> for n in (Did(1), Did(5), Did(2**159)):
...     ring.join(n)
>>> ring.find_successor(Did(1)), ring.find_successor(Did(6))
(Local(did=Did(0x0000000000000000000000000000000000000001)), Remote(next_hop=Did(0x0000000000000000000000000000000000000005)))
"""

from __future__ import annotations

from dataclasses import dataclass

from ..did import RING_BITS, RING_SIZE, Did
from ..errors import InvalidArgument
from .finger import FingerTable
from .successor import SuccessorList

__all__ = ["FixFinger", "Local", "Lookup", "PeerRing", "Remote"]

_MASK = RING_SIZE - 1


@dataclass(frozen=True, slots=True)
class Local:
    """The lookup ends at this node (SPEC §7.6 local answer)."""

    did: Did
    """The target's successor: the first successor, or this node when it knows no other.
    In 0.2.5 placement (§7.7) the id is stored *here*, not at ``did``."""


@dataclass(frozen=True, slots=True)
class Remote:
    """The lookup continues at another node."""

    next_hop: Did
    """Where to send ``FindSuccessorSend`` (``next_hop`` = ``destination`` in 0.2.5)."""


Lookup = Local | Remote


@dataclass(frozen=True, slots=True)
class FixFinger:
    """One fix-fingers round: look up ``target``, then ``apply_finger(index, answer)``."""

    index: int
    """Finger slot k, 0..159."""
    target: Did
    """``self + 2^k`` (0.2.5 sends the absolute ``2^k``, §10 item 16)."""


def _did(value: object, name: str = "did") -> Did:
    if not isinstance(value, Did):
        raise InvalidArgument(f"{name} expected Did, got {type(value).__name__}")
    return value


class PeerRing:
    """Finger table, successor list and predecessor of node ``self_id``.

    Every method taking a DID raises ``InvalidArgument`` if it is not a ``Did``.

    Args:
        self_id: this node's DID.
        successors: successor list size (3 in 0.2.5).
    """

    __slots__ = ("self_id", "fingers", "successors", "predecessor", "fix_finger_index", "_base")

    def __init__(self, self_id: Did, successors: int = 3) -> None:
        self.self_id = _did(self_id, "self_id")
        self._base = int(self_id)
        self.fingers = FingerTable(self_id)
        self.successors = SuccessorList(self_id, successors)
        self.predecessor: Did | None = None
        self.fix_finger_index = 0  # last slot handed out by fix_fingers_step

    # -- membership -------------------------------------------------------------------------
    def join(self, did: Did) -> None:
        """A node became reachable (``JoinDHT``, §7.4): update fingers and successors.

        Args:
            did: the node; ``self_id`` is ignored (a peer may report us to ourselves).
        """
        _did(did)
        self.fingers.join(did)
        self.successors.update(did)

    def remove(self, did: Did) -> None:
        """A node left or failed (``LeaveDHT``, §7.4): forget it as predecessor, finger and
        successor.

        Beyond 0.2.5 (which refills only an empty successor list with the first finger):
        the remaining successors are re-offered to the fingers (they may lie between ``did``
        and the next finger), and the successor list is topped up from the fingers.
        """
        _did(did)
        if self.predecessor == did:
            self.predecessor = None
        removed = self.fingers.remove(did)
        if self.successors.remove(did) or removed:
            for s in self.successors:
                self.fingers.join(s)
            for f in self.fingers:
                if self.successors.is_full:
                    break
                self.successors.update(f)

    def would_improve(self, did: Did) -> bool:
        """True if joining ``did`` would change a finger, the successor list or the predecessor.

        Checking the topmost slot ``did`` can take suffices: slots never get farther with k.
        The engine connects to a reported node only when this holds.
        """
        bias = (int(_did(did)) - int(self.self_id)) & _MASK
        if bias == 0:
            return False
        successors = self.successors
        if did not in successors and (not successors.is_full or bias < (int(successors.max()) - int(self.self_id)) & _MASK):
            return True
        current = self.fingers[bias.bit_length() - 1]
        if current is None or bias < (int(current) - int(self.self_id)) & _MASK:
            return True
        pred = self.predecessor
        return pred is None or (int(pred) - int(self.self_id)) & _MASK < bias

    # -- routing ----------------------------------------------------------------------------
    def find_successor(self, target: Did) -> Lookup:
        """Route a lookup one step (0.2.5 ``find_successor``, §7.6).

        ``Local(first successor)`` if ``bias(target) <= bias(first successor)`` (also for
        ``target == self``, as 0.2.5), ``Local(self)`` if there is no successor; otherwise
        ``Remote`` to the closest preceding finger, or to the first successor when no finger
        precedes the target, so a lookup never routes back to this node.

        Args:
            target: the id looked up.
        Returns:
            ``Local`` or ``Remote``.
        """
        t = (int(_did(target, "target")) - self._base) & _MASK
        first = self.successors.first_bias()
        if first is None:
            return Local(self.self_id)
        if t <= first:
            return Local(self.successors.first())  # type: ignore[arg-type]
        hop = self.fingers.closest_preceding(target)
        return Remote(self.successors.first() if hop is None else hop)  # type: ignore[arg-type]

    def stores_here(self, key: Did) -> bool:
        """0.2.5 storage placement (§7.7, §10 item 8): this node stores ``key`` iff
        ``find_successor(key)`` is ``Local``, i.e. ``key`` in ``[self, first successor]``
        (all keys when alone).

        The node *preceding* an id stores it, not its Chord successor; the boundary cases
        ``key == self`` (bias 0) and ``key == first successor`` are both ``True``, so an id
        equal to a node's DID is stored by whichever of the two nodes is asked.
        """
        k = (int(_did(key, "key")) - self._base) & _MASK
        first = self.successors.first_bias()
        return first is None or k <= first

    # -- stabilization ----------------------------------------------------------------------
    def notify(self, did: Did) -> Did | None:
        """``NotifyPredecessorSend{did}`` arrived: adopt ``did`` as predecessor if there is
        none or it lies in ``(predecessor, self)`` (Stoica et al. 2001, Fig. 7 ``notify``).

        Args:
            did: the notifying node; ``self_id`` is ignored.
        Returns:
            The predecessor before the call (0.2.5 reports it back if ≠ sender).
        """
        _did(did)
        old = self.predecessor
        base = self._base
        if did != base and (old is None or (int(old) - base) & _MASK < (int(did) - base) & _MASK):
            self.predecessor = did
        return old

    def stabilize_targets(self) -> list[Did]:
        """The successors to send ``NotifyPredecessorSend{did: self}`` to (§7.6 step 1)."""
        return self.successors.list()

    def fix_fingers_step(self) -> FixFinger:
        """Advance the fix-fingers index and return the lookup to make.

        The index advances before use, as 0.2.5 (the first round fixes k = 1, §10 item 16),
        but the target is ``self + 2^k`` (Chord) instead of 0.2.5's absolute ``2^k``.
        """
        k = self.fix_finger_index = (self.fix_finger_index + 1) % RING_BITS
        return FixFinger(k, self.self_id + (1 << k))

    def apply_finger(self, index: int, did: Did) -> bool:
        """The answer to ``FixFinger(index, self + 2^index)`` arrived: join it if it lies at
        or after the target (bias ``>= 2^index``); otherwise it cannot be that finger and is
        ignored.  Like ``join``, a valid answer takes only slots where it is closer than
        the current entry, so a stale answer never displaces a better finger.

        Call it once ``did`` is connected (0.2.5 connects first and joins on connection).

        Args:
            index: the slot k of the ``FixFinger``.
            did: the answered node.
        Returns:
            True if the answer was valid (and joined).
        Raises:
            InvalidArgument: index outside 0..159.
        """
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < RING_BITS:
            raise InvalidArgument(f"finger index expected 0..{RING_BITS - 1}, got {index!r}")
        if (int(_did(did)) - self._base) & _MASK < (1 << index):  # also rejects self
            return False
        self.join(did)
        return True
