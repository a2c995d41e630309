"""The node engine: one sans-IO state machine, its inputs, its outputs and its message table.

Inputs are method calls that carry ``now`` (ms since the epoch): frames from a transport,
transports opening and closing, offers and answers the driver made, timer expiries and API
calls.  Outputs are pulled: :meth:`Engine.actions_to_perform` (send frames, create an offer…)
for the driver and :meth:`Engine.next_event` for the application.  Nothing here reads a
clock, touches a socket or draws randomness except from the ``rng`` it was given, so a
simulator replays a run exactly from its seed.

The work is done by one part per concern: :mod:`.requests` (API calls in flight),
:mod:`.links` (transports and handshakes), :mod:`.routing` (next hops and relaying),
:mod:`.vnodes` (the storage protocol) and :mod:`.chord` (the ring); this module holds the
inputs, the outputs and the table that hands each inbound message to its part.

Message semantics follow Rings 0.2.5 (SPEC §7) so genuine nodes understand every byte we
send; where 0.2.5 is broken (SPEC §10) we do the sensible thing on our side only: fingers
aim at ``self + 2^k``, storage messages are forwarded to the responsible node, results are
matched to requests by ``tx_id``, LeaveDHT/JoinDHT from the wire are refused.
"""

from __future__ import annotations

import random
import uuid
from collections import deque
from dataclasses import replace
from typing import Callable

from ..crypto.hashing import ecies_decrypt
from ..did import Did
from ..dht.chord import PeerRing
from ..dht.storage import VNodeStore
from ..errors import CryptoError, DecodeError, DecryptionFailed, MessageRefused, RemoteError, RequestTimeout, RingsError
from ..message import payload as pl
from ..session.manager import SessionManager
from ..wire.types import (
    AlreadyConnected, ConnectNodeReport, ConnectNodeSend, CustomMessage, FindSuccessorReport, FindSuccessorSend,
    FoundVNode, HandshakeInfo, JoinDHT, LeaveDHT, MessagePayload, MultiCall, NotifyPredecessorReport,
    NotifyPredecessorSend, OperateVNode, SearchVNode, SyncVNodeWithSuccessor, VNodeOperation,
)
from .chord import Chord
from .config import Config
from .events import Action, Event, MessageReceived, PayloadRejected
from .links import Links
from .requests import Requests
from .routing import Router
from .vnodes import VNodes

__all__ = ["Engine"]

MessageHandler = Callable[[MessagePayload, int], None]


class Engine:
    """One rings-web node.

    Args:
        session: the signed session (wallet delegation + session key).
        rng: the only source of randomness (tx ids, chunk ids, transport ids).
        config: tunables.
        verifier: payload verifier; the default checks every signature (SPEC §5.5).
        storage: where VNodes live (in memory by default; sqlite for the native node).
        validate: ``validate(payload) -> bool`` runs on every verified payload before it is
            handled (0.2.5's ``MessageValidator``); False drops it as a MessageRefused.
    """

    def __init__(self, session: SessionManager, *, rng: random.Random, config: Config = Config(),
                 verifier: pl.Verifier | None = None, storage: VNodeStore | None = None,
                 validate: Callable[[MessagePayload], bool] | None = None) -> None:
        self.session = session
        self.validate = validate
        self.me: Did = session.wallet
        self.config = config
        self.rng = rng
        self.ring = PeerRing(self.me, successors=config.successors)
        self.verifier = verifier or pl.Verifier(session.crypto)
        self.storage = storage if storage is not None else VNodeStore()
        self._actions: list[Action] = []
        self._events: deque[Event] = deque()
        self._next_round: int | None = None
        # the parts, one per concern: each keeps the parts made before it, and reaches the
        # later ones (links: all of them) through this node
        self.requests = Requests(config.request_timeout_ms, self._events)
        self.links = Links(self, self._actions, self._events)
        self.router = Router(self, self._actions)
        self.vnodes = VNodes(self, self._events)
        self.chord = Chord(self)
        #: inbound messages by type
        self.handlers: dict[type, MessageHandler] = {
            MultiCall: self._on_multicall,
            JoinDHT: self._on_refused,
            LeaveDHT: self._on_refused,
            ConnectNodeSend: self.links.on_connect_send,
            AlreadyConnected: self.links.on_already_connected,
            ConnectNodeReport: self.links.on_connect_report,
            FindSuccessorSend: self.chord.on_find_successor_send,
            FindSuccessorReport: self.chord.on_find_successor_report,
            NotifyPredecessorSend: self.chord.on_notify_send,
            NotifyPredecessorReport: self.chord.on_notify_report,
            SearchVNode: self.vnodes.on_search_vnode,
            FoundVNode: self.vnodes.on_found_vnode,
            OperateVNode: self.vnodes.on_operate_vnode,
            SyncVNodeWithSuccessor: self.vnodes.on_sync_vnode,
            CustomMessage: self._on_custom,
        }

    # == outputs ====================================================================================
    def actions_to_perform(self) -> list[Action]:
        actions = self._actions.copy()  # the parts hold this list: emptied, not replaced
        self._actions.clear()
        return actions

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    def get_timer(self) -> int | None:
        best = self._next_round  # called after every input: no list built
        for r in self.requests:
            if best is None or r.deadline < best:
                best = r.deadline
        for t in self.links.pending.values():
            if best is None or t.deadline < best:
                best = t.deadline
        return best

    @property
    def transport_ids(self) -> list[str]:
        """Every transport this node holds, pending or connected."""
        return list(self.links.transports)

    @property
    def pending_transport_ids(self) -> list[str]:
        """Transports whose handshake has not finished."""
        return list(self.links.pending)

    def close_transport(self, transport_id: str, now: int) -> None:
        """Abandon a transport (pending or not)."""
        t = self.links.transports.get(transport_id)
        if t is not None:
            self.links.close(t, now)

    @property
    def peers(self) -> list[Did]:
        """DIDs of the registered (connected) transports."""
        return list(self.links.peers)

    def transport_of(self, did: Did) -> str | None:
        """The registered transport to ``did``, if any."""
        return self.links.peers.get(did)

    # == driver inputs ==============================================================================
    def start(self, now: int) -> None:
        """Arm the stabilization timer (the first round runs one interval from now)."""
        self._next_round = now + self.config.stabilize_interval_ms

    def handle_timer(self, now: int) -> None:
        for req in self.requests.expired(now):
            if req.awaits_ack:
                self.vnodes.read_back(req, now)
                continue
            self.requests.fail(req.id, RequestTimeout(f"{req.kind.value} {req.key!s} timed out"))
        for t in [t for t in self.links.pending.values() if t.deadline <= now]:
            self.links.close(t, now)
        if self._next_round is not None and self._next_round <= now:
            self._next_round = now + self.config.stabilize_interval_ms
            try:
                self.stabilize(now)
            except RingsError as e:  # pragma: no cover - every target is a linked peer
                self._events.append(PayloadRejected(None, e))

    def offer_ready(self, transport_id: str, offer: HandshakeInfo, now: int) -> None:
        """The driver created the offer asked for by :class:`CreateOffer`."""
        self.links.handshake_ready(transport_id, offer, now)

    def answer_ready(self, transport_id: str, answer: HandshakeInfo, now: int) -> None:
        """The driver created the answer asked for by :class:`AcceptOffer`."""
        self.links.handshake_ready(transport_id, answer, now)

    def handshake_failed(self, transport_id: str, error: RingsError, now: int) -> None:
        """The driver could not make our offer/answer or apply the answer, or the transport
        failed (ICE, DTLS): abandon the transport.

        The API request waiting for it (an offer, an answer, a connect) fails with ``error``.
        """
        self.links.handshake_failed(transport_id, error, now)

    def transport_open(self, transport_id: str, now: int) -> None:
        """ICE connected: register the peer and join it to the ring (SPEC §7.4)."""
        self.links.open(transport_id, now)

    def transport_closed(self, transport_id: str, now: int) -> None:
        t = self.links.transports.get(transport_id)
        if t is not None:
            self.links.close(t, now, quiet=True)

    def receive(self, transport_id: str, frame: bytes, now: int) -> None:
        """A data-channel message arrived.  Never raises: bad input becomes an event."""
        t = self.links.transports.get(transport_id)
        if t is None:
            return
        t.unused = False  # the far end uses this link: keep it another round
        if not t.connected:
            return self.links.hold_early(t, frame)
        try:
            raw = t.reassembler.receive(frame, now)
            if raw is None:
                return
            p = pl.decode_payload(raw)
            self.verifier.verify(p, now)
            if p.verification.session.auth.authorizer.did != t.remote:  # a copy another hop signed, passed on
                raise RemoteError("the last hop signature is not by the peer of the link it came over")
            if self.validate is not None:
                self._validate(p)
            self._dispatch(p, now)
        except RingsError as e:
            self._events.append(PayloadRejected(transport_id, e))

    def _validate(self, p: MessagePayload) -> None:
        """The application's validator (0.2.5's ``MessageValidator``); one that raises refuses."""
        try:
            accepted = self.validate(p)
        except Exception as e:  # application code: any failure is its refusal, not ours
            raise MessageRefused(f"the validator failed on {type(p.data).__name__} {p.tx_id}: {e!r:.200}") from None
        if not accepted:
            raise MessageRefused(f"the validator refused {type(p.data).__name__} {p.tx_id}")

    # == API ========================================================================================
    def create_offer(self, now: int) -> int:
        """Manual handshake, offering side; the result is the offer string."""
        return self.links.create_offer(now)

    def answer_offer(self, text: str | bytes, now: int) -> int:
        """Manual handshake, answering side; the result is the answer string."""
        return self.links.answer_offer(text, now)

    def accept_answer(self, text: str | bytes, now: int) -> int:
        """Manual handshake, offering side again; the result is the answerer's DID."""
        return self.links.accept_answer(text, now)

    def connect(self, did: Did, now: int) -> int:
        """Connect to any DID through the ring (SPEC §7.3); done when the link is up."""
        return self.links.connect(did, now)

    def disconnect(self, did: Did, now: int) -> None:
        tid = self.links.peers.get(did)
        if tid is not None:
            self.links.close(self.links.transports[tid], now)

    def send_message(self, destination: Did, body: bytes, now: int, encrypted: bool = False) -> uuid.UUID:
        """Send a CustomMessage body (see :mod:`rings_web.message.custom`), or with
        ``encrypted`` an ECIES blob of its bincode (SPEC §5.7); returns its tx_id.

        Raises:
            LocalError: no route to ``destination``.
        """
        tx_id = self.router.new_uuid()
        self.router.send(CustomMessage(bytes(body), encrypted), destination, now, tx_id=tx_id)
        return tx_id

    def reply_message(self, request: MessagePayload, body: bytes, now: int) -> uuid.UUID:
        """Answer a received custom message with one back along its path, same tx_id
        (0.2.5 ``send_report_message``; the HTTP backend answers requests so).

        Raises:
            LocalError: the hop it came from is no longer linked.
        """
        self.router.report(request, CustomMessage(bytes(body)), now)
        return request.tx_id

    def store(self, op: VNodeOperation, now: int) -> int:
        """Store in the DHT; done (with the stored VNode) when the responsible node confirms."""
        return self.vnodes.store(op, now)

    def lookup(self, key: Did, now: int) -> int:
        """Find the node responsible for ``key``, its Chord successor (``FindSuccessorSend``,
        SPEC §7.6); done with a :class:`LookupResult`."""
        return self.chord.lookup(key, now)

    def fetch(self, vid: Did, now: int) -> int:
        """Look a VNode up; done with the VirtualNode, or failed with NotFound / RequestTimeout."""
        return self.vnodes.fetch(vid, now)

    def locate(self, vid: Did, now: int) -> int:
        """As :meth:`fetch`, done with ``(VirtualNode, DID of the node whose answer brought it)``."""
        return self.vnodes.fetch(vid, now, locate=True)

    def stabilize(self, now: int) -> None:
        """One round: notify the successor, check the successor list and some fingers (SPEC §7.6)."""
        self.chord.stabilize(now)

    # == inbound messages ===========================================================================
    def _dispatch(self, p: MessagePayload, now: int) -> None:
        handler = self.handlers.get(type(p.data))
        if handler is None:  # pragma: no cover - closed union
            raise DecodeError(f"no handler for {type(p.data).__name__}")
        handler(p, now)

    def _on_multicall(self, p: MessagePayload, now: int) -> None:
        # each inner message is handled as if sent alone, but answered once (see
        # Chord.on_find_successor_send) and never forwarded (see Router.forward)
        self.router.multicall_reports = set()
        try:
            for inner in p.data.messages:
                try:
                    self._dispatch(replace(p, data=inner), now)
                except RingsError as e:
                    self._events.append(PayloadRejected(None, e))
        finally:
            self.router.multicall_reports = None

    def _on_refused(self, p: MessagePayload, now: int) -> None:
        raise RemoteError(f"{type(p.data).__name__} is local-only; refused from the wire (SPEC §10 item 10)")

    def _on_custom(self, p: MessagePayload, now: int) -> None:
        if p.relay.destination != self.me:
            return self.router.forward(p, now)
        body = p.data.data
        if p.data.encrypted:  # SPEC §5.7: encrypted to our session key
            try:
                inner = ecies_decrypt(self.session.crypto, self.session.key.secret, body)
            except CryptoError as e:  # maybe to our previous session: the client tells the sender
                error = DecryptionFailed(f"encrypted custom message {p.tx_id} from {p.relay.path[0].hex()}: {e}")
                return self._events.append(PayloadRejected(None, error, p))
            if len(inner) < 8 or int.from_bytes(inner[:8], "little") != len(inner) - 8:
                raise DecodeError("encrypted custom message is not a bincode Vec<u8>")
            body = inner[8:]
        self._events.append(MessageReceived(p.relay.path[0], body, p.tx_id, p, p.data.encrypted))
