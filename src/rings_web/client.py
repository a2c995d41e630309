"""The application surface of a node: what 0.2.5's ``Client`` offers, over an :class:`AsyncDriver`.

One implementation for every platform: the browser entry (``createNode`` in ``js/index.mjs``)
and the native JSON-RPC endpoint both call these methods.  Message bodies follow the
rings-node application layer (SPEC §6.1): ``send_message`` sends raw bytes behind the 4-byte
flag header, ``send_custom_message`` a BackendMessage of the given type, text is type 2.
Storage follows 0.2.5's JS API (SPEC §7.7): ``storage_store(text)`` overwrites the VNode
``sha1(text)``; services are Touch-ed lists of DIDs under ``sha1(name)``; topics Extend-ed lists.
"""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from dataclasses import dataclass
from collections.abc import Mapping
from typing import Any, Awaitable, Callable

from . import __version__, api_args
from .api_events import ApiEvent, Message, PayloadRejection, PeerConnect, PeerDisconnect, PeerFailed
from .crypto import default_backend
from .did import Did
from .drivers.aio import AsyncDriver, wall_clock_ms
from .e2e import Encryption
from .engine.config import Config
from .engine.events import (
    Event, HandshakeFailed, MessageReceived, PayloadRejected, PeerConnected, PeerDisconnected,
)
from .engine import Engine
from .errors import DecodeError, InvalidArgument, LocalError, MessageRefused, NotFound, RemoteError, RequestTimeout
from .message.custom import (
    FLAG_CHUNK, BackendMessage, BackendType, HttpRequest, HttpResponse, backend_body, chunked_bodies,
    decode_http_response, encode_http_request, parse_body, raw_body,
)
from .message.payload import payload_from_json, payload_to_json
from .session import SessionManager
from .wire import base58
from .wire.chunk import Reassembler
from .wire.types import PAYLOAD, Extend, MessagePayload, Overwrite, Touch, VirtualNode

__all__ = ["Client", "Message", "PeerInfo", "HttpPost", "entry_texts", "start_client"]

NODE_INFO_VNODES = 256

#: ``await http_post(url, json_object) -> json_object``: how a platform does one JSON POST.
HttpPost = Callable[[str, dict], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class PeerInfo:
    """A linked peer, as 0.2.5's ``list_peers`` reports it."""

    did: Did
    transport_id: str
    state: str  # "connected" (registered) or "new" (handshake under way)
    pair: dict | None = None  # the selected ICE candidate pair's types: {local, remote, protocol}


def _payload(message: Message) -> MessagePayload:
    if not isinstance(message, Message) or message.payload is None:
        raise InvalidArgument("only a received message can be answered")
    return message.payload


def _decoded_text(encoded: str) -> str:
    try:
        return base58.decode_check(encoded).decode("utf-8")
    except (DecodeError, UnicodeDecodeError):
        return encoded


def entry_texts(vnode: VirtualNode) -> list[str]:
    """A VNode's entries as text: each is base58-monero-check of UTF-8 (kept raw if it is not)."""
    return [_decoded_text(x) for x in vnode.data]


class Client:
    """A node's API: handshakes, messages, storage, services.

    Args:
        node: the running node.
        http_post: the platform's JSON POST (urllib on CPython, ``fetch`` in the browser),
            used by :meth:`connect_peer_via_http`.
        require_encryption: drop plaintext custom messages (a ``payload:rejected`` each).
    """

    def __init__(self, node: AsyncDriver, http_post: HttpPost | None = None, *, require_encryption: bool = False) -> None:
        self.node = node
        self.require_encryption = require_encryption
        self._engine = node.node  # read-only here: peers, ring, storage, pending transports
        self._http_post = http_post
        self._listeners: list[Callable[[ApiEvent], Any]] = []
        self._http: dict[uuid.UUID, asyncio.Future] = {}  # HttpRequest tx_id -> its response
        self._http_chunks = Reassembler(max_message_size=16 << 20)  # flag-1 response pieces
        self._e2e = Encryption(node, self.emit)  # session keys of others, to encrypt to
        node.on_event(self._relay_event)

    @property
    def address(self) -> Did:
        """This node's DID (the wallet address)."""
        return self.node.address

    def on(self, listener: Callable[[ApiEvent], Any]) -> None:
        """``listener(event)`` for every application event (:mod:`rings_web.api_events`:
        :class:`Message`, ``PeerConnect``, ``PeerDisconnect``, ``PayloadRejection``…)."""
        self._listeners.append(listener)

    def emit(self, event: ApiEvent) -> None:
        """Hand ``event`` to every listener: the one dispatcher, for the node's events and the
        platform's own (the browser's wallet reports ``AccountsChanged`` through it)."""
        for listener in self._listeners:
            listener(event)

    def _relay_event(self, event: Event) -> None:
        if isinstance(event, MessageReceived):
            if event.tx_id in self._http:
                return self._http_response(event)
            message = Message.from_event(event)
            if self._e2e.on_message(message):
                return
            if self.require_encryption and not message.encrypted:
                return self.emit(PayloadRejection(MessageRefused(f"plaintext message {message.tx_id}: encryption required")))
            self.emit(message)
        elif isinstance(event, PeerConnected):
            self.emit(PeerConnect(event.peer))
        elif isinstance(event, PeerDisconnected):
            self.emit(PeerDisconnect(event.peer))
        elif isinstance(event, PayloadRejected):
            self._e2e.on_rejected(event)
            self.emit(PayloadRejection(event.error))
        elif isinstance(event, HandshakeFailed) and event.remote is not None:
            self.emit(PeerFailed(event.remote, str(event.error)))

    async def session_key(self, did: Did | str, timeout_ms: int | None = None) -> bytes:
        """The 64-byte session public key of ``did`` (SPEC §5.7): the one its session signed
        a message with, kept until the delegation expires, else asked for with a KEY_REQUEST.

        Raises:
            NoSessionKey: no answer within ``timeout_ms`` (the request timeout by default):
                the node is unreachable, or a genuine 0.2.5 one that has sent us nothing yet.
        """
        timeout_ms = None if timeout_ms is None else api_args.index(timeout_ms, "timeout_ms")
        return await self._e2e.session_key(api_args.did(did), timeout_ms)

    def _send(self, did: Did | str, body: bytes, encrypt: bool) -> uuid.UUID:
        did = api_args.did(did)
        return self._e2e.send(did, body) if encrypt else self.node.send_message(did, body)

    # -- handshakes ------------------------------------------------------------------------------
    async def create_offer(self) -> str:
        """Manual handshake, offering side: the offer string for the other node."""
        return await self.node.create_offer()

    async def answer_offer(self, offer: str) -> str:
        """Manual handshake, answering side: the answer string for the offerer."""
        return await self.node.answer_offer(api_args.text(offer, "offer"))

    async def accept_answer(self, answer: str) -> PeerInfo:
        """Manual handshake, offering side again; the link opens shortly after."""
        did = await self.node.accept_answer(api_args.text(answer, "answer"))
        return self._peer_info(did) or PeerInfo(did, "", "new")

    async def connect_peer_via_http(self, url: str) -> str:
        """Offer to a native node's JSON-RPC ``answerOffer`` at ``url`` (SPEC §7.2).

        Returns the transport id of the offer.

        Raises:
            LocalError: the endpoint failed or answered nonsense.
        """
        url = api_args.http_url(url)
        if self._http_post is None:
            raise LocalError("this platform has no HTTP client")
        offer = await self.node.create_offer()
        request = {"jsonrpc": "2.0", "method": "answerOffer", "params": [offer], "id": 0}
        reply = await self._http_post(url, request)
        if not isinstance(reply, dict) or "result" not in reply:
            error = reply.get("error") if isinstance(reply, dict) else reply
            raise LocalError(f"answerOffer at {url} failed: {str(error)[:200]}")
        try:
            answer = payload_to_json(PAYLOAD.from_json(reply["result"]))
        except DecodeError as e:
            raise LocalError(f"answerOffer at {url} returned no answer: {e}") from None
        await self.node.accept_answer(answer)
        return payload_from_json(offer).data.transport_uuid

    async def connect_with_address(self, did: Did | str) -> Did:
        """Link to any node through the ring (ConnectNodeSend, SPEC §7.3); done when it is up."""
        return await self.node.connect(api_args.did(did))

    def disconnect(self, did: Did | str) -> None:
        self.node.disconnect(api_args.did(did))

    def list_peers(self) -> list[PeerInfo]:
        return [self._peer_info(did) for did in self._engine.peers]

    def get_peer(self, did: Did | str) -> PeerInfo | None:
        """The link to ``did``, with the type of its selected candidate pair (how it went:
        host, srflx through a NAT, relay through TURN), or None when not linked."""
        return self._peer_info(api_args.did(did))

    def _peer_info(self, did: Did) -> PeerInfo | None:
        tid = self._engine.transport_of(did)
        return PeerInfo(did, tid, "connected", self.node.transport.selected_pair(tid)) if tid is not None else None

    def list_pendings(self) -> list[str]:
        """Transport ids of handshakes under way (0.2.5 ``listPendings``)."""
        return list(self._engine.pending_transport_ids)

    def close_pending_transport(self, transport_id: str) -> None:
        """Abandon a handshake under way (0.2.5 ``closePendingTransport``).

        Raises:
            LocalError: no pending transport has that id.
        """
        transport_id = api_args.text(transport_id, "transport_id")
        if transport_id not in self._engine.pending_transport_ids:
            raise LocalError(f"no pending transport {transport_id[:40]}")
        self.node.close_transport(transport_id)

    # -- messages --------------------------------------------------------------------------------
    def send_message(self, did: Did | str, data: bytes, *, encrypt: bool = False) -> uuid.UUID:
        """Raw bytes behind the flag header (0.2.5 ``send_message``); returns the tx_id.

        A genuine 0.2.5 browser surfaces only bodies shaped as BackendMessage types 2/4.
        ``encrypt``: send it ECIES-encrypted to ``did``'s session key (as every ``send_*``
        can), which :meth:`session_key` must have obtained, else NoSessionKey.
        """
        return self._send(did, raw_body(api_args.data(data, "data")), api_args.flag(encrypt, "encrypt"))

    def send_raw_body(self, did: Did | str, body: bytes) -> uuid.UUID:
        """A CustomMessage body exactly as given, flag header included: for application layers
        of one's own and protocol tests (the other ``send_*`` methods build the header)."""
        return self.node.send_message(api_args.did(did), api_args.data(body, "body"))

    def send_simple_text_message(self, did: Did | str, text: str, *, encrypt: bool = False) -> uuid.UUID:
        return self.send_custom_message(did, BackendType.SimpleText, api_args.text(text, "text").encode(), encrypt=encrypt)

    def send_custom_message(self, did: Did | str, message_type: int, data: bytes, *, encrypt: bool = False) -> uuid.UUID:
        body = backend_body(api_args.u16(message_type, "message_type"), api_args.data(data, "data"))
        return self._send(did, body, api_args.flag(encrypt, "encrypt"))

    def reply(self, message: Message, data: bytes) -> uuid.UUID:
        """Answer ``message`` with raw bytes sent back along its path (a report, same tx_id).

        Raises:
            LocalError: the hop it came through is gone.
        """
        return self.node.reply_message(_payload(message), raw_body(api_args.data(data, "data")))

    def reply_backend_message(self, message: Message, reply: BackendMessage) -> None:
        """Answer ``message`` with a BackendMessage along its path, in flag-1 pieces of at most
        BACKEND_MTU bytes, each a report with its tx_id (as 0.2.5 sends HTTP responses).

        Raises:
            LocalError: the hop it came through is gone.
        """
        payload = _payload(message)
        for body in chunked_bodies(reply, uuid.uuid4(), self.node.clock()):
            self.node.reply_message(payload, body)

    async def send_http_request(self, did: Did | str, request: HttpRequest | Mapping) -> HttpResponse:
        """Have ``did``'s native node perform ``request`` with its HTTP service ``request.name``
        (0.2.5 ``send_http_request``); the response comes back gzipped, in flag-1 pieces.
        ``request``: an :class:`HttpRequest` or the mapping :func:`api_args.http_request` takes.

        Raises:
            RequestTimeout: no response within ``request.timeout`` ms.
            RemoteError: the response does not decode.
        """
        return await self.start_http_request(did, request)[1]

    def start_http_request(self, did: Did | str, request: HttpRequest | Mapping
                           ) -> tuple[uuid.UUID, Awaitable[HttpResponse]]:
        """:meth:`send_http_request` in two steps: the request's tx_id now, the response later."""
        did, request = api_args.did(did), api_args.http_request(request)
        tx_id = self.node.send_message(did, backend_body(BackendType.HttpRequest, encode_http_request(request)))
        future = self._http[tx_id] = asyncio.get_running_loop().create_future()

        async def response() -> HttpResponse:
            try:
                return await asyncio.wait_for(future, request.timeout / 1000)
            except asyncio.TimeoutError:
                raise RequestTimeout(f"no HTTP response from {did.hex()} within {request.timeout} ms") from None
            finally:
                self._http.pop(tx_id, None)

        return tx_id, response()

    def _http_response(self, event: MessageReceived) -> None:
        future = self._http[event.tx_id]
        try:
            flag, content = parse_body(event.body)
            if flag == FLAG_CHUNK:
                content = self._http_chunks.receive(content, self.node.clock())
                if content is None:
                    return  # more pieces to come
            msg = BackendMessage.decode(content)
            if msg.message_type != BackendType.HttpResponse:
                raise DecodeError(f"expected an HttpResponse, got BackendMessage type {msg.message_type}")
            response = decode_http_response(msg.data)
        except RemoteError as e:
            if not future.done():
                future.set_exception(e)
            return
        if not future.done():
            future.set_result(response)

    # -- storage and services --------------------------------------------------------------------
    async def storage_store(self, text: str) -> Did:
        """Store ``text`` under ``sha1(text)`` (0.2.5 ``storage_store``); returns that id."""
        text = api_args.text(text, "text")
        vid = Did.from_topic(text)
        await self.node.store(Overwrite(VirtualNode(vid, (base58.encode_check(text.encode()),))))
        return vid

    async def storage_fetch(self, vid: Did | str) -> VirtualNode | None:
        """The VNode stored under ``vid``, or None when the DHT holds none."""
        try:
            return await self.node.fetch(api_args.did(vid, "vid"))
        except NotFound:
            return None

    async def storage_locate(self, vid: Did | str) -> tuple[VirtualNode, Did] | None:
        """The VNode stored under ``vid`` and the node whose answer brought it (the one that
        holds it: its owner, or a replica's holder when the owner left; this node's own DID
        when it holds it), or None when the DHT holds none."""
        try:
            return await self.node.locate(api_args.did(vid, "vid"))
        except NotFound:
            return None

    async def storage_fetch_texts(self, vid: Did | str) -> list[str]:
        """The decoded entries of the VNode ``vid`` (empty when there is none)."""
        found = await self.storage_fetch(vid)
        return entry_texts(found) if found is not None else []

    async def publish_message_to_topic(self, topic: str, text: str) -> None:
        """Append ``text`` to the topic's VNode (Extend, capped at 1 024 entries)."""
        entry = base58.encode_check(api_args.text(text, "text").encode())
        await self.node.store(Extend(VirtualNode(Did.from_topic(api_args.text(topic, "topic")), (entry,))))

    async def fetch_messages_of_topic(self, topic: str, index: int = 0) -> list[str]:
        index = api_args.index(index)
        return (await self.storage_fetch_texts(Did.from_topic(api_args.text(topic, "topic"))))[index:]

    async def register_service(self, name: str) -> None:
        """Add this node's DID to the service's list (Touch of ``sha1(name)``, as 0.2.5)."""
        entry = base58.encode_check(self.address.bare().encode())
        await self.node.store(Touch(VirtualNode(Did.from_topic(api_args.text(name, "name")), (entry,))))

    async def lookup_service(self, name: str) -> list[Did]:
        """DIDs registered for the service (entries that are not DIDs are skipped)."""
        dids = []
        for text in await self.storage_fetch_texts(Did.from_topic(api_args.text(name, "name"))):
            try:
                dids.append(Did.parse(text))
            except DecodeError:
                continue
        return dids

    # -- the node --------------------------------------------------------------------------------
    def node_info(self) -> dict:
        """Ring state and storage (as 0.2.5's ``nodeInfo`` shows its storage): the first
        ``NODE_INFO_VNODES`` stored VNodes with their entries as text."""
        engine = self._engine
        ring = engine.ring
        return {
            "version": __version__,
            "did": self.address.hex(),
            "peers": len(engine.peers),
            "successors": [d.hex() for d in ring.successors],
            "predecessor": ring.predecessor.hex() if ring.predecessor is not None else None,
            "fingers": sorted({d.hex() for d in ring.fingers}),
            "stored": len(engine.storage),
            "vnodes": {v.did.hex(): entry_texts(v) for v in engine.storage.head(NODE_INFO_VNODES)},
        }

    def close(self) -> None:
        self.node.close()


async def start_client(signer, transport, *, config: Config | None = None, storage=None,
                       http_post: HttpPost | None = None, crypto=None, validate=None,
                       require_encryption: bool = False) -> Client:
    """A running node in one call: session (one wallet signature), engine, asyncio driver.
    The one boot path: the browser (``js/index.mjs`` → :mod:`rings_web.browser`), the native
    node and the tests all start here.

    Args:
        signer: a wallet signer (:class:`~rings_web.session.LocalKeySigner`, ``Eip1193Signer``…),
            or a ready :class:`~rings_web.session.SessionManager` (a restored session: no signature).
        transport: e.g. :class:`~rings_web.transport.aiortc.AiortcTransport`.
        config: :class:`~rings_web.engine.config.Config` (the browser defaults otherwise).
        storage: a :class:`~rings_web.dht.storage.VNodeStore` (memory by default).
        http_post: the platform's JSON POST, for :meth:`Client.connect_peer_via_http` (the
            page's ``fetch`` in the browser, :func:`rings_web.native.http_client.http_post_json`
            on CPython); without it that method fails with a LocalError.
        crypto: the crypto backend (the platform's default otherwise).
        validate: ``validate(payload) -> bool``, run on every verified payload before it is
            handled; False drops it (a ``payload:rejected``).
        require_encryption: see :class:`Client`.

    Example::

        client = await start_client(LocalKeySigner(key), AiortcTransport(), http_post=http_post_json)
        await client.connect_peer_via_http("http://127.0.0.1:50000/")
    """
    crypto = crypto or default_backend()
    session = signer if isinstance(signer, SessionManager) else \
        await SessionManager.create(signer, crypto=crypto, now=wall_clock_ms(), random_bytes=os.urandom)
    engine = Engine(session, rng=random.Random(int.from_bytes(os.urandom(16), "big")), config=config or Config(),
                  storage=storage, validate=validate)
    node = AsyncDriver(engine, transport)
    client = Client(node, http_post, require_encryption=require_encryption)  # listening before the node starts
    node.start()
    return client
