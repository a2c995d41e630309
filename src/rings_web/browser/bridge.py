"""Boot a rings-web node in the page and hand JS a :class:`JsBridge`.

``js/index.mjs`` checks the caller's options and calls :func:`boot` with a plain JS object;
after that it reaches the node only through :meth:`JsBridge.invoke`, which settles each call
into ``{ok: true, value}`` or ``{ok: false, error: {name, message, details}}`` -- errors cross
to JS as values, never as tracebacks.  The methods only translate JS values (``Uint8Array``,
plain objects) to :class:`~rings_web.client.Client` calls, which check them, and results back
to plain values; events reach JS through the Client's one dispatcher.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os

from js import fetch
from pyodide.code import run_js
from pyodide.ffi import JsException, create_proxy, to_js

from .. import api_args
from ..api_events import EVENT_NAMES, AccountsChanged, ApiEvent, Progress, error_json
from ..client import Client, PeerInfo, entry_texts, start_client
from ..crypto import default_backend
from ..dissect import dissect
from ..dht.storage import VNodeStore
from ..did import Did
from ..drivers.aio import wall_clock_ms
from ..engine.config import Config
from ..message.payload import payload_to_json
from ..errors import InvalidArgument, LocalError, SignatureRejected, SignerError
from ..session import CallbackSigner, Eip1193Signer, ProviderError, SessionManager
from ..session.signers import check_chain
from ..session.auth import public_key_address
from ..transport.browser import BrowserTransport
from ..wire.types import Signer, VirtualNode
from .storage import open_store
from ..warm import warm_up

__all__ = ["boot", "start", "start_in_page", "JsBridge"]

_log = logging.getLogger(__name__)


# made by run_js, not read from the global Object: with the memory snapshot a JS global's
# attribute is a recording Proxy (Pyodide's snapshot globals), and to_js calling it as the
# dict converter cost 48 us a call against 17 us (in a sending page; 12 % of its profile when
# read per call)
_FROM_ENTRIES = run_js("Object.fromEntries")
# a call's settled result made in JS: 5 us against 43-170 us for to_js of the dict (one per send)
_SETTLED = run_js("(value) => ({ok: true, value})")


#: message-path rounds run once the node is ready (rings_web/warm.py): 64 took a page's first 300
#: received 1 KB texts from 967-1000 to 800-867 µs of renderer CPU each (its sender's from
#: 700-800 to 600-700), when V8's recompiling no longer happens during them
WARM_UP_ROUNDS = 64


def _js(value):
    return to_js(value, dict_converter=_FROM_ENTRIES)


def _field(value):
    """An event's field for JS: ``to_js`` with the dict converter only where a dict is inside
    (with the memory snapshot, handing JS the global's converter costs a recording-Proxy trap:
    ~0.4 ms a 50 KB message, seen in a receiving page's profile)."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    if isinstance(value, (bytes, bytearray)) or (isinstance(value, list) and all(isinstance(x, str) for x in value)):
        return to_js(value)
    return _js(value)


def _py(value):
    return value.to_py() if hasattr(value, "to_py") else value


def _bytes(value):
    """A ``Uint8Array``/``ArrayBuffer`` as bytes; anything else as it is (the Client checks it)."""
    return value.to_bytes() if hasattr(value, "to_bytes") else value


def _code(e: JsException):
    return getattr(e.js_error, "code", None)


async def http_post(url: str, body: dict):
    """One JSON POST with the page's ``fetch`` (CORS applies; 0.2.5 native nodes allow it)."""
    init = _js({"method": "POST", "headers": {"content-type": "application/json", "accept": "application/json"},
                "body": json.dumps(body)})
    try:
        response = await fetch(url, init)
        return json.loads(await response.text())
    except (JsException, ValueError) as e:
        raise LocalError(f"POST {url} failed: {e}") from None


def _provider(wallet):
    """The ``ethereum`` option's ``request`` as :data:`~rings_web.session.signers.Request`."""
    provider_request = wallet.request

    async def request(method: str, params: list):
        try:
            return _py(await provider_request(method, _js(params)))
        except JsException as e:
            raise ProviderError(_code(e), str(e)) from None

    return request


def _callback_signer(wallet, crypto) -> CallbackSigner:
    """The caller's ``signer`` object as a wallet signer."""
    mode = Signer[wallet.mode]
    pubkey = b"\x00" + _bytes(wallet.publicKey) if mode == Signer.EdDSA else None
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


async def _session(wallet, kept, crypto) -> SessionManager:
    """The node's session: the one ``kept`` in IndexedDB if it is this wallet account's and
    still valid (the wallet is asked only ``eth_accounts``/``eth_chainId``, which never prompt),
    else a new one the wallet signs (kept for the next load)."""
    chain_id = getattr(wallet, "chainId", None)  # absent and undefined both read as None
    chain_id = int(chain_id) if chain_id is not None else None
    account = getattr(wallet, "account", None)
    record = await _kept_record(kept)
    if wallet.kind == "eip1193":
        request = _provider(wallet)
        if record is not None:
            current = await Eip1193Signer.selected(request, account)
            session = current and SessionManager.restore(record, wallet=current, mode=Signer.EIP191, chain_id=chain_id,
                                                         now=wall_clock_ms(), crypto=crypto)
            if session:
                await check_chain(request, chain_id)
                return session
        signer = await Eip1193Signer.connect(request, account=account, chain_id=chain_id, crypto=crypto)
    else:
        signer = _callback_signer(wallet, crypto)
        session = record and SessionManager.restore(record, wallet=signer.address, mode=signer.mode, chain_id=None,
                                                    now=wall_clock_ms(), crypto=crypto)
        if session:
            return session
    session = await SessionManager.create(signer, crypto=crypto, now=wall_clock_ms(), random_bytes=os.urandom)
    if kept is not None:
        try:
            await kept.put(_js(session.to_record(chain_id)))
        except JsException:  # not kept (quota, a closed database): the next load signs again
            pass
    return session


async def _kept_record(kept):
    """The kept session's record as a dict, or None (none kept, or IndexedDB failed to read)."""
    if kept is None:
        return None
    try:
        return _py(await kept.get())
    except JsException:
        return None


def _ok(value):
    return _SETTLED(value if value is None or isinstance(value, (str, int, float)) else _js(value))


def _failed(error: Exception):
    return _js({"ok": False, "error": error_json(error)})


async def _settle(awaitable):
    try:
        return _ok(await awaitable)
    except Exception as e:  # every failure crosses to JS as a value: RingsError or not
        return _failed(e)


async def start(options) -> "JsBridge":
    """Open the wallet, storage and the node (:func:`~rings_web.client.start_client`).

    ``options`` (from ``js/index.mjs``): ``wallet``, ``createTransport``, ``iceServers``,
    ``stabilizeInterval`` (ms), ``vnodeDb`` (IndexedDB handle or null), ``sessionDb`` (the
    kept session's store, ``js/storage.mjs`` openSessionStore, or null), ``emit(name, detail)``
    (with ``emit.fields(name, keys, ...values)``, if present: the same, cheaper to call),
    ``progress(detail)``, ``validate`` (a JS function of the payload's JSON, or null),
    ``requireEncryption``.
    """
    crypto = default_backend()
    options.progress(_js(Progress("wallet", wall_clock_ms()).to_json()))
    kept = getattr(options, "sessionDb", None)
    session = await _session(options.wallet, kept, crypto)
    options.progress(_js(Progress("storage", wall_clock_ms()).to_json()))
    vnode_db = getattr(options, "vnodeDb", None)
    storage = await open_store(vnode_db) if vnode_db is not None else VNodeStore()
    transport = BrowserTransport(options.createTransport, _py(options.iceServers))
    client = await start_client(session, transport, config=Config(stabilize_interval_ms=int(options.stabilizeInterval)),
                                storage=storage, http_post=http_post, crypto=crypto,
                                validate=_validator(getattr(options, "validate", None)),
                                require_encryption=bool(getattr(options, "requireEncryption", False)))
    bridge = JsBridge(client, options.emit, vnode_db, kept)
    # after ready, in slices: the first messages then cost what later ones do (rings_web/warm.py)
    bridge._warming = asyncio.ensure_future(warm_up(crypto, bridge._arguments, rounds=WARM_UP_ROUNDS,
                                                    now=wall_clock_ms(), pause_s=0.005))
    bridge._warming.add_done_callback(_warmed)
    return bridge


def _warmed(task: asyncio.Future) -> None:
    """The warm-up only saves later messages CPU: its failure (a crypto backend that throws) is
    logged, never left as an unretrieved task exception; the node's own calls report it."""
    if not task.cancelled() and task.exception() is not None:
        _log.warning("the warm-up after boot failed: %r", task.exception())


def _validator(validate):
    """A JS ``validate(payload) -> boolean`` (the payload as 0.2.5's JSON) as the engine's hook."""
    if validate is None or not callable(validate):  # JS null or undefined: none
        return None
    return lambda payload: bool(validate(_js(json.loads(payload_to_json(payload)))))


async def start_in_page(signer, *, ice_servers: list[dict] | None = None, config: Config | None = None,
                        storage: VNodeStore | None = None) -> Client:
    """A node for Python code in a plain Pyodide page (the wheel installed with micropip): the
    :class:`~rings_web.client.Client` of :func:`~rings_web.client.start_client` over the page's
    WebRTC and ``fetch``.  Needs ``registerShim(pyodide)`` from ``rings-web/shim`` first.

    Raises:
        LocalError: the shim's ``rings_web_js`` module is not registered.
    """
    try:
        from rings_web_js import createTransport
    except ImportError:
        raise LocalError("rings_web_js is not registered: run registerShim(pyodide) from rings-web/shim first") from None
    return await start_client(signer, BrowserTransport(createTransport, ice_servers), config=config, storage=storage,
                              http_post=http_post)


def boot(options):
    """:func:`start` for JS: a Promise of ``{ok, value: {node, address, events}}`` (``events``:
    every event name, :data:`~rings_web.api_events.EVENT_NAMES`) or ``{ok: false, error}``."""

    async def booted():
        node = await start(options)
        return {"node": create_proxy(node), "address": node.address, "events": list(EVENT_NAMES)}

    return _settle(booted())


def _peer(p: PeerInfo | None):
    return None if p is None else {"did": p.did.hex(), "transportId": p.transport_id, "state": p.state, "pair": p.pair}


def _vnode(v: VirtualNode, held_by: Did):
    return {"did": v.did.hex(), "kind": v.kind.name, "data": entry_texts(v), "heldBy": held_by.hex()}


class JsBridge:
    """The node as JS sees it: ``js/index.mjs`` wraps each method in camelCase and calls it
    through :meth:`invoke`; the methods take JS values and return plain Python values."""

    def __init__(self, client: Client, emit, vnode_db, kept_session=None) -> None:
        self.client = client
        self._emit = emit
        self._emit_fields = getattr(emit, "fields", None)  # emit(name, detail) with detail's values as arguments
        self._keys: dict[tuple[str, ...], object] = {}
        self._vnode_db = vnode_db
        self._kept_session = kept_session
        self._warming: asyncio.Future | None = None  # start()'s warm-up, stopped by close()
        client.on(self._event)

    def _event(self, event: ApiEvent) -> None:
        (self._emit if self._emit_fields is None else self._emit_fields)(event.name, *self._arguments(event))

    def _arguments(self, event: ApiEvent) -> tuple:
        """What follows the event's name in the call to ``emit`` (its JSON form, converted) or
        ``emit.fields`` (its field names, made once as a JS array, then each value)."""
        detail = event.to_json()
        if self._emit_fields is None:
            return (_js(detail),)
        names = tuple(detail)
        keys = self._keys.get(names)
        if keys is None:
            keys = self._keys[names] = _js(list(names))
        return (keys, *map(_field, detail.values()))

    def invoke(self, method: str, *args):
        """JS's one door: ``method(*args)`` settled into ``{ok, value}`` / ``{ok: false, error}``
        (a Promise of it when the method is async)."""
        if method not in _JS_METHODS:
            return _failed(InvalidArgument(f"no method {str(method)[:60]!r}"))
        try:
            result = getattr(self, method)(*args)
        except Exception as e:  # as in _settle
            return _failed(e)
        return _settle(result) if inspect.isawaitable(result) else _ok(result)

    @property
    def address(self) -> str:
        return self.client.address.hex()

    def accounts_changed(self, accounts) -> None:
        """The wallet's ``accountsChanged``: an event; the session stays with :attr:`address`."""
        self.client.emit(AccountsChanged(tuple(_py(accounts)), self.client.address))

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

    def _sent(self, did: str, options, send):
        """``send(encrypt)``: at once in the clear (as before encryption: no Promise per message),
        after :meth:`Client.session_key` (a coroutine) when ``options.encrypt``."""
        if not api_args.send_options(_py(options)):
            return str(send(False))

        async def with_key() -> str:
            await self.client.session_key(did)
            return str(send(True))
        return with_key()

    def send_message(self, did: str, data, options=None):
        return self._sent(did, options, lambda encrypt: self.client.send_message(did, _bytes(data), encrypt=encrypt))

    def send_raw_body(self, did: str, body) -> str:
        return str(self.client.send_raw_body(did, _bytes(body)))

    def send_simple_text_message(self, did: str, text: str, options=None):
        return self._sent(did, options, lambda encrypt: self.client.send_simple_text_message(did, text, encrypt=encrypt))

    def send_custom_message(self, did: str, message_type: int, data, options=None):
        return self._sent(did, options, lambda encrypt: self.client.send_custom_message(
            did, message_type, _bytes(data), encrypt=encrypt))

    async def send_http_request(self, did: str, request):
        """``request``: ``{name, method, path, headers?, body? (Uint8Array), timeout? (ms)}``;
        resolves with ``{status, headers, body}`` from ``did``'s HTTP backend."""
        response = await self.client.send_http_request(did, _py(request))
        return {"status": response.status, "headers": response.headers, "body": response.body}

    def list_peers(self):
        return [_peer(p) for p in self.client.list_peers()]

    def get_peer(self, did: str):
        return _peer(self.client.get_peer(did))

    def disconnect(self, did: str) -> None:
        self.client.disconnect(did)

    async def storage_store(self, text: str) -> str:
        return (await self.client.storage_store(text)).hex()

    async def storage_fetch(self, did: str):
        found = await self.client.storage_locate(did)
        return None if found is None else _vnode(*found)

    async def publish_message_to_topic(self, topic: str, text: str) -> None:
        await self.client.publish_message_to_topic(topic, text)

    async def fetch_messages_of_topic(self, topic: str, index: int = 0):
        return await self.client.fetch_messages_of_topic(topic, index)

    async def register_service(self, name: str) -> None:
        await self.client.register_service(name)

    async def lookup_service(self, name: str):
        return [d.hex() for d in await self.client.lookup_service(name)]

    def node_info(self):
        return self.client.node_info()

    def decode(self, *inputs: str):
        """The dissector (``rings-web decode``): canonical 0.2.5 JSON of frames (hex), a
        handshake string or base58-monero-check text."""
        found = dissect([str(i) for i in inputs])
        return {"kind": found.kind, "json": found.json}

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
        self.client.close()
        if self._vnode_db is not None:
            await self._vnode_db.flush()
            self._vnode_db.close()
        if self._kept_session is not None:
            self._kept_session.close()
            self._kept_session = None

    async def logout(self) -> None:
        """Forget the kept session (the next load asks the wallet to sign again) and close."""
        if self._kept_session is not None:
            await self._kept_session.delete()
        await self.close()


#: what :meth:`JsBridge.invoke` may call: the public methods
_JS_METHODS = frozenset(name for name, v in vars(JsBridge).items() if inspect.isfunction(v) and name[0] != "_"
                        and name != "invoke")
