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

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from ..did import RING_BITS, RING_SIZE, Did
from ..errors import InvalidArgument
from .finger import FingerTable
from .successor import SuccessorList

__all__ = ["FixFinger", "Local", "Lookup", "PeerRing", "Remote"]

_MASK = RING_SIZE - 1
_NEAR_GAPS = 4  # a known node this close (in neighbour gaps) past a target is asked directly


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
    """A finger check: ask for the successor of ``target``, the slot's finger if unchanged."""

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

    __slots__ = ("self_id", "fingers", "successors", "predecessor", "fix_finger_index", "_base", "_known", "_known_bias",
                 "_verified")

    def __init__(self, self_id: Did, successors: int = 3) -> None:
        self.self_id = _did(self_id, "self_id")
        self._base = int(self_id)
        self.fingers = FingerTable(self_id)
        self.successors = SuccessorList(self_id, successors)
        self.predecessor: Did | None = None
        self.fix_finger_index = 0  # last slot handed out by next_finger_check
        # every joined node, clockwise from self: fingers and successors are drawn from it
        self._known: list[Did] = []
        self._known_bias: list[int] = []
        # finger -> lowest slot k for which a lookup named it the successor of self + 2^k:
        # it is then right for every slot from k to the end of its run
        self._verified: dict[Did, int] = {}

    # -- membership -------------------------------------------------------------------------
    def join(self, did: Did) -> None:
        """A node became reachable (``JoinDHT``, §7.4): update fingers and successors.

        Args:
            did: the node; ``self_id`` is ignored (a peer may report us to ourselves).
        """
        b = (int(_did(did)) - self._base) & _MASK
        i = bisect_left(self._known_bias, b)
        if b == 0 or (i < len(self._known_bias) and self._known_bias[i] == b):
            return
        self._known.insert(i, did)
        self._known_bias.insert(i, b)
        self.fingers.join(did)
        self.successors.update(did)

    def remove(self, did: Did) -> None:
        """A node left or failed (``LeaveDHT``, §7.4): forget it as predecessor, finger and
        successor.

        Beyond 0.2.5 (which refills only an empty successor list with the first finger, and
        a finger run with the next finger): the next known node takes over its finger slots,
        and the successor list is refilled from the known nodes.
        """
        b = (int(_did(did)) - self._base) & _MASK
        if self.predecessor == did:
            self.predecessor = None
        i = bisect_left(self._known_bias, b)
        if i == len(self._known_bias) or self._known_bias[i] != b:
            return
        del self._known[i], self._known_bias[i]
        self._verified.pop(did, None)
        if self.fingers.remove(did) and i < len(self._known):
            self.fingers.join(self._known[i])  # the closest node after ``did``: its slots' new owner
        if self.successors.remove(did):
            for n in self._known[: self.successors.max_size]:
                self.successors.update(n)

    def would_improve(self, did: Did, coming: tuple[Did, ...] = ()) -> bool:
        """True if joining ``did`` would change a finger or the successor list, counting the
        nodes ``coming`` (links under way) as already joined.

        Checking the topmost slot ``did`` can take suffices: slots never get farther with k.
        The engine connects to a reported node only when this holds.
        """
        bias = (int(_did(did)) - self._base) & _MASK
        if bias == 0 or did in self.successors:
            return False
        closer = [q for q in ((int(c) - self._base) & _MASK for c in coming) if 0 < q < bias]
        slot = bias.bit_length() - 1
        if not any(q >> slot for q in closer):  # no link under way takes did's top slot
            current = self.fingers[slot]
            if current is None or bias < (int(current) - self._base) & _MASK:
                return True
        successors = self.successors
        nearer = sum(1 for s in successors if (int(s) - self._base) & _MASK < bias) + len(closer)
        return nearer < successors.max_size

    # -- routing ----------------------------------------------------------------------------
    def find_successor(self, target: Did, avoid: tuple[Did, ...] = ()) -> Lookup:
        """Route a lookup one step (0.2.5 ``find_successor``, §7.6).

        ``Local(first successor)`` if ``bias(target) <= bias(first successor)`` (also for
        ``target == self``, as 0.2.5), ``Local(self)`` if there is no successor; otherwise
        ``Remote`` to the closest preceding known node, or to the first successor when none
        precedes the target, so a lookup never routes back to this node.

        Beyond 0.2.5 (which routes through fingers only) every joined node is a candidate:
        the links other nodes opened to us (we are their finger or successor) lie mostly
        behind us, where our own fingers never reach.  And a known node at most a few
        neighbour gaps past the target, and nearer to it than the closest known node before
        it, is preferred: it is the target's successor or next to it (a finger check ends
        there), while the nodes before the target may be many hops away.  Such a lookup
        passes its target, so a caller routing it on passes the nodes it has visited as
        ``avoid`` (the engine passes the relay path).

        Args:
            target: the id looked up.
            avoid: nodes not to route through (those a message has already visited: a node
                that has just learnt of the message's origin would often send it back there).
        Returns:
            ``Local`` or ``Remote``.
        """
        t = (int(_did(target, "target")) - self._base) & _MASK
        first = self.successors.first_bias()
        if first is None:
            return Local(self.self_id)
        if t <= first:
            return Local(self.successors.first())  # type: ignore[arg-type]
        known, biases = self._known, self._known_bias
        i = self._preceding(t, avoid)
        j = bisect_right(biases, t)
        while j < len(known) and known[j] in avoid:
            j += 1
        if j < len(known):
            past = biases[j] - t
            if past <= self._gap() * _NEAR_GAPS and (i < 0 or past < t - biases[i]):
                return Remote(known[j])
        return Remote(self.successors.first() if i < 0 else known[i])  # type: ignore[arg-type]

    def _gap(self) -> int:
        """Mean distance between neighbours near this node: the local density of the ring."""
        span = self.successors.max_bias()
        return RING_SIZE if span is None else span // len(self.successors)

    def closest_preceding(self, target: Did, avoid: tuple[Did, ...] = ()) -> Did | None:
        """The known node closest before ``target`` (clockwise from self), not in ``avoid``."""
        i = self._preceding((int(_did(target, "target")) - self._base) & _MASK, avoid)
        return self._known[i] if i >= 0 else None

    def _preceding(self, bias: int, avoid: tuple[Did, ...]) -> int:
        """Index in the known nodes of the closest one before ``bias`` not in ``avoid``, or -1."""
        known = self._known
        i = bisect_left(self._known_bias, bias) - 1
        while i >= 0 and known[i] in avoid:
            i -= 1
        return i

    def first_known_from(self, target: Did) -> Did:
        """The first known node at or after ``target`` (clockwise), else this node."""
        t = (int(_did(target, "target")) - self._base) & _MASK
        i = bisect_left(self._known_bias, t)
        return self._known[i] if i < len(self._known) else self.self_id

    def successor_of(self, target: Did) -> Did | None:
        """The successor of ``target`` when this node's own pointers tell it, else None
        (the ``FindSuccessorSend`` handler answers with it, or routes the lookup on).

        0.2.5 answers only for ``target`` in ``[self, first successor]`` (the first successor;
        this node when alone).  Beyond that a node knows it is itself the successor of the
        ids in ``(predecessor, self]``: one question sent straight to a finger checks it.
        """
        t = (int(_did(target, "target")) - self._base) & _MASK
        first = self.successors.first_bias()
        if first is None:
            return self.self_id
        if t <= first:
            return self.successors.first()
        pred = self.predecessor
        if pred is not None and t > (int(pred) - self._base) & _MASK:
            return self.self_id
        return None

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

    def verify(self, k: int, did: Did) -> None:
        """A lookup named ``did`` the successor of ``self + 2^k``: if slot k holds it, the
        slots from k to the end of its run are right (until ``did`` leaves)."""
        if 0 <= k < RING_BITS and self.fingers[k] == did and self._verified.get(did, RING_BITS) > k:
            self._verified[did] = k

    def verify_top(self, did: Did) -> None:
        """A lookup named ``did`` the successor of some target before it: the last slot of
        its run (the one nearest it) is right."""
        self.verify(((int(_did(did)) - self._base) & _MASK).bit_length() - 1, did)

    def next_finger_check(self, unverified: bool = False) -> FixFinger | None:
        """The next finger slot worth a question, walking the slots round.

        The index advances before use, as 0.2.5's (its first round fixes k = 1, §10 item 16),
        but the target is ``self + 2^k`` (Chord) instead of 0.2.5's absolute ``2^k``.  Slots
        whose target lies within the first successor hold it already (the table's
        invariant) and are skipped, as is a slot whose target is ours (in ``(predecessor,
        self]``: it stays empty) and a slot holding the same node as the slot before (the
        check of its run's first slot covers it).  Returns None when a whole turn found
        nothing to ask.

        ``unverified``: skip too the slots a lookup has confirmed (:meth:`verify`).
        """
        first = self.successors.first_bias()
        low = RING_BITS if first is None else first.bit_length()
        pred = self.predecessor
        mine = RING_SIZE if pred is None else (int(pred) - self._base) & _MASK
        fingers = self.fingers
        for _ in range(RING_BITS - low):
            k = (self.fix_finger_index + 1) % RING_BITS
            k = self.fix_finger_index = k if k >= low else low
            finger = fingers[k]
            if (1 << k) > mine or (finger is not None and fingers[k - 1] == finger):
                continue
            if unverified and finger is not None and self._verified.get(finger, RING_BITS) <= k:
                continue
            return FixFinger(k, self.self_id + (1 << k))
        return None

    def check_for(self, did: Did) -> FixFinger | None:
        """The finger check for a node that has just joined: the first slot of its run (a
        node between that slot's target and it may be unknown to us), or None if it holds
        no slot or that slot is answered locally.  The slots after its run need none: their
        targets lie past it."""
        first = self.fingers.first_slot(did)
        local = self.successors.first_bias()
        if first is None or local is None or (1 << first) <= local:
            return None
        return FixFinger(first, self.self_id + (1 << first))
