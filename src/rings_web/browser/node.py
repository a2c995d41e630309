"""Boot a rings-web node in the page and hand JS a :class:`BrowserNode`.

``js/index.mjs`` validates the caller's options and calls :func:`start` with a plain JS
object; every method of :class:`BrowserNode` takes and returns JS-friendly values (strings,
``Uint8Array``, plain objects), so the JS wrapper stays a thin camelCase facade.
"""

from __future__ import annotations

import json
import os
import random

from js import Object, fetch
from pyodide.ffi import JsException, to_js

from ..client import Client, Message, PeerInfo, entry_texts
from ..crypto import default_backend
from ..dissect import dissect
from ..drivers.aio import AsyncNode, wall_clock_ms
from ..dht.storage import VNodeStore
from ..engine.config import Config
from ..engine.node import Node
from ..errors import InvalidArgument, LocalError, SignatureRejected, SignerError
from ..message.backend import HttpRequest
from ..session import CallbackSigner, Eip1193Signer, ProviderError, SessionManager
from ..session.auth import public_key_address
from ..transport.browser import BrowserTransport
from ..wire.types import Signer, VirtualNode
from .storage import open_store

__all__ = ["start", "BrowserNode"]


def _js(value):
    return to_js(value, dict_converter=Object.fromEntries)


def _py(value):
    return value.to_py() if hasattr(value, "to_py") else value


def _code(e: JsException):
    return getattr(e.js_error, "code", None)


def _bytes(value, what: str) -> bytes:
    if hasattr(value, "to_bytes"):  # Uint8Array, ArrayBuffer
        return value.to_bytes()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgument(f"{what} must be a Uint8Array, got {type(value).__name__}")


async def http_post(url: str, body: dict):
    """One JSON POST with the page's ``fetch`` (CORS applies; 0.2.5 native nodes allow it)."""
    init = _js({"method": "POST", "headers": {"content-type": "application/json", "accept": "application/json"},
                "body": json.dumps(body)})
    try:
        response = await fetch(url, init)
        return json.loads(await response.text())
    except (JsException, ValueError) as e:
        raise LocalError(f"POST {url} failed: {e}") from None


async def _wallet_signer(wallet, crypto):
    """The session's signer from the caller's ``ethereum`` provider or ``signer`` object."""
    if wallet.kind == "eip1193":
        provider_request = wallet.request

        async def request(method: str, params: list):
            try:
                return _py(await provider_request(method, _js(params)))
            except JsException as e:
                raise ProviderError(_code(e), str(e)) from None

        chain_id = getattr(wallet, "chainId", None)  # absent and undefined both read as None
        return await Eip1193Signer.connect(request, account=getattr(wallet, "account", None),
                                           chain_id=int(chain_id) if chain_id is not None else None, crypto=crypto)
    mode = Signer[wallet.mode]
    pubkey = b"\x00" + _bytes(wallet.publicKey, "signer.publicKey") if mode == Signer.EdDSA else None
    address = public_key_address(pubkey, crypto) if pubkey is not None else wallet.address
    js_sign = wallet.sign

    async def sign(text: str):
        try:
            result = _py(await js_sign(text))
        except JsException as e:
            kind = SignatureRejected if _code(e) == 4001 else SignerError
            raise kind(f"the signer failed: {e}") from None
        return bytes(result) if isinstance(result, memoryview) else result

    return CallbackSigner(address, sign, mode, pubkey)


async def start(options) -> "BrowserNode":
    """Create the session (one wallet signature), open storage, start the node.

    ``options`` (from ``js/index.mjs``): ``wallet``, ``createTransport``, ``iceServers``,
    ``stabilizeInterval`` (ms), ``vnodeDb`` (IndexedDB handle or null), ``emit(name, detail)``,
    ``progress(stage)``.
    """
    crypto = default_backend()
    options.progress("wallet")
    signer = await _wallet_signer(options.wallet, crypto)
    session = await SessionManager.create(signer, crypto=crypto, now=wall_clock_ms(), random_bytes=os.urandom)
    options.progress("storage")
    vnode_db = getattr(options, "vnodeDb", None)
    storage = await open_store(vnode_db) if vnode_db is not None else VNodeStore()
    config = Config(stabilize_interval_ms=int(options.stabilizeInterval))
    engine = Node(session, rng=random.Random(int.from_bytes(os.urandom(16), "big")), config=config, storage=storage)
    transport = BrowserTransport(options.createTransport, _py(options.iceServers))
    node = AsyncNode(engine, transport)
    client = Client(node, http_post)
    browser_node = BrowserNode(client, options.emit, vnode_db)
    node.start()
    return browser_node


def _peer(p: PeerInfo | None):
    return None if p is None else _js({"did": p.did.hex(), "transportId": p.transport_id, "state": p.state})


def _vnode(v: VirtualNode | None):
    return None if v is None else _js({"did": v.did.hex(), "kind": v.kind.name, "data": entry_texts(v)})


class BrowserNode:
    """The node as JS sees it (``js/index.mjs`` wraps it in camelCase)."""

    def __init__(self, client: Client, emit, vnode_db) -> None:
        self.client = client
        self._emit = emit
        self._vnode_db = vnode_db
        client.on(self._event)

    def _event(self, name: str, value) -> None:
        if isinstance(value, Message):
            detail = {"from": value.origin.hex(), "txId": str(value.tx_id), "type": value.message_type,
                      "data": value.data, "text": value.text, "path": [d.hex() for d in value.path], "body": value.body}
        elif isinstance(value, Exception):
            detail = {"error": type(value).__name__, "message": str(value)[:300]}
        else:
            detail = {"did": value.hex()}
        self._emit(name, _js(detail))

    @property
    def address(self) -> str:
        return self.client.address.hex()

    async def create_offer(self) -> str:
        return await self.client.create_offer()

    async def answer_offer(self, offer: str) -> str:
        return await self.client.answer_offer(offer)

    async def accept_answer(self, answer: str):
        return _peer(await self.client.accept_answer(answer))

    async def connect_peer_via_http(self, url: str) -> str:
        return await self.client.connect_peer_via_http(url)

    async def connect_with_address(self, did: str) -> str:
        return (await self.client.connect_with_address(did)).hex()

    def send_message(self, did: str, data) -> str:
        return str(self.client.send_message(did, _bytes(data, "data")))

    def send_raw_body(self, did: str, body) -> str:
        return str(self.client.send_raw_body(did, _bytes(body, "body")))

    def send_simple_text_message(self, did: str, text: str) -> str:
        return str(self.client.send_simple_text_message(did, text))

    def send_custom_message(self, did: str, message_type: int, data) -> str:
        return str(self.client.send_custom_message(did, message_type, _bytes(data, "data")))

    async def send_http_request(self, did: str, request):
        """``request``: ``{name, method, path, headers?, body? (Uint8Array), timeout? (ms)}``;
        resolves with ``{status, headers, body}`` from ``did``'s HTTP backend."""
        r = _py(request)
        if not isinstance(r, dict):
            raise InvalidArgument("request must be an object {name, method, path, headers?, body?, timeout?}")
        body = r.get("body")
        req = HttpRequest(r.get("name"), r.get("method", "GET"), r.get("path"), int(r.get("timeout", 30_000)),
                          dict(r.get("headers") or {}), bytes(body) if body is not None else None)
        for field_name in ("name", "method", "path"):
            if not isinstance(getattr(req, field_name), str):
                raise InvalidArgument(f"request.{field_name} must be a string")
        response = await self.client.send_http_request(did, req)
        return _js({"status": response.status, "headers": response.headers, "body": response.body})

    def list_peers(self):
        return _js([_peer(p) for p in self.client.list_peers()])

    def get_peer(self, did: str):
        return _peer(self.client.get_peer(did))

    def disconnect(self, did: str) -> None:
        self.client.disconnect(did)

    async def storage_store(self, text: str) -> str:
        return (await self.client.storage_store(text)).hex()

    async def storage_fetch(self, did: str):
        return _vnode(await self.client.storage_fetch(did))

    async def publish_message_to_topic(self, topic: str, text: str) -> None:
        await self.client.publish_message_to_topic(topic, text)

    async def fetch_messages_of_topic(self, topic: str, index: int = 0):
        return _js(await self.client.fetch_messages_of_topic(topic, int(index)))

    async def register_service(self, name: str) -> None:
        await self.client.register_service(name)

    async def lookup_service(self, name: str):
        return _js([d.hex() for d in await self.client.lookup_service(name)])

    def node_info(self):
        return _js(self.client.node_info())

    def decode(self, *inputs: str):
        """The dissector (``rings-web decode``): canonical 0.2.5 JSON of frames (hex), a
        handshake string or base58-monero-check text."""
        found = dissect([str(i) for i in inputs])
        return _js({"kind": found.kind, "json": found.json})

    async def close(self) -> None:
        self.client.close()
        if self._vnode_db is not None:
            await self._vnode_db.flush()
            self._vnode_db.close()

