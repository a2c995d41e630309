"""Chord maintenance: joining the ring, stabilization rounds, fingers and lookups (SPEC §7.4, §7.6).

:class:`~rings_web.dht.chord.PeerRing` decides; this part asks and answers the questions
behind its decisions with 0.2.5 messages (``FindSuccessor*``, ``NotifyPredecessor*``) and
links to the nodes the ring would use.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from ..did import RING_BITS, Did
from ..dht.chord import FixFinger, Local
from ..errors import RemoteError
from ..message import payload as pl
from ..message.relay import check_relay
from ..wire.types import (
    FindSuccessorReport, FindSuccessorSend, Handler, MessagePayload, MultiCall, NotifyPredecessorReport,
    NotifyPredecessorSend,
)
from .events import LookupResult
from .requests import RequestKind

if TYPE_CHECKING:
    from .links import Link
    from .core import Engine

__all__ = ["Chord"]

#: finger checks remembered for their answers (the rest never came)
_FINGER_CHECKS = 256


class Chord:
    """The ring maintenance of one node: its place, successors, predecessor and fingers."""

    def __init__(self, node: Engine) -> None:
        self.node = node
        self.me, self.config, self.ring = node.me, node.config, node.ring
        self.requests, self.links, self.router, self.vnodes = node.requests, node.links, node.router, node.vnodes
        self.peers = node.links.peers
        self._rounds = 0
        self._steps = 0  # successors stepped back to this round (see on_notify_report)
        self._join_lookups: set[uuid.UUID] = set()  # tx ids of our join lookups (on manual links)
        self._borrow_from: Did | None = None  # the successor a join lookup named, until borrowed from
        self._borrow_tx: uuid.UUID | None = None  # tx id of that borrow: its answers are guesses
        self._finger_checks: dict[uuid.UUID, int] = {}  # tx id of a finger check -> its slot

    # -- API ---------------------------------------------------------------------------------------
    def lookup(self, key: Did, now: int) -> int:
        req = self.requests.new(RequestKind.LOOKUP, now, key)
        answer = self.ring.successor_of(key)
        if answer is not None:
            return self.requests.done(req.id, LookupResult(answer, 0))
        found = self.ring.find_successor(key)
        hop = found.did if isinstance(found, Local) else found.next_hop
        return self.router.send_request(req, FindSuccessorSend(key, False, Handler.None_), hop, now, next_hop=hop)

    # -- rounds ------------------------------------------------------------------------------------
    def stabilize(self, now: int) -> None:
        successors = self.ring.successors.list()
        if successors:
            self.router.send_via(NotifyPredecessorSend(self.me), successors[0], successors[0], now)
        if len(successors) > 1:  # one successor a round names the next one
            self._ask_successor_of(successors[self._rounds % (len(successors) - 1)], now)
        self._rounds += 1
        self._steps = 0
        if self.ring.predecessor is None and self._rounds > 1:
            # beyond 0.2.5: no node has told us it precedes us for a whole round, so we may
            # sit apart from the ring (concurrent joins): ask where we belong
            self._look_up_self(now)
        elif self._rounds in (2, 4) or self._rounds % 8 == 0:
            # beyond 0.2.5: concurrent joins can leave a chain of nodes whose successors and
            # predecessors agree with each other but skip the rest of the ring (a loop the
            # notifications never leave); asked through a peer outside that chain, the ring
            # names our true successor
            self._look_up_self(now, outside=True)
        # the slots no lookup has confirmed first; when all are, one slot a round (0.2.5's
        # pace) still rechecks them in turn (a finger displaced by a newcomer is told by
        # the newcomer's successor, see on_notify_send)
        checked = 0
        for _ in range(self.config.fingers_per_round):
            step = self.ring.next_finger_check(unverified=True)
            if step is None:
                break
            self._check_finger(step, now)
            checked += 1
        if not checked and (step := self.ring.next_finger_check()) is not None:
            self._check_finger(step, now)
        self.vnodes.keep_replicas(now)
        self.links.prune({*self.ring.fingers, *self.ring.successors, self.ring.predecessor}, now)

    def _ask_successor_of(self, peer: Did, now: int) -> None:
        """Ask a successor for its own first successor: the next entry of our list (Chord's
        successor-list copy, with 0.2.5's message: ``FindSuccessorSend{did: peer}`` to ``peer``)."""
        self.router.send_direct(FindSuccessorSend(peer, False, Handler.Connect), peer, now)

    def _check_finger(self, step: FixFinger, now: int) -> None:
        """Ask the slot's finger whether it still is the successor of the target (it is when
        the target lies in (its predecessor, it]; else it passes the question back); for an
        empty slot, ask the first successor (whose own finger lies just past the target)."""
        finger = self.ring.fingers[step.index]
        if finger is None:
            finger = self.ring.successors.first()
        if finger is not None:
            tx_id = self.router.send_direct(FindSuccessorSend(step.target, False, Handler.FixFingerTable), finger, now)
            if len(self._finger_checks) >= _FINGER_CHECKS:  # answers that never came
                self._finger_checks.clear()
            self._finger_checks[tx_id] = step.index

    def _settle_fingers(self, slot: int | None, did: Did) -> None:
        """A finger lookup (for ``slot``, if known) named ``did``: the slots it settles are
        left out of the round-robin checks."""
        if slot is None:
            self.ring.verify_top(did)
        else:
            self.ring.verify(slot, did)

    def _look_up_self(self, now: int, outside: bool = False) -> None:
        """Ask where we belong through the peer farthest round the ring (closest behind us);
        ``outside``: not through our predecessor or successors (the ring we may be wrong about)."""
        skip = {self.ring.predecessor, *self.ring.successors} if outside else {self.ring.successors.first()}
        others = [d for d in self.peers if d not in skip]
        if others:
            start = max(others, key=lambda d: d.bias(self.me))
            self.router.send_direct(FindSuccessorSend(self.me, False, Handler.Connect), start, now)

    # -- peers coming and going --------------------------------------------------------------------
    def linked(self, t: Link, now: int) -> None:
        """A link to ``t.remote`` opened: join it to the ring (SPEC §7.4)."""
        if t.manual:  # a bootstrap link: ask where we belong (0.2.5's JoinDHT handler, SPEC §7.4)
            lookup = FindSuccessorSend(self.me, False, Handler.Connect)
            self._join_lookups.add(self.router.send_direct(lookup, t.remote, now))
        self._join(t.remote, now)
        if t.ring_managed:  # a finger we linked to is checked at once, unless a lookup named it
            if t.exact:
                self._settle_fingers(t.slot, t.remote)
            elif (check := self.ring.check_for(t.remote)) is not None:
                self._check_finger(check, now)
        if t.remote in self.ring.successors.list()[:-1]:  # and a new successor names the next one
            self._ask_successor_of(t.remote, now)

    def unlinked(self, peer: Did, now: int) -> None:
        before = self.ring.successors.first()
        self.ring.remove(peer)
        self._after_ring_change(before, now)

    def _learn(self, did: Did, now: int, via: tuple[Did, ...] = (), exact: bool = False,
               slot: int | None = None) -> None:
        """A report named ``did``: join it if linked; link to it if the ring would use it.

        The offer goes back along the report's path (``via``): the reporter knows ``did``,
        and the last hop is linked to us, while our own ring may not reach ``did`` yet.
        ``exact``: ``did`` answers a finger lookup, so the slots it takes need no check.
        """
        if did in self.peers:
            self._join(did, now)
        elif self.ring.would_improve(did, tuple(t.remote for t in self.links.pending.values() if t.remote)):
            # 0.2.5 connects to every reported node
            self.links.offer(did, now, via=via, exact=exact, slot=slot)

    def _join(self, did: Did, now: int) -> None:
        before = self.ring.successors.first()
        self.ring.join(did)
        self._after_ring_change(before, now)

    def _after_ring_change(self, before: Did | None, now: int) -> None:
        after = self.ring.successors.first()
        if after is None or after == before:
            return
        if after in self.peers and not (self._join_lookups and len(self.peers) == 1):
            # beyond 0.2.5: notify a new successor now, not next round (unless it is only our
            # bootstrap: stepping back from it would walk the ring while the lookup answers)
            self._greet(after, now)
        self.vnodes.hand_over(after, now)

    def _greet(self, successor: Did, now: int) -> None:
        """Tell a new first successor we precede it; a newcomer also looks its fingers up
        through it (whose own fingers lie just past ours), in one payload."""
        self.router.send_direct(NotifyPredecessorSend(self.me), successor, now)
        if successor == self._borrow_from:
            self._borrow_from = None
            targets = range(self.ring.successors.first_bias().bit_length(), RING_BITS)
            lookups = tuple(FindSuccessorSend(self.me + (1 << k), False, Handler.FixFingerTable) for k in targets)
            self._borrow_tx = self.router.send_direct(MultiCall(lookups), successor, now)

    # -- inbound -----------------------------------------------------------------------------------
    def on_find_successor_send(self, p: MessagePayload, now: int) -> None:
        msg: FindSuccessorSend = p.data
        router = self.router
        reported = router.multicall_reports
        answer = self.ring.successor_of(msg.did)
        if answer is None and reported is None:
            check_relay(p.relay, self.me)
            found = self.ring.find_successor(msg.did, p.relay.path)
            hop = found.did if isinstance(found, Local) else found.next_hop
            if hop not in p.relay.path:
                router.remember_back(p)
                return router.emit(pl.reset_destination(router.session, p, next_hop=hop, now=now), now)
        if answer is None:
            # the lookup cannot go on: inside a MultiCall (its origin signed the MultiCall,
            # not it; the asker, a newcomer borrowing our fingers, checks the guess), or
            # every way on was visited (a ring still settling): our best answer beats none
            answer = self.ring.first_known_from(msg.did)
        if msg.strict and msg.did != self.me and msg.did in self.peers:
            return router.forward(p, now, next_hop=msg.did)
        if answer == msg.did:  # the asker already is our successor: name the node after it
            later = [s for s in self.ring.successors if s != msg.did]
            answer = later[0] if later else self.me
        report = FindSuccessorReport(answer, msg.then)
        if reported is not None:
            # reports share the MultiCall's tx_id: the same answer twice would be the same
            # bytes, which the asker rightly rejects as a replay, so each answer is given once
            if report in reported:
                return None
            reported.add(report)
        router.report(p, report, now)

    def on_find_successor_report(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self.router.forward(p, now)
        if p.tx_id not in self.router.asked:
            raise RemoteError("a FindSuccessorReport to a lookup this node did not make")
        did, handler = p.data.did, p.data.handler
        req = self.requests.answered_by(p.tx_id)
        if req is not None:
            self.requests.done(req.id, LookupResult(did, len(p.relay.path)) if req.kind is RequestKind.LOOKUP else did)
        if p.tx_id in self._join_lookups:
            self._join_lookups.discard(p.tx_id)
            if did == self.ring.successors.first() and did in self.peers:
                # our bootstrap is our successor (the ring is small): tell it now; our rounds
                # find the few fingers there are
                self.router.send_direct(NotifyPredecessorSend(self.me), did, now)
            elif did != self.me:
                self._borrow_from = did
        if did == self.me:
            return
        if handler in (Handler.Connect, Handler.FixFingerTable, Handler.SyncStorage):
            exact = handler == Handler.FixFingerTable and p.tx_id != self._borrow_tx  # borrowed ones are guesses
            slot = self._finger_checks.pop(p.tx_id, None) if exact else None
            self._learn(did, now, via=p.relay.path, exact=exact, slot=slot)
            if exact and did in self.peers:
                self._settle_fingers(slot, did)

    def on_notify_send(self, p: MessagePayload, now: int) -> None:
        sender = p.relay.path[0]
        if p.data.did != sender:  # only a node may announce itself (0.2.5 trusts any did)
            raise RemoteError("NotifyPredecessorSend for a DID other than its origin")
        old = self.ring.notify(sender)
        if old is not None and old != sender:
            self.router.report(p, NotifyPredecessorReport(old), now)
        if self.ring.predecessor == sender != old:
            # beyond 0.2.5: tell our other peers at once that a node arrived just before us:
            # those with a finger target in (old, sender], an id it now owns, link to it
            # (the old predecessor first of all, whose successor it is); with no old
            # predecessor, the peers that linked to us for their ring (we may be their
            # finger; not those we met by a manual handshake, which look their place up)
            for peer, tid in self.peers.items():
                t = self.links.transports[tid]
                if peer != sender and (_needs(peer, old, sender) if old is not None
                                       else not (t.ring_managed or t.manual)):
                    self.router.send_direct(NotifyPredecessorReport(sender), peer, now)
            if old is None:  # our predecessor left: the new one now owns what it owned
                self.vnodes.restore(sender, now)

    def on_notify_report(self, p: MessagePayload, now: int) -> None:
        did = p.data.did
        if did == self.me:
            return
        succ = self.ring.successors.first()
        if succ is not None and p.relay.path[0] == succ and did.in_range(self.me, succ) and did != succ:
            # our successor has a closer predecessor: we step back to it (Chord's stabilize);
            # stepping twice in a round means we are far from our place, so look it up
            self._steps += 1
            if self._steps == 2:
                self._look_up_self(now)
        self._learn(did, now, via=p.relay.path)


def _needs(peer: Did, old: Did, new: Did) -> bool:
    """Whether ``peer``, linked to us, needs to hear of our new predecessor ``new`` (which
    replaced ``old``): it takes over the ids in ``(old, new]``, so ``peer`` needs it if a
    finger target ``peer + 2^k`` lies there (the old predecessor's ``peer + 1`` among them),
    whichever end opened the link."""
    b_old, b_new = old.bias(peer), new.bias(peer)
    if b_old > b_new:  # peer lies in (old, new): from it, the range starts at peer itself
        b_old = 0
    return b_new.bit_length() > b_old.bit_length()
