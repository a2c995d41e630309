"""Links and handshakes: a node's transports from the offer to the close (SPEC §7.3, §7.4).

A link is offered by hand (the application carries the offer and answer strings) or through
the ring (``ConnectNodeSend`` routed to the remote, ``ConnectNodeReport`` back along its
path).  Either way the driver makes the WebRTC offer or answer; what to do with it once made
is the link's :class:`Handshake` state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from ..did import Did
from ..errors import ConnectionFailed, LocalError, RemoteError, RingsError
from ..message import payload as pl
from ..wire.chunk import Reassembler
from ..wire.types import AlreadyConnected, ConnectNodeReport, ConnectNodeSend, HandshakeInfo, MessagePayload
from .events import (
    AcceptOffer, Action, ApplyAnswer, CloseTransport, CreateOffer, Event, HandshakeFailed, PayloadRejected,
    PeerConnected, PeerDisconnected,
)
from .requests import RequestKind

if TYPE_CHECKING:
    from .core import Engine

__all__ = ["Then", "Handshake", "Link", "Links"]

#: frames held from a peer whose channel opened before ours (a 960 KB message is 16 frames)
_EARLY_FRAMES = 64


class Then(Enum):
    """What to do with our offer or answer once the driver has made it."""

    OFFER_BY_HAND = "offer by hand"  # create_offer: the signed offer string is the request's result
    ANSWER_BY_HAND = "answer by hand"  # answer_offer: the signed answer string is the request's result
    OFFER_THROUGH_RING = "offer through the ring"  # send it to the remote, through ``via`` if linked
    ANSWER_THROUGH_RING = "answer through the ring"  # send it back along the offer's path


@dataclass(frozen=True, slots=True)
class Handshake:
    """A link's handshake state, until the driver has made our offer or answer."""

    then: Then
    request: int | None = None  # by hand: the API request the string finishes
    offer: MessagePayload | None = None  # an answer: the offer it answers
    via: tuple[Did, ...] = ()  # an offer through the ring: the path of the report that named the remote


@dataclass(slots=True)
class Link:
    id: str
    remote: Did | None = None
    deadline: int = 0  # a handshake not finished by then is abandoned
    when_ready: Handshake | None = None  # until the driver has made our offer / answer
    connected: bool = False
    ring_managed: bool = False  # opened by this node for the ring: closed when not needed
    manual: bool = False  # handshake strings exchanged out of band (create_offer / answer_offer)
    unused: bool = False  # a ring link nobody used since the last round: closed at the next
    exact: bool = False  # opened to the answer of a finger lookup: its slots need no check
    slot: int | None = None  # the finger slot whose lookup named the remote, if known
    reassembler: Reassembler = field(default_factory=Reassembler)
    early: list[bytes] = field(default_factory=list)  # frames that arrived before transport_open


class Links:
    """Every transport of one node, pending or connected, and the peers they link to."""

    def __init__(self, node: Engine, actions: list[Action], events: deque[Event]) -> None:
        self.node, self.actions, self.events = node, actions, events
        self.me, self.session, self.requests = node.me, node.session, node.requests
        self.timeout_ms = node.config.request_timeout_ms
        self.transports: dict[str, Link] = {}
        self.pending: dict[str, Link] = {}  # transports whose handshake has not finished
        self.peers: dict[Did, str] = {}  # remote DID -> registered transport id

    # -- API ---------------------------------------------------------------------------------------
    def create_offer(self, now: int) -> int:
        rid = self.requests.new(RequestKind.OFFER, now).id
        t = self._new(None, Handshake(Then.OFFER_BY_HAND, request=rid), now)
        t.manual = True
        self.actions.append(CreateOffer(t.id))
        return rid

    def answer_offer(self, text: str | bytes, now: int) -> int:
        rid = self.requests.new(RequestKind.ANSWER, now).id
        try:
            offer = self._verify_handshake_text(text, ConnectNodeSend, now)
        except RingsError as e:
            return self.requests.fail(rid, e)
        # a DID we hold a link to offers again (0.2.5 refuses: "Found existing transport"): it
        # has lost that link, e.g. a page reloaded with its kept session before our end of the
        # old link timed out (then every rejoin failed until it did).  Only the DID's session
        # signs its offers; the new link replaces the old when it opens (Links.open), and the
        # old stays if the new one never does
        remote = offer.relay.path[0]
        t = self._new(remote, Handshake(Then.ANSWER_BY_HAND, request=rid, offer=offer), now)
        t.manual = True
        self.actions.append(AcceptOffer(t.id, remote, offer.data.offer))
        return rid

    def accept_answer(self, text: str | bytes, now: int) -> int:
        rid = self.requests.new(RequestKind.ACCEPT, now).id
        try:
            answer = self._verify_handshake_text(text, ConnectNodeReport, now)
            self._apply_answer(answer)
        except RingsError as e:
            return self.requests.fail(rid, e)
        return self.requests.done(rid, answer.relay.path[0])

    def connect(self, did: Did, now: int) -> int:
        rid = self.requests.new(RequestKind.CONNECT, now, did).id
        if did in self.peers:
            self.transports[self.peers[did]].ring_managed = False  # asked for: the ring keeps it
            return self.requests.done(rid, did)
        if did == self.me:
            return self.requests.fail(rid, LocalError("cannot connect to this node itself"))
        self.offer(did, now, ring_managed=False)
        return rid

    # -- the driver's answers ----------------------------------------------------------------------
    def handshake_ready(self, transport_id: str, info: HandshakeInfo, now: int) -> None:
        t = self.transports.get(transport_id)
        if t is None or t.when_ready is None:
            return
        handshake, t.when_ready = t.when_ready, None
        try:
            self._pass_on(t, handshake, info, now)
        except RingsError as e:  # e.g. the hop the offer came through has gone meanwhile
            self.close(t, now)
            self.events.append(PayloadRejected(transport_id, e))

    def _pass_on(self, t: Link, handshake: Handshake, info: HandshakeInfo, now: int) -> None:
        """Send our offer or answer ``info`` where ``handshake`` says."""
        router, then = self.node.router, handshake.then
        if then is Then.OFFER_THROUGH_RING:
            try:
                hop = next((v for v in handshake.via if v in self.peers and v != t.remote), None)
                if hop is None:
                    hop = router.route(t.remote)
                router.send_via(ConnectNodeSend(t.id, info), hop, t.remote, now)
            except RingsError as e:
                self.close(t, now, quiet=True)
                self.events.append(PayloadRejected(None, e))
        elif then is Then.ANSWER_THROUGH_RING:
            router.report(handshake.offer, ConnectNodeReport(handshake.offer.data.transport_uuid, info), now)
        else:  # by hand: the string signed for the application is the request's result
            msg = (ConnectNodeSend(t.id, info) if then is Then.OFFER_BY_HAND
                   else ConnectNodeReport(handshake.offer.data.transport_uuid, info))
            p = pl.first_hop(self.session, msg, next_hop=self.me, destination=self.me, now=now, tx_id=router.new_uuid())
            self.requests.done(handshake.request, pl.payload_to_json(p))

    def handshake_failed(self, transport_id: str, error: RingsError, now: int) -> None:
        t = self.transports.get(transport_id)
        if t is None:
            return
        self.close(t, now)
        request = t.when_ready.request if t.when_ready is not None else None
        waiting = [request] if request in self.requests else []
        waiting += [r.id for r in self.requests.connecting(t.remote)]
        for rid in waiting:
            self.requests.fail(rid, error)
        self.events.append(HandshakeFailed(transport_id, t.remote, error))

    def open(self, transport_id: str, now: int) -> None:
        t = self.transports.get(transport_id)
        if t is None or t.remote is None or t.remote == self.me:
            if t is not None:
                self.close(t, now)
            return
        t.connected = True
        self.pending.pop(t.id, None)
        old = self.peers.get(t.remote)
        if old is not None and old != t.id:  # a newer link replaces the older one (quirk 17)
            t.ring_managed = t.ring_managed and self.transports[old].ring_managed  # keep a pinned link pinned
            # a link made by hand replaces one its far end has lost (answer_offer): closed for
            # good, or the transport would hold it until its own checks fail (over 90 s seen)
            self.close(self.transports[old], now, quiet=not t.manual)
        self.peers[t.remote] = t.id
        self.node.chord.linked(t, now)
        self.events.append(PeerConnected(t.remote))
        for req in self.requests.connecting(t.remote):
            self.requests.done(req.id, t.remote)
        early, t.early = t.early, []
        for frame in early:
            self.node.receive(t.id, frame, now)

    def hold_early(self, t: Link, frame: bytes) -> None:
        """The peer's channel can open before ours (our transport_open comes later): its
        frames wait for the link, or replies to them would find no way back."""
        if len(t.early) < _EARLY_FRAMES:
            t.early.append(bytes(frame))
        else:
            self.events.append(PayloadRejected(t.id, RemoteError("too many frames before the link opened")))

    # -- opening and closing -----------------------------------------------------------------------
    def _new(self, remote: Did | None, handshake: Handshake, now: int) -> Link:
        t = Link(str(self.node.router.new_uuid()), remote, now + self.timeout_ms, when_ready=handshake)
        self.transports[t.id] = t
        self.pending[t.id] = t
        return t

    def offer(self, did: Did, now: int, ring_managed: bool = True, via: tuple[Did, ...] = (),
              exact: bool = False, slot: int | None = None) -> None:
        """Offer a link to ``did`` and send the offer through the ring (SPEC §7.3)."""
        if did in self.peers:
            return
        config = self.node.config
        stale = now - config.stabilize_interval_ms + config.request_timeout_ms
        for t in [t for t in self.pending.values() if t.remote == did]:
            if t.deadline > stale:
                t.ring_managed = t.ring_managed and ring_managed  # an API connect pins it
                return  # being linked: never two offers at once (quirk 17)
            self.close(t, now)  # offered a round ago and never answered: the offer was lost
        t = self._new(did, Handshake(Then.OFFER_THROUGH_RING, via=via), now)
        t.ring_managed, t.exact, t.slot = ring_managed, exact, slot
        self.actions.append(CreateOffer(t.id))

    def close(self, t: Link, now: int, quiet: bool = False) -> None:
        self.transports.pop(t.id, None)
        self.pending.pop(t.id, None)
        if not quiet:
            self.actions.append(CloseTransport(t.id))
        if t.remote is not None and self.peers.get(t.remote) == t.id:
            del self.peers[t.remote]
            self.events.append(PeerDisconnected(t.remote))
            self.node.chord.unlinked(t.remote, now)
            self.node.vnodes.unlinked(t.remote, now)
            self.node.router.reroute(t.remote, now)

    def prune(self, keep: set[Did | None], now: int) -> None:
        """Close links this node opened for the ring, not in ``keep``, that neither end has
        used for a whole round (beyond 0.2.5): the far end may route through it, and reports
        in flight come back through the links their requests took."""
        for peer, tid in list(self.peers.items()):
            t = self.transports[tid]
            if not t.ring_managed or peer in keep:
                t.unused = False
            elif t.unused:
                self.close(t, now)
            else:
                t.unused = True

    # -- inbound -----------------------------------------------------------------------------------
    def on_connect_send(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            try:
                return self.node.router.forward(p, now)
            except LocalError as e:
                if p.relay.path[0] != self.me:
                    raise
                # our own offer came back (Router._retreat): fail it now, not at its deadline
                t = self.pending.get(p.data.transport_uuid)
                if t is not None and t.remote == p.relay.destination:
                    self.handshake_failed(t.id, ConnectionFailed(str(e)), now)
                return None
        origin = p.relay.path[0]
        if origin in self.peers:
            return self.node.router.report(p, AlreadyConnected(), now)
        pending = [t for t in self.pending.values() if t.remote == origin]
        if pending:
            # both ends offered at once (0.2.5 quirk 17 closes one of the two links later):
            # the larger DID yields and answers, the smaller keeps its offer and lets this go
            if self.me < origin:
                return
            for t in pending:
                self.close(t, now)
        t = self._new(origin, Handshake(Then.ANSWER_THROUGH_RING, offer=p), now)
        t.ring_managed = any(t.ring_managed for t in pending)  # the link we offered for the ring, from its side
        self.actions.append(AcceptOffer(t.id, origin, p.data.offer))

    def on_connect_report(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self.node.router.forward(p, now)
        self._apply_answer(p)

    def on_already_connected(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self.node.router.forward(p, now)
        remote = p.relay.path[0]
        if remote not in self.peers:
            raise RemoteError(f"{remote.hex()} says it is already connected, but no link to it exists")
        for t in [t for t in self.pending.values() if t.remote == remote]:
            self.close(t, now, quiet=True)

    def _apply_answer(self, p: MessagePayload) -> None:
        answer: ConnectNodeReport = p.data
        t = self.transports.get(answer.transport_uuid)
        if t is None or t.connected:
            raise RemoteError(f"no pending transport {answer.transport_uuid[:40]}")
        remote = p.relay.path[0]
        if t.remote is not None and t.remote != remote:
            raise RemoteError(f"answer from {remote.hex()} for a link offered to {t.remote.hex()}")
        t.remote = remote
        self.actions.append(ApplyAnswer(t.id, answer.answer))

    def _verify_handshake_text(self, text: str | bytes, kind: type, now: int) -> MessagePayload:
        """Parse a handshake string, check its signatures and that it carries a ``kind``."""
        p = pl.payload_from_json(text)
        self.node.verifier.verify(p, now)
        if not isinstance(p.data, kind):
            raise RemoteError(f"expected {kind.__name__}, got {type(p.data).__name__}")
        return p
