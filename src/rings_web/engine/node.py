"""The node engine: Chord, relay, storage and handshakes as one sans-IO state machine.

Inputs are method calls that carry ``now`` (ms since the epoch): frames from a transport,
transports opening and closing, offers and answers the driver made, timer expiries and API
calls.  Outputs are pulled: :meth:`Node.actions_to_perform` (send frames, create an offer…)
for the driver and :meth:`Node.next_event` for the application.  Nothing here reads a
clock, touches a socket or draws randomness except from the ``rng`` it was given, so a
simulator replays a run exactly from its seed.

Message semantics follow Rings 0.2.5 (SPEC §7) so genuine nodes understand every byte we
send; where 0.2.5 is broken (SPEC §10) we do the sensible thing on our side only: fingers
aim at ``self + 2^k``, storage messages are forwarded to the responsible node, results are
matched to requests by ``tx_id``, LeaveDHT/JoinDHT from the wire are refused.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from ..crypto.hashing import ecies_decrypt
from ..did import RING_BITS, Did
from ..dht.chord import FixFinger, Local, PeerRing
from ..dht.storage import VNodeStore
from ..errors import DecodeError, LocalError, RelayError, RemoteError, RingsError
from ..message import payload as pl
from ..message.relay import check_relay
from ..session.manager import SessionManager
from ..wire.codec import uuid_of
from ..wire.chunk import Reassembler, split
from ..wire.types import (
    AlreadyConnected, ConnectNodeReport, ConnectNodeSend, CustomMessage, Extend, FindSuccessorReport,
    FindSuccessorSend, FoundVNode, Handler, HandshakeInfo, JoinDHT, JoinSubring, LeaveDHT, Message,
    MessagePayload, MultiCall, NotifyPredecessorReport, NotifyPredecessorSend, OperateVNode, Overwrite,
    SearchVNode, SyncVNodeWithSuccessor, Touch, VirtualNode, VNodeOperation,
)
from .config import Config
from .events import (
    AcceptOffer, Action, ApplyAnswer, CloseTransport, CreateOffer, Event, HandshakeFailed, MessageReceived,
    PayloadRejected, LookupResult, PeerConnected, PeerDisconnected, RequestDone, RequestFailed, SendFrames,
)

__all__ = ["Node", "RequestTimeout", "NotFound"]

_UUID_CLEAR = ~((0xC000 << 48) | (0xF000 << 64))  # variant and version bits
_UUID_V4 = (0x8000 << 48) | (4 << 76)

#: frames held from a peer whose channel opened before ours (a 960 KB message is 16 frames)
_EARLY_FRAMES = 64


class RequestTimeout(LocalError):
    """No answer came back in time."""


class NotFound(LocalError):
    """The DHT holds no value under that id."""


@dataclass(slots=True)
class _Transport:
    id: str
    remote: Did | None = None
    deadline: int = 0  # a handshake not finished by then is abandoned
    connected: bool = False
    ring_managed: bool = False  # opened by this node for the ring: closed when not needed
    manual: bool = False  # handshake strings exchanged out of band (create_offer / answer_offer)
    unused: bool = False  # a ring link nobody used since the last round: closed at the next
    exact: bool = False  # opened to the answer of a finger lookup: its slots need no check
    slot: int | None = None  # the finger slot whose lookup named the remote, if known
    # what to do once the driver has made our offer / answer
    on_ready: Callable[[HandshakeInfo, int], None] | None = None
    request: int | None = None  # the API request waiting for this handshake (offer, answer)
    reassembler: Reassembler = field(default_factory=Reassembler)
    early: list[bytes] = field(default_factory=list)  # frames that arrived before transport_open


@dataclass(slots=True)
class _Request:
    id: int
    kind: str  # "connect", "fetch", "store", "lookup"
    deadline: int
    key: Any = None  # the DID connected to / fetched
    tx_id: uuid.UUID | None = None  # of the request message, when one was sent
    op: VNodeOperation | None = None  # a store's operation, to check the owner's answer against
    acked_tx: uuid.UUID | None = None  # a store's OperateVNode, once a read-back replaced it
    resent: bool = False  # a store sent again after its read-back found it missing
    sent: tuple[Message, Did, Did] | None = None  # (message, destination, first hop) last sent
    rerouted: bool = False  # sent again because its first hop's link closed


class Node:
    """One rings-web node.

    Args:
        session: the signed session (wallet delegation + session key).
        rng: the only source of randomness (tx ids, chunk ids, transport ids).
        config: tunables.
        verifier: payload verifier; the default checks every signature (SPEC §5.5).
        storage: where VNodes live (in memory by default; sqlite for the native node).
    """

    def __init__(self, session: SessionManager, *, rng: random.Random, config: Config = Config(),
                 verifier: pl.Verifier | None = None, storage: VNodeStore | None = None) -> None:
        self.session = session
        self.me: Did = session.wallet
        self.config = config
        self.rng = rng
        self.ring = PeerRing(self.me, successors=config.successors)
        self.verifier = verifier or pl.Verifier(session.crypto)
        self.storage = storage if storage is not None else VNodeStore()
        self.cache: dict[Did, VirtualNode] = {}  # FoundVNode results (0.2.5's storage_check_cache)
        self._transports: dict[str, _Transport] = {}
        self._pending: dict[str, _Transport] = {}  # transports whose handshake has not finished
        self._peers: dict[Did, str] = {}  # remote DID -> registered transport id
        self._requests: dict[int, _Request] = {}
        self._by_tx: dict[uuid.UUID, int] = {}  # tx_id of a request message -> request id
        # forwarded tx_id -> (previous hop, origin), in two generations: the last 4096 or more
        self._back: dict[uuid.UUID, tuple[Did, Did]] = {}
        self._back_older: dict[uuid.UUID, tuple[Did, Did]] = {}
        self._ids = itertools.count(1)
        self._actions: list[Action] = []
        self._events: deque[Event] = deque()
        self._next_round: int | None = None
        self._rounds = 0
        self._steps = 0  # successors stepped back to this round (see _on_notify_report)
        self._join_lookups: set[uuid.UUID] = set()  # tx ids of our join lookups (on manual links)
        self._reported: set[FindSuccessorReport] | None = None  # answers given to the MultiCall at hand
        self._borrow_from: Did | None = None  # the successor a join lookup named, until borrowed from
        self._borrow_tx: uuid.UUID | None = None  # tx id of that borrow: its answers are guesses
        self._finger_checks: dict[uuid.UUID, int] = {}  # tx id of a finger check -> its slot
        self._asked: dict[uuid.UUID, None] = {}  # tx ids of our last 4096 lookups: only their reports count
        self._holders: frozenset[Did] = frozenset()  # the neighbours our VNodes were copied to

    # == outputs ====================================================================================
    def actions_to_perform(self) -> list[Action]:
        actions, self._actions = self._actions, []
        return actions

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> int | None:
        best = self._next_round  # called after every input: no list built
        for r in self._requests.values():
            if best is None or r.deadline < best:
                best = r.deadline
        for t in self._pending.values():
            if best is None or t.deadline < best:
                best = t.deadline
        return best

    @property
    def transport_ids(self) -> list[str]:
        """Every transport this node holds, pending or connected."""
        return list(self._transports)

    @property
    def pending_transport_ids(self) -> list[str]:
        """Transports whose handshake has not finished."""
        return list(self._pending)

    def close_transport(self, transport_id: str, now: int) -> None:
        """Abandon a transport (pending or not)."""
        t = self._transports.get(transport_id)
        if t is not None:
            self._close(t, now)

    @property
    def peers(self) -> list[Did]:
        """DIDs of the registered (connected) transports."""
        return list(self._peers)

    def transport_of(self, did: Did) -> str | None:
        """The registered transport to ``did``, if any."""
        return self._peers.get(did)

    # == driver inputs ==============================================================================
    def start(self, now: int) -> None:
        """Arm the stabilization timer (the first round runs one interval from now)."""
        self._next_round = now + self.config.stabilize_interval_ms

    def handle_timer(self, now: int) -> None:
        for req in [r for r in self._requests.values() if r.deadline <= now]:
            if req.op is not None and req.acked_tx is None and req.tx_id is not None:
                self._read_back(req, now)
                continue
            self._fail(req.id, RequestTimeout(f"{req.kind} {req.key!s} timed out"))
        for t in [t for t in self._pending.values() if t.deadline <= now]:
            self._close(t, now)
        if self._next_round is not None and self._next_round <= now:
            self._next_round = now + self.config.stabilize_interval_ms
            try:
                self.stabilize(now)
            except RingsError as e:  # pragma: no cover - every target is a linked peer
                self._events.append(PayloadRejected(None, e))

    def offer_ready(self, transport_id: str, offer: HandshakeInfo, now: int) -> None:
        """The driver created the offer asked for by :class:`CreateOffer`."""
        self._handshake_ready(transport_id, offer, now)

    def answer_ready(self, transport_id: str, answer: HandshakeInfo, now: int) -> None:
        """The driver created the answer asked for by :class:`AcceptOffer`."""
        self._handshake_ready(transport_id, answer, now)

    def _handshake_ready(self, transport_id: str, info: HandshakeInfo, now: int) -> None:
        t = self._transports.get(transport_id)
        if t is None or t.on_ready is None:
            return
        on_ready, t.on_ready = t.on_ready, None
        try:
            on_ready(info, now)
        except RingsError as e:  # e.g. the hop the offer came through has gone meanwhile
            self._close(t, now)
            self._events.append(PayloadRejected(transport_id, e))

    def handshake_failed(self, transport_id: str, error: RingsError, now: int) -> None:
        """The driver could not make our offer/answer or apply the answer: abandon the transport.

        The API request waiting for it (an offer, an answer, a connect) fails with ``error``.
        """
        t = self._transports.get(transport_id)
        if t is None:
            return
        self._close(t, now)
        waiting = [t.request] if t.request in self._requests else []
        waiting += [r.id for r in self._requests.values() if r.kind == "connect" and r.key == t.remote]
        for rid in waiting:
            self._fail(rid, error)
        self._events.append(HandshakeFailed(transport_id, t.remote, error))

    def transport_open(self, transport_id: str, now: int) -> None:
        """ICE connected: register the peer and join it to the ring (SPEC §7.4)."""
        t = self._transports.get(transport_id)
        if t is None or t.remote is None or t.remote == self.me:
            if t is not None:
                self._close(t, now)
            return
        t.connected = True
        self._pending.pop(t.id, None)
        old = self._peers.get(t.remote)
        if old is not None and old != t.id:  # a newer link replaces the older one (quirk 17)
            t.ring_managed = t.ring_managed and self._transports[old].ring_managed  # keep a pinned link pinned
            self._close(self._transports[old], now, quiet=True)
        self._peers[t.remote] = t.id
        if t.manual:  # a bootstrap link: ask where we belong (0.2.5's JoinDHT handler, SPEC §7.4)
            self._join_lookups.add(self._send_direct(FindSuccessorSend(self.me, False, Handler.Connect), t.remote, now))
        self._join(t.remote, now)
        if t.ring_managed:  # a finger we linked to is checked at once, unless a lookup named it
            if t.exact:
                self._verify(t.slot, t.remote)
            elif (check := self.ring.check_for(t.remote)) is not None:
                self._check_finger(check, now)
        if t.remote in self.ring.successors.list()[:-1]:  # and a new successor names the next one
            self._ask_successor_of(t.remote, now)
        self._events.append(PeerConnected(t.remote))
        for req in [r for r in self._requests.values() if r.kind == "connect" and r.key == t.remote]:
            self._done(req.id, t.remote)
        early, t.early = t.early, []
        for frame in early:
            self.receive(t.id, frame, now)

    def transport_closed(self, transport_id: str, now: int) -> None:
        t = self._transports.get(transport_id)
        if t is not None:
            self._close(t, now, quiet=True)

    def receive(self, transport_id: str, frame: bytes, now: int) -> None:
        """A data-channel message arrived.  Never raises: bad input becomes an event."""
        t = self._transports.get(transport_id)
        if t is None:
            return
        t.unused = False  # the far end uses this link: keep it another round
        if not t.connected:
            # the peer's channel can open before ours (our transport_open comes later): its
            # frames wait for the link, or replies to them would find no way back
            if len(t.early) < _EARLY_FRAMES:
                t.early.append(bytes(frame))
            else:
                self._events.append(PayloadRejected(transport_id, RemoteError("too many frames before the link opened")))
            return
        try:
            raw = t.reassembler.receive(frame, now)
            if raw is None:
                return
            p = pl.decode_payload(raw)
            self.verifier.verify(p, now)
            if p.verification.session.auth.authorizer.did != t.remote:  # a copy another hop signed, passed on
                raise RemoteError("the last hop signature is not by the peer of the link it came over")
            self._dispatch(p, now)
        except RingsError as e:
            self._events.append(PayloadRejected(transport_id, e))

    # == API ========================================================================================
    def create_offer(self, now: int) -> int:
        """Manual handshake, offering side; the result is the offer string."""
        rid = self._new_request("offer", now)

        def ready(info: HandshakeInfo, now: int) -> None:
            p = pl.first_hop(self.session, ConnectNodeSend(t.id, info), next_hop=self.me, destination=self.me,
                             now=now, tx_id=self._uuid())
            self._done(rid, pl.payload_to_json(p))

        t = self._new_transport(None, ready, now, request=rid)
        t.manual = True
        self._actions.append(CreateOffer(t.id))
        return rid

    def answer_offer(self, text: str | bytes, now: int) -> int:
        """Manual handshake, answering side; the result is the answer string."""
        rid = self._new_request("answer", now)
        try:
            offer = self._verified(text, ConnectNodeSend, now)
        except RingsError as e:
            return self._fail(rid, e)
        remote = offer.relay.path[0]
        if remote in self._peers:
            return self._fail(rid, LocalError("Found existing transport when answer offer from remote node"))

        def ready(info: HandshakeInfo, now: int) -> None:
            p = pl.first_hop(self.session, ConnectNodeReport(offer.data.transport_uuid, info), next_hop=self.me,
                             destination=self.me, now=now, tx_id=self._uuid())
            self._done(rid, pl.payload_to_json(p))

        t = self._new_transport(remote, ready, now, request=rid)
        t.manual = True
        self._actions.append(AcceptOffer(t.id, remote, offer.data.offer))
        return rid

    def accept_answer(self, text: str | bytes, now: int) -> int:
        """Manual handshake, offering side again; the result is the answerer's DID."""
        rid = self._new_request("accept", now)
        try:
            answer = self._verified(text, ConnectNodeReport, now)
            self._apply_answer(answer)
        except RingsError as e:
            return self._fail(rid, e)
        return self._done(rid, answer.relay.path[0])

    def connect(self, did: Did, now: int) -> int:
        """Connect to any DID through the ring (SPEC §7.3); done when the link is up."""
        rid = self._new_request("connect", now, did)
        if did in self._peers:
            self._transports[self._peers[did]].ring_managed = False  # asked for: the ring keeps it
            return self._done(rid, did)
        if did == self.me:
            return self._fail(rid, LocalError("cannot connect to this node itself"))
        self._connect(did, now, ring_managed=False)
        return rid

    def disconnect(self, did: Did, now: int) -> None:
        tid = self._peers.get(did)
        if tid is not None:
            self._close(self._transports[tid], now)

    def send_message(self, destination: Did, body: bytes, now: int) -> uuid.UUID:
        """Send a CustomMessage body (see :mod:`rings_web.message.backend`); returns its tx_id.

        Raises:
            LocalError: no route to ``destination``.
        """
        tx_id = self._uuid()
        self._send(CustomMessage(bytes(body)), destination, now, tx_id=tx_id)
        return tx_id

    def reply_message(self, request: MessagePayload, body: bytes, now: int) -> uuid.UUID:
        """Answer a received custom message with one back along its path, same tx_id
        (0.2.5 ``send_report_message``; the HTTP backend answers requests so).

        Raises:
            LocalError: the hop it came from is no longer linked.
        """
        self._emit(pl.report(self.session, request, CustomMessage(bytes(body)), now=now), now)
        return request.tx_id

    def store(self, op: VNodeOperation, now: int) -> int:
        """Store in the DHT; done (with the stored VNode) when the responsible node confirms."""
        vid = op.did if isinstance(op, JoinSubring) else op.vnode.did
        rid = self._new_request("store", now, vid)
        if self._owns(vid):
            try:
                return self._done(rid, self._operate_local(op, now))
            except RemoteError as e:
                return self._fail(rid, e)
        req = self._requests[rid]
        req.op, req.deadline = op, now + self.config.store_ack_ms
        return self._route_request(rid, OperateVNode(op), vid, now)

    def lookup(self, key: Did, now: int) -> int:
        """Find the node responsible for ``key``, its Chord successor (``FindSuccessorSend``,
        SPEC §7.6); done with a :class:`LookupResult`."""
        rid = self._new_request("lookup", now, key)
        answer = self.ring.successor_of(key)
        if answer is not None:
            return self._done(rid, LookupResult(answer, 0))
        found = self.ring.find_successor(key)
        hop = found.did if isinstance(found, Local) else found.next_hop
        return self._route_request(rid, FindSuccessorSend(key, False, Handler.None_), hop, now, next_hop=hop)

    def fetch(self, vid: Did, now: int) -> int:
        """Look a VNode up; done with the VirtualNode, or failed with NotFound / RequestTimeout."""
        rid = self._new_request("fetch", now, vid)
        if self._owns(vid):
            found = self.storage.get(vid)
            if found is not None:
                return self._done(rid, found)
            if not self.ring.successors:
                return self._fail(rid, NotFound(f"no VNode {vid.hex()}"))
            # the owner may be new: a replica lives with its successor (0.2.5's vnode_lookup)
            succ = self.ring.successors.first()
            return self._route_request(rid, SearchVNode(vid), succ, now, next_hop=succ)
        return self._route_request(rid, SearchVNode(vid), vid, now)

    # == stabilization ==============================================================================
    def stabilize(self, now: int) -> None:
        """One round: notify the successor, check the successor list and some fingers (SPEC §7.6)."""
        successors = self.ring.successors.list()
        if successors:
            self._send_via(NotifyPredecessorSend(self.me), successors[0], successors[0], now)
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
        # the newcomer's successor, see _on_notify_send)
        checked = 0
        for _ in range(self.config.fingers_per_round):
            step = self.ring.next_finger_check(unverified=True)
            if step is None:
                break
            self._check_finger(step, now)
            checked += 1
        if not checked and (step := self.ring.next_finger_check()) is not None:
            self._check_finger(step, now)
        self._keep_replicas(now)
        self._prune(now)

    def _keep_replicas(self, now: int) -> None:
        """Beyond 0.2.5: keep a copy of each VNode we own with our predecessor and successors
        as they change.  Replicas of ids we now own (their owner left) become ours and go to
        every neighbour; otherwise only neighbours new since the last round get copies."""
        if not self.config.replicas:
            return
        holders = frozenset(n for n in (self.ring.predecessor, *self.ring.successors) if n in self._peers)
        adopted = self.storage.adopt(self._owns)
        targets = holders if adopted else holders - self._holders
        self._holders = holders
        if targets and len(self.storage):
            copies = SyncVNodeWithSuccessor(tuple(self.storage))
            for n in targets:
                self._send_direct(copies, n, now)

    def _ask_successor_of(self, peer: Did, now: int) -> None:
        """Ask a successor for its own first successor: the next entry of our list (Chord's
        successor-list copy, with 0.2.5's message: ``FindSuccessorSend{did: peer}`` to ``peer``)."""
        self._send_direct(FindSuccessorSend(peer, False, Handler.Connect), peer, now)

    def _check_finger(self, step: FixFinger, now: int) -> None:
        """Ask the slot's finger whether it still is the successor of the target (it is when
        the target lies in (its predecessor, it]; else it passes the question back); for an
        empty slot, ask the first successor (whose own finger lies just past the target)."""
        finger = self.ring.fingers[step.index]
        if finger is None:
            finger = self.ring.successors.first()
        if finger is not None:
            tx_id = self._send_direct(FindSuccessorSend(step.target, False, Handler.FixFingerTable), finger, now)
            if len(self._finger_checks) >= 256:  # answers that never came
                self._finger_checks.clear()
            self._finger_checks[tx_id] = step.index

    def _prune(self, now: int) -> None:
        """Close links this node opened for the ring that neither end has used for a whole
        round (beyond 0.2.5): the far end may route through it, and reports in flight come
        back through the links their requests took."""
        keep = {*self.ring.fingers, *self.ring.successors, self.ring.predecessor}
        for peer, tid in list(self._peers.items()):
            t = self._transports[tid]
            if not t.ring_managed or peer in keep:
                t.unused = False
            elif t.unused:
                self._close(t, now)
            else:
                t.unused = True

    # == dispatch ===================================================================================
    def _dispatch(self, p: MessagePayload, now: int) -> None:
        handler = self._HANDLERS.get(type(p.data))
        if handler is None:  # pragma: no cover - closed union
            raise DecodeError(f"no handler for {type(p.data).__name__}")
        handler(self, p, now)

    def _on_multicall(self, p: MessagePayload, now: int) -> None:
        # reports share the MultiCall's tx_id: the same answer twice would be the same bytes,
        # which the asker rightly rejects as a replay, so each answer is given once
        self._reported = set()
        try:
            for inner in p.data.messages:
                try:
                    self._dispatch(replace(p, data=inner), now)
                except RingsError as e:
                    self._events.append(PayloadRejected(None, e))
        finally:
            self._reported = None

    def _on_refused(self, p: MessagePayload, now: int) -> None:
        raise RemoteError(f"{type(p.data).__name__} is local-only; refused from the wire (SPEC §10 item 10)")

    def _on_connect_send(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        origin = p.relay.path[0]
        if origin in self._peers:
            return self._emit(pl.report(self.session, p, AlreadyConnected(), now=now), now)
        pending = [t for t in self._pending.values() if t.remote == origin]
        if pending:
            # both ends offered at once (0.2.5 quirk 17 closes one of the two links later):
            # the larger DID yields and answers, the smaller keeps its offer and lets this go
            if self.me < origin:
                return
            for t in pending:
                self._close(t, now)

        def ready(info: HandshakeInfo, now: int) -> None:
            self._emit(pl.report(self.session, p, ConnectNodeReport(p.data.transport_uuid, info), now=now), now)

        t = self._new_transport(origin, ready, now)
        t.ring_managed = any(t.ring_managed for t in pending)  # the link we offered for the ring, from its side
        self._actions.append(AcceptOffer(t.id, origin, p.data.offer))

    def _on_connect_report(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        self._apply_answer(p)

    def _on_already_connected(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        remote = p.relay.path[0]
        if remote not in self._peers:
            raise RemoteError(f"{remote.hex()} says it is already connected, but no link to it exists")
        for t in [t for t in self._pending.values() if t.remote == remote]:
            self._close(t, now, quiet=True)

    def _on_find_successor_send(self, p: MessagePayload, now: int) -> None:
        msg: FindSuccessorSend = p.data
        answer = self.ring.successor_of(msg.did)
        if answer is None and self._reported is None:
            check_relay(p.relay, self.me)
            found = self.ring.find_successor(msg.did, p.relay.path)
            hop = found.did if isinstance(found, Local) else found.next_hop
            if hop not in p.relay.path:
                self._remember_back(p)
                return self._emit(pl.reset_destination(self.session, p, next_hop=hop, now=now), now)
        if answer is None:
            # the lookup cannot go on: inside a MultiCall (its origin signed the MultiCall,
            # not it; the asker, a newcomer borrowing our fingers, checks the guess), or
            # every way on was visited (a ring still settling): our best answer beats none
            answer = self.ring.first_known_from(msg.did)
        if msg.strict and msg.did != self.me and msg.did in self._peers:
            return self._forward(p, now, next_hop=msg.did)
        if answer == msg.did:  # the asker already is our successor: name the node after it
            later = [s for s in self.ring.successors if s != msg.did]
            answer = later[0] if later else self.me
        report = FindSuccessorReport(answer, msg.then)
        if self._reported is not None:
            if report in self._reported:
                return None
            self._reported.add(report)
        self._emit(pl.report(self.session, p, report, now=now), now)

    def _on_find_successor_report(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        if p.tx_id not in self._asked:  # else any peer could make us link to whom it likes
            raise RemoteError("a FindSuccessorReport to a lookup this node did not make")
        did, handler = p.data.did, p.data.handler
        rid = self._by_tx.get(p.tx_id)
        if rid is not None:
            self._done(rid, LookupResult(did, len(p.relay.path)) if self._requests[rid].kind == "lookup" else did)
        if p.tx_id in self._join_lookups:
            self._join_lookups.discard(p.tx_id)
            if did == self.ring.successors.first() and did in self._peers:
                # our bootstrap is our successor (the ring is small): tell it now; our rounds
                # find the few fingers there are
                self._send_direct(NotifyPredecessorSend(self.me), did, now)
            elif did != self.me:
                self._borrow_from = did
        if did == self.me:
            return
        if handler in (Handler.Connect, Handler.FixFingerTable, Handler.SyncStorage):
            exact = handler == Handler.FixFingerTable and p.tx_id != self._borrow_tx  # borrowed ones are guesses
            slot = self._finger_checks.pop(p.tx_id, None) if exact else None
            self._learn(did, now, via=p.relay.path, exact=exact, slot=slot)
            if exact and did in self._peers:
                self._verify(slot, did)

    def _on_notify_send(self, p: MessagePayload, now: int) -> None:
        sender = p.relay.path[0]
        if p.data.did != sender:  # only a node may announce itself (0.2.5 trusts any did)
            raise RemoteError("NotifyPredecessorSend for a DID other than its origin")
        old = self.ring.notify(sender)
        if old is not None and old != sender:
            self._emit(pl.report(self.session, p, NotifyPredecessorReport(old), now=now), now)
        if self.ring.predecessor == sender != old:
            # beyond 0.2.5: tell our other peers at once that a node arrived just before us:
            # those with a finger target in (old, sender], an id it now owns, link to it
            # (the old predecessor first of all, whose successor it is); with no old
            # predecessor, the peers that linked to us for their ring (we may be their
            # finger; not those we met by a manual handshake, which look their place up)
            for peer, tid in self._peers.items():
                t = self._transports[tid]
                if peer != sender and (_needs(peer, old, sender) if old is not None
                                       else not (t.ring_managed or t.manual)):
                    self._send_direct(NotifyPredecessorReport(sender), peer, now)
            if old is None:  # our predecessor left: the new one now owns what it owned
                self._restore(sender, now)

    def _restore(self, predecessor: Did, now: int) -> None:
        """Beyond 0.2.5: hand a new predecessor the replicas we keep of VNodes it now owns
        (ids in ``[predecessor, self)``): their owner has left, and only its successors kept
        copies."""
        span = self.me.bias(predecessor)
        orphans = tuple(v for v in self.storage.replicas.values() if v.did.bias(predecessor) < span)
        if orphans:
            self._send_direct(SyncVNodeWithSuccessor(orphans), predecessor, now)

    def _on_notify_report(self, p: MessagePayload, now: int) -> None:
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

    def _look_up_self(self, now: int, outside: bool = False) -> None:
        """Ask where we belong through the peer farthest round the ring (closest behind us);
        ``outside``: not through our predecessor or successors (the ring we may be wrong about)."""
        skip = {self.ring.predecessor, *self.ring.successors} if outside else {self.ring.successors.first()}
        others = [d for d in self._peers if d not in skip]
        if others:
            start = max(others, key=lambda d: d.bias(self.me))
            self._send_direct(FindSuccessorSend(self.me, False, Handler.Connect), start, now)

    def _on_search_vnode(self, p: MessagePayload, now: int) -> None:
        vid = p.data.vid
        # on the way to the owner only the owner's copy answers: a replica may lag behind it
        # (copies from different nodes race); the owner itself, or the node asked, answers
        # from a replica too (the owner may have left)
        mine = p.relay.destination == self.me or self._owns(vid)
        found = self.storage.get(vid) if mine else self.storage.owned.get(vid)
        if found is None and p.relay.destination != self.me and self._owns(vid):
            # the owner may be new after churn: the old owner's successors hold replicas
            succ = self.ring.successors.first()
            if succ is not None and succ not in p.relay.path:  # it answers, found or not
                return self._forward(p, now, next_hop=succ, destination=succ)
        if found is not None or p.relay.destination == self.me or self._owns(vid):
            # an empty answer tells a rings-web asker "not found" at once (0.2.5 stays silent)
            data = (found,) if found is not None else ()
            return self._emit(pl.report(self.session, p, FoundVNode(data), now=now), now)
        self._forward(p, now, next_hop=self._owner_hop(vid, p.relay.path))

    def _on_found_vnode(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        for vnode in p.data.data:
            self.cache[vnode.did] = vnode
        rid = self._by_tx.get(p.tx_id)
        req = self._requests.get(rid) if rid is not None else None
        if req is None:
            return
        match = next((v for v in p.data.data if v.did == req.key), None)
        lost = req.op is not None and (match is None or not _holds(match, req.op))
        if lost and req.resent and match is not None:
            self._fail(rid, RemoteError(f"the owner of {req.key.hex()} does not hold what was stored"))
        elif match is not None and not lost:
            self._done(rid, match)
        elif lost and not req.resent:
            # the operation was lost on the way (on a link its far end was closing, or in a
            # ring still settling): send it once more (acknowledged, or read back, as the first)
            self._by_tx.pop(p.tx_id, None)
            self._by_tx.pop(req.acked_tx, None)
            req.resent, req.acked_tx, req.deadline = True, None, now + self.config.store_ack_ms
            self._route_request(rid, OperateVNode(req.op), req.key, now)
        elif req.op is None and (kept := self.storage.get(req.key)) is not None:
            self._done(rid, kept)  # the owner has none, but we kept a copy (its owner left)
        else:
            self._fail(rid, NotFound(f"no VNode {req.key.hex()}"))

    def _on_operate_vnode(self, p: MessagePayload, now: int) -> None:
        op = p.data.op
        vid = op.did if isinstance(op, JoinSubring) else op.vnode.did
        if not self._owns(vid) and p.relay.destination != self.me:
            return self._forward(p, now, next_hop=self._owner_hop(vid, p.relay.path))
        vnode = self._operate_local(op, now)
        self._emit(pl.report(self.session, p, FoundVNode((vnode,)), now=now), now)  # the store's ack

    def _on_sync_vnode(self, p: MessagePayload, now: int) -> None:
        """A replica from its owner, or a hand-over: merge what we own; pass on a hand-over
        that missed its owner (0.2.5 re-stores it); keep the rest as replicas."""
        routed = p.relay.destination != self.me  # a hand-over on its way to the owner
        sender = p.relay.path[0]
        for vnode in p.data.data:
            if self._owns(vnode.did):  # a hand-over, or the ring is settling: merge, lose nothing
                self._replicate(*self.storage.merge(vnode), now)
            elif routed and len(p.data.data) == 1:
                self._forward(p, now, next_hop=self._owner_hop(vnode.did, p.relay.path))
            else:
                if not routed:  # a neighbour's copy (a node on the way keeps none)
                    self.storage.keep_replica(vnode)
                if routed or 0 < vnode.did.bias(self.me) < sender.bias(self.me):
                    # the id lies ahead of us, before the sender: its owner, further on, is a
                    # node the sender does not know yet (a replica's id lies behind us or its sender)
                    try:
                        self._send(SyncVNodeWithSuccessor((vnode,)), vnode.did, now)
                    except RingsError as e:  # no way on yet: a neighbour keeps its copy (above)
                        self._events.append(PayloadRejected(None, e))

    def _on_custom(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self._forward(p, now)
        body = p.data.data
        if p.data.encrypted:  # SPEC §5.7: encrypted to our session key
            inner = ecies_decrypt(self.session.crypto, self.session.key.secret, body)
            if len(inner) < 8 or int.from_bytes(inner[:8], "little") != len(inner) - 8:
                raise DecodeError("encrypted custom message is not a bincode Vec<u8>")
            body = inner[8:]
        self._events.append(MessageReceived(p.relay.path[0], body, p.tx_id, p))

    _HANDLERS: dict[type, Callable[["Node", MessagePayload, int], None]] = {
        MultiCall: _on_multicall,
        JoinDHT: _on_refused,
        LeaveDHT: _on_refused,
        ConnectNodeSend: _on_connect_send,
        AlreadyConnected: _on_already_connected,
        ConnectNodeReport: _on_connect_report,
        FindSuccessorSend: _on_find_successor_send,
        FindSuccessorReport: _on_find_successor_report,
        NotifyPredecessorSend: _on_notify_send,
        NotifyPredecessorReport: _on_notify_report,
        SearchVNode: _on_search_vnode,
        FoundVNode: _on_found_vnode,
        OperateVNode: _on_operate_vnode,
        SyncVNodeWithSuccessor: _on_sync_vnode,
        CustomMessage: _on_custom,
    }

    # == ring and storage ===========================================================================
    def _verify(self, slot: int | None, did: Did) -> None:
        """A finger lookup (for ``slot``, if known) named ``did``: the slots it settles are
        left out of the round-robin checks."""
        if slot is None:
            self.ring.verify_top(did)
        else:
            self.ring.verify(slot, did)

    def _learn(self, did: Did, now: int, via: tuple[Did, ...] = (), exact: bool = False,
               slot: int | None = None) -> None:
        """A report named ``did``: join it if linked; link to it if the ring would use it.

        The offer goes back along the report's path (``via``): the reporter knows ``did``,
        and the last hop is linked to us, while our own ring may not reach ``did`` yet.
        ``exact``: ``did`` answers a finger lookup, so the slots it takes need no check.
        """
        if did in self._peers:
            self._join(did, now)
        elif self.ring.would_improve(did, tuple(t.remote for t in self._pending.values() if t.remote)):
            # 0.2.5 connects to every reported node
            self._connect(did, now, via=via, exact=exact, slot=slot)

    def _join(self, did: Did, now: int) -> None:
        before = self.ring.successors.first()
        self.ring.join(did)
        self._after_ring_change(before, now)

    def _after_ring_change(self, before: Did | None, now: int) -> None:
        """A new first successor takes over the ids between it and the old one (0.2.5 sync)."""
        after = self.ring.successors.first()
        if after is None or after == before:
            return
        if after in self._peers and not (self._join_lookups and len(self._peers) == 1):
            # beyond 0.2.5: notify a new successor now, not next round (unless it is only our
            # bootstrap: stepping back from it would walk the ring while the lookup answers)
            self._greet(after, now)
        moved = self.storage.hand_over(self._owns)
        if moved and after in self._peers:
            self._send_direct(SyncVNodeWithSuccessor(tuple(moved)), after, now)

    def _greet(self, successor: Did, now: int) -> None:
        """Tell a new first successor we precede it; a newcomer also looks its fingers up
        through it (whose own fingers lie just past ours), in one payload."""
        self._send_direct(NotifyPredecessorSend(self.me), successor, now)
        if successor == self._borrow_from:
            self._borrow_from = None
            targets = range(self.ring.successors.first_bias().bit_length(), RING_BITS)
            lookups = tuple(FindSuccessorSend(self.me + (1 << k), False, Handler.FixFingerTable) for k in targets)
            self._borrow_tx = self._send_direct(MultiCall(lookups), successor, now)

    def _owner_hop(self, vid: Did, path: tuple[Did, ...]) -> Did | None:
        """The next hop of a VNode message that passed its owner: our predecessor, when ``vid``
        lies in ``(predecessor, self]`` (a route to an id ends at its successor); else None,
        the ring's route (``_forward``)."""
        pred = self.ring.predecessor
        if pred is not None and pred in self._peers and pred not in path and vid.in_range(pred, self.me):
            return pred
        return None

    def _owns(self, vid: Did) -> bool:
        """0.2.5 placement: this node stores ids in ``(self, first successor]`` (SPEC §7.7)."""
        return self.ring.stores_here(vid)

    def _operate_local(self, op: VNodeOperation, now: int) -> VirtualNode:
        return self._replicate(*self.storage.operate(op), now)

    def _replicate(self, vnode: VirtualNode, changed: bool, now: int) -> VirtualNode:
        if changed and self.config.replicas:
            # the neighbours that take over (predecessor) or are asked next (successors)
            for n in {self.ring.predecessor, *self.ring.successors} - {None, self.me}:
                if n in self._peers:
                    self._send_direct(SyncVNodeWithSuccessor((vnode,)), n, now)
        return vnode

    # == sending ====================================================================================
    def _route(self, destination: Did, avoid: tuple[Did, ...] = ()) -> Did:
        """Next hop towards ``destination``: the peer itself if linked, else the ring's choice
        among peers not in ``avoid`` (the nodes a forwarded message has visited)."""
        if destination in self._peers:
            return destination
        found = self.ring.find_successor(destination, avoid)
        hop = found.did if isinstance(found, Local) else found.next_hop
        if hop in avoid:  # e.g. our successor, while the destination is not yet linked to us
            hop = self.ring.closest_preceding(destination, avoid)
        if hop is None or hop == self.me or hop not in self._peers:
            raise LocalError(f"no route to {destination.hex()}")
        return hop

    def _send(self, msg: Message, destination: Did, now: int, tx_id: uuid.UUID | None = None) -> uuid.UUID:
        return self._send_via(msg, self._route(destination), destination, now, tx_id)

    def _send_via(self, msg: Message, next_hop: Did, destination: Did, now: int, tx_id: uuid.UUID | None = None) -> uuid.UUID:
        tx_id = tx_id or self._uuid()
        self._emit(pl.send(self.session, msg, next_hop=next_hop, destination=destination, now=now, tx_id=tx_id), now)
        return tx_id

    def _send_direct(self, msg: Message, peer: Did, now: int) -> uuid.UUID:
        return self._send_via(msg, peer, peer, now)

    def _forward(self, p: MessagePayload, now: int, next_hop: Did | None = None, destination: Did | None = None) -> None:
        if self._reported is not None:
            raise RelayError(f"a {type(p.data).__name__} inside a MultiCall cannot be forwarded: its origin signed the MultiCall")
        check_relay(p.relay, self.me)
        # a report goes back the way its request came (0.2.5 hopes the ring finds it)
        back = self._back.get(p.tx_id) or self._back_older.get(p.tx_id)
        if next_hop is None and back is not None and back[1] == p.relay.destination and back[0] in self._peers:
            next_hop = back[0]
        # a 0.2.5 sender routes by its fingers even when it is linked to the destination, so
        # our only way on can be the node it came from: hand it back, once per node on the path
        first_visit = self.me not in p.relay.path
        hop = next_hop
        if hop is None:
            try:
                hop = self._route(p.relay.destination, p.relay.path)
            except LocalError:  # every way on was visited: the one back may be allowed
                hop = self._route(p.relay.destination)
        bounce = hop == p.relay.path[-1] and first_visit
        if hop in p.relay.path and not bounce:
            raise RelayError(f"forwarding {type(p.data).__name__} to {hop.hex()} would revisit the path")
        self._remember_back(p)
        self._emit(pl.forward(self.session, p, next_hop=hop, now=now, destination=destination), now)

    def _remember_back(self, p: MessagePayload) -> None:
        """Remember where a forwarded request came from, for its report (bounded), and keep
        that link open for another round: the report will come back through it."""
        came_from = p.relay.path[-1]
        if len(self._back) >= 4096:
            self._back_older, self._back = self._back, {}
        self._back[p.tx_id] = (came_from, p.relay.path[0])
        tid = self._peers.get(came_from)
        if tid is not None:
            self._transports[tid].unused = False

    def _emit(self, p: MessagePayload, now: int) -> None:
        tid = self._peers.get(p.relay.next_hop)
        if tid is None:
            raise LocalError(f"no link to next hop {p.relay.next_hop.hex()}")
        self._transports[tid].unused = False  # its answer comes back this way: keep it a round
        if len(p.relay.path) == 1 and isinstance(p.data, (FindSuccessorSend, MultiCall)):
            self._asked[p.tx_id] = None
            if len(self._asked) > 4096:
                del self._asked[next(iter(self._asked))]
        frames = split(pl.encode_payload(p), self._uuid(), now)
        self._actions.append(SendFrames(tid, p.relay.next_hop, tuple(frames)))

    def _read_back(self, req: _Request, now: int) -> None:
        """A store went unacknowledged: a 0.2.5 owner stores without a word, so ask it for
        the VNode and finish the store by what it holds (a late acknowledgement still counts)."""
        req.acked_tx, req.deadline = req.tx_id, now + self.config.request_timeout_ms
        self._route_request(req.id, SearchVNode(req.key), req.key, now)

    def _route_request(self, rid: int, msg: Message, destination: Did, now: int, next_hop: Did | None = None) -> int:
        try:
            hop = self._route(destination) if next_hop is None else next_hop
            tx_id = self._send_via(msg, hop, destination, now)
        except RingsError as e:
            return self._fail(rid, e)
        self._by_tx[tx_id] = rid
        req = self._requests[rid]
        req.tx_id, req.sent = tx_id, (msg, destination, hop)
        return rid

    def _reroute(self, lost: Did, now: int) -> None:
        """Beyond 0.2.5: requests that went out through the link to ``lost``, closed since,
        are sent again another way, once (the far end may close a link just as we use it:
        the message, or its answer, is lost with it)."""
        for req in [r for r in self._requests.values() if r.sent is not None and r.sent[2] == lost and not r.rerouted]:
            req.rerouted = True
            self._by_tx.pop(req.tx_id, None)
            msg, destination, _ = req.sent
            self._route_request(req.id, msg, destination, now)

    # == transports and handshakes ==================================================================
    def _new_transport(self, remote: Did | None, on_ready, now: int, request: int | None = None) -> _Transport:
        t = _Transport(str(self._uuid()), remote, now + self.config.request_timeout_ms, on_ready=on_ready,
                       request=request)
        self._transports[t.id] = t
        self._pending[t.id] = t
        return t

    def _connect(self, did: Did, now: int, ring_managed: bool = True, via: tuple[Did, ...] = (),
                 exact: bool = False, slot: int | None = None) -> None:
        """Offer a link to ``did`` and send the offer through the ring (SPEC §7.3)."""
        if did in self._peers:
            return
        stale = now - self.config.stabilize_interval_ms + self.config.request_timeout_ms
        for t in [t for t in self._pending.values() if t.remote == did]:
            if t.deadline > stale:
                t.ring_managed = t.ring_managed and ring_managed  # an API connect pins it
                return  # being linked: never two offers at once (quirk 17)
            self._close(t, now)  # offered a round ago and never answered: the offer was lost

        def ready(info: HandshakeInfo, now: int) -> None:
            try:
                hop = next((v for v in via if v in self._peers and v != did), None)
                if hop is None:
                    hop = self._route(did)
                self._send_via(ConnectNodeSend(t.id, info), hop, did, now)
            except RingsError as e:
                self._close(t, now, quiet=True)
                self._events.append(PayloadRejected(None, e))

        t = self._new_transport(did, ready, now)
        t.ring_managed, t.exact, t.slot = ring_managed, exact, slot
        self._actions.append(CreateOffer(t.id))

    def _apply_answer(self, p: MessagePayload) -> None:
        answer: ConnectNodeReport = p.data
        t = self._transports.get(answer.transport_uuid)
        if t is None or t.connected:
            raise RemoteError(f"no pending transport {answer.transport_uuid[:40]}")
        remote = p.relay.path[0]
        if t.remote is not None and t.remote != remote:
            raise RemoteError(f"answer from {remote.hex()} for a link offered to {t.remote.hex()}")
        t.remote = remote
        self._actions.append(ApplyAnswer(t.id, answer.answer))

    def _verified(self, text: str | bytes, kind: type, now: int) -> MessagePayload:
        p = pl.payload_from_json(text)
        self.verifier.verify(p, now)
        if not isinstance(p.data, kind):
            raise RemoteError(f"expected {kind.__name__}, got {type(p.data).__name__}")
        return p

    def _close(self, t: _Transport, now: int, quiet: bool = False) -> None:
        self._transports.pop(t.id, None)
        self._pending.pop(t.id, None)
        if not quiet:
            self._actions.append(CloseTransport(t.id))
        if t.remote is not None and self._peers.get(t.remote) == t.id:
            del self._peers[t.remote]
            before = self.ring.successors.first()
            self.ring.remove(t.remote)
            self._events.append(PeerDisconnected(t.remote))
            self._after_ring_change(before, now)
            if t.remote in self._holders:  # it kept copies: adopt and copy on now, not next round
                self._keep_replicas(now)
            self._reroute(t.remote, now)

    # == requests ===================================================================================
    def _uuid(self) -> uuid.UUID:
        """A version-4 UUID from our rng: ``uuid.UUID(int=..., version=4)`` built directly
        (two per frame sent: its tx id or chunk id)."""
        return uuid_of(self.rng.getrandbits(128) & _UUID_CLEAR | _UUID_V4)

    def _new_request(self, kind: str, now: int, key: Any = None) -> int:
        rid = next(self._ids)
        self._requests[rid] = _Request(rid, kind, now + self.config.request_timeout_ms, key)
        return rid

    def _finish(self, rid: int, event: Event) -> int:
        req = self._requests.pop(rid, None)
        if req is not None:
            self._by_tx.pop(req.tx_id, None)
            self._by_tx.pop(req.acked_tx, None)
            self._events.append(event)
        return rid

    def _done(self, rid: int, value: Any) -> int:
        return self._finish(rid, RequestDone(rid, value))

    def _fail(self, rid: int, error: RingsError) -> int:
        return self._finish(rid, RequestFailed(rid, error))


def _needs(peer: Did, old: Did, new: Did) -> bool:
    """Whether ``peer``, linked to us, needs to hear of our new predecessor ``new`` (which
    replaced ``old``): it takes over the ids in ``(old, new]``, so ``peer`` needs it if a
    finger target ``peer + 2^k`` lies there (the old predecessor's ``peer + 1`` among them),
    whichever end opened the link."""
    b_old, b_new = old.bias(peer), new.bias(peer)
    if b_old > b_new:  # peer lies in (old, new): from it, the range starts at peer itself
        b_old = 0
    return b_new.bit_length() > b_old.bit_length()


def _holds(vnode: VirtualNode, op: VNodeOperation) -> bool:
    """``vnode`` shows the effect of the store ``op`` (its entries are there)."""
    if isinstance(op, Overwrite):
        return vnode.data == op.vnode.data
    if isinstance(op, (Extend, Touch)):
        return all(x in vnode.data for x in op.vnode.data)
    return True  # JoinSubring: nothing checkable (and broken in 0.2.5, SPEC §10 item 15)
