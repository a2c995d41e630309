"""JSON-RPC 2.0 methods of the native node, compatible with rings-node 0.2.5 (SPEC §7.2).

``dispatch(text, headers)`` takes a request body and returns the response body (or None for
a notification); it never raises.  Methods marked *auth* need the header ``X-SIGNATURE:
base64(r||s)`` of Keccak-256("rings-node: " + the node's address as 40 hex digits) signed by
the node key -- a static token, as 0.2.5 has it.  Beyond 0.2.5, the methods that make the node
reach out to a URL (``connectPeerViaHttp``, ``connectWithSeed``) or hand out received messages
(``pollMessage``) need it too: any web page may post to this endpoint (docs/INTEROP.md).
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import re
from collections import deque
from typing import Any, Awaitable, Callable

from .. import api_args
from ..api_events import Message
from ..client import Client, PeerInfo
from ..did import Did
from ..errors import InvalidArgument, RingsError
from ..message.payload import payload_from_json
from ..wire import json as wire_json
from ..wire.types import PAYLOAD

__all__ = ["JsonRpc", "auth_token", "PARSE_ERROR", "INVALID_REQUEST", "METHOD_NOT_FOUND", "INVALID_PARAMS", "INTERNAL_ERROR"]

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND, INVALID_PARAMS, INTERNAL_ERROR = -32700, -32600, -32601, -32602, -32603
NODE_ERROR, UNAUTHORIZED = -32000, -32001
INBOX_SIZE = 1024  # messages kept for pollMessage
POLL_WAIT_S = 10.0


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def auth_token(sign: Callable[[bytes], bytes], crypto, address: Did) -> str:
    """The ``X-SIGNATURE`` value: base64 of r||s over keccak("rings-node: " + bare address)."""
    digest = crypto.keccak256(f"rings-node: {address.bare()}".encode())
    return base64.b64encode(sign(digest)[:64]).decode()


# json's C parser recurses once per level: 1 000 levels raise RecursionError at the default
# limit, but under a raised limit (Hypothesis raises it) 100 000 '[' overflowed the C stack
# and killed the process. No 0.2.5 method takes more than a few levels.
MAX_NESTING = 64
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting(body: bytes) -> int:
    """How deep arrays and objects nest in ``body`` (brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_NESTING:
        return 0
    depth = deepest = 0
    for token in _TOKENS.finditer(body):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif bracket in (b"]", b"}"):
            depth -= 1
    return deepest


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _peer_json(peer: PeerInfo) -> dict:
    return {"did": peer.did.hex(), "transport_id": peer.transport_id, "state": peer.state}


class JsonRpc:
    """The method table over one :class:`Client`: each method translates its JSON-RPC params
    to a Client call (which checks them) and the result to 0.2.5's JSON.

    Args:
        client: the node the methods act on.
        token: the expected ``X-SIGNATURE`` (see :func:`auth_token`).
        log: ``log(event, fields)`` hears about unexpected errors (answered -32603).
    """

    def __init__(self, client: Client, token: str, log: Callable[[str, dict], None] = lambda event, fields: None) -> None:
        self.client = client
        self.token, self.log = token.encode(), log
        self.methods: dict[str, tuple[Callable[[Any], Awaitable[Any]], bool]] = {
            "answerOffer": (self.answer_offer, False),
            "connectPeerViaHttp": (self.connect_peer_via_http, True),
            "connectWithSeed": (self.connect_with_seed, True),
            "nodeInfo": (self.node_info, False),
            "createOffer": (self.create_offer, True),
            "acceptAnswer": (self.accept_answer, True),
            "connectWithDid": (self.connect_with_did, True),
            "listPeers": (self.list_peers, True),
            "disconnect": (self.disconnect, True),
            "sendSimpleText": (self.send_simple_text, True),
            "sendCustomMessage": (self.send_custom_message, True),
            "sendTo": (self.send_to, True),
            "sendHttpRequestMessage": (self.send_http_request_message, True),
            "publishMessageToTopic": (self.publish_message_to_topic, True),
            "fetchMessagesOfTopic": (self.fetch_messages_of_topic, True),
            "registerService": (self.register_service, True),
            "lookupService": (self.lookup_service, True),
            "pollMessage": (self.poll_message, True),
            "listPendings": (self.list_pendings, True),
            "closePendingTransport": (self.close_pending_transport, True),
        }
        self._inbox: deque[Message] = deque(maxlen=INBOX_SIZE)
        self._arrived = asyncio.Event()
        client.on(self._collect)

    async def dispatch(self, body: bytes, headers: dict[str, str]) -> bytes | None:
        """One HTTP body in, one out; errors become JSON-RPC error objects."""
        if _nesting(body) > MAX_NESTING:
            return self._error(None, PARSE_ERROR, f"Parse error: nested deeper than {MAX_NESTING}")
        try:
            request = json.loads(body, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return self._error(None, PARSE_ERROR, "Parse error")
        rid = request.get("id") if isinstance(request, dict) else None
        if not isinstance(rid, (str, int, float, type(None))) or isinstance(rid, bool):
            return self._error(None, INVALID_REQUEST, "Invalid Request: id must be a string, number or null")
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or not isinstance(request.get("method"), str):
            return self._error(rid, INVALID_REQUEST, "Invalid Request")
        entry = self.methods.get(request["method"])
        if entry is None:
            return self._error(rid, METHOD_NOT_FOUND, "Method not found")
        method, needs_auth = entry
        if needs_auth and not hmac.compare_digest(headers.get("x-signature", "").encode("utf-8", "replace"), self.token):
            return self._error(rid, UNAUTHORIZED, "missing or invalid X-SIGNATURE")
        try:
            result = await method(request.get("params", []))
            if "id" not in request:
                return None
            return json.dumps({"jsonrpc": "2.0", "result": result, "id": rid}, allow_nan=False).encode()
        except RpcError as e:
            return self._error(rid, e.code, str(e))
        except InvalidArgument as e:
            return self._error(rid, INVALID_PARAMS, str(e))
        except RingsError as e:
            return self._error(rid, NODE_ERROR, f"{type(e).__name__}: {e}")
        except Exception as e:  # a bug: the caller still gets an answer, the operator a log line
            self.log("RpcError", {"method": request["method"][:64], "error": f"{type(e).__name__}: {e}"[:300]})
            return self._error(rid, INTERNAL_ERROR, "Internal error")

    @staticmethod
    def _error(rid: Any, code: int, message: str) -> bytes:
        return json.dumps({"jsonrpc": "2.0", "error": {"code": code, "message": message}, "id": rid}).encode()

    @staticmethod
    def _params(params: Any, n: int) -> list:
        if not isinstance(params, list) or len(params) < n:
            raise RpcError(INVALID_PARAMS, f"expected a list of {n} params")
        return params

    def _collect(self, event) -> None:
        if isinstance(event, Message):
            self._inbox.append(event)
            self._arrived.set()

    # -- methods: JSON-RPC params in, Client calls, 0.2.5's JSON out ----------------------------
    async def answer_offer(self, params: Any) -> Any:
        answer = await self.client.answer_offer(self._params(params, 1)[0])
        return PAYLOAD.to_json(payload_from_json(answer))  # an object, as 0.2.5 returns it

    async def connect_peer_via_http(self, params: Any) -> Any:
        return await self.client.connect_peer_via_http(self._params(params, 1)[0])

    async def connect_with_seed(self, params: Any) -> Any:
        seed = self._params(params, 1)[0]
        peers = seed.get("peers") if isinstance(seed, dict) else None
        if not isinstance(peers, list) or not all(isinstance(p, dict) for p in peers):
            raise RpcError(INVALID_PARAMS, 'expected {"peers": [{"did", "endpoint"}]}')
        for peer in peers:
            if self.client.get_peer(peer.get("did")) is None:
                await self.client.connect_peer_via_http(peer.get("endpoint"))
        return None

    async def create_offer(self, params: Any) -> Any:
        return wire_json.loads(await self.client.create_offer())

    async def accept_answer(self, params: Any) -> Any:
        return _peer_json(await self.client.accept_answer(self._params(params, 1)[0]))

    async def connect_with_did(self, params: Any) -> Any:
        await self.client.connect_with_address(self._params(params, 1)[0])
        return None

    async def list_peers(self, params: Any) -> Any:
        return [_peer_json(p) for p in self.client.list_peers()]

    async def disconnect(self, params: Any) -> Any:
        self.client.disconnect(self._params(params, 1)[0])
        return {}

    async def _send(self, did: Any, encrypt: Any, send: Callable[[bool], Any]) -> dict:
        """``send(encrypt)``, once ``did``'s session key is known when ``encrypt`` (beyond 0.2.5:
        the optional last param of the sends); ``{tx_id}``."""
        encrypt = api_args.rpc_encrypt(encrypt)
        if encrypt:
            await self.client.session_key(did)
        return {"tx_id": str(send(encrypt))}

    async def send_simple_text(self, params: Any) -> Any:
        """``[destination, text, encrypt?]``."""
        p = self._params(params, 2)
        return await self._send(p[0], p[2] if len(p) > 2 else None,
                                lambda encrypt: self.client.send_simple_text_message(p[0], p[1], encrypt=encrypt))

    async def send_custom_message(self, params: Any) -> Any:
        """``[destination, message_type, base64 data, encrypt?]``."""
        p = self._params(params, 3)
        data = api_args.base64_bytes(p[2], "data")
        return await self._send(p[0], p[3] if len(p) > 3 else None,
                                lambda encrypt: self.client.send_custom_message(p[0], p[1], data, encrypt=encrypt))

    async def send_to(self, params: Any) -> Any:
        """0.2.5's ``sendTo``: named params ``{destination, text, encrypt?}``, body = flag header
        + raw text (no BackendMessage)."""
        if not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, "expected {destination, text, encrypt?}")
        text, did = api_args.text(params.get("text"), "text"), params.get("destination")
        return await self._send(did, params.get("encrypt"),
                                lambda encrypt: self.client.send_message(did, text.encode(), encrypt=encrypt))

    async def send_http_request_message(self, params: Any) -> Any:
        """0.2.5's ``sendHttpRequestMessage``; beyond 0.2.5 (which returns only the tx_id) the
        call waits for the response and returns it too: ``{tx_id, response: {status, headers, body}}``.
        Bodies are base64 both ways."""
        did, request = self._params(params, 2)[:2]
        if isinstance(request, dict) and request.get("body") is not None:
            request = {**request, "body": api_args.base64_bytes(request["body"], "request.body")}
        tx_id, response = self.client.start_http_request(did, request)
        r = await response
        return {"tx_id": str(tx_id), "response": {"status": r.status, "headers": r.headers,
                                                   "body": base64.b64encode(r.body).decode() if r.body is not None else None}}

    async def publish_message_to_topic(self, params: Any) -> Any:
        p = self._params(params, 2)
        await self.client.publish_message_to_topic(p[0], p[1])
        return {}

    async def fetch_messages_of_topic(self, params: Any) -> Any:
        p = self._params(params, 2)
        return await self.client.fetch_messages_of_topic(p[0], p[1])

    async def register_service(self, params: Any) -> Any:
        await self.client.register_service(self._params(params, 1)[0])
        return {}

    async def lookup_service(self, params: Any) -> Any:
        return [d.bare() for d in await self.client.lookup_service(self._params(params, 1)[0])]

    async def poll_message(self, params: Any) -> Any:
        wait = bool(self._params(params, 1)[0]) if params else False
        if not self._inbox and wait:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), POLL_WAIT_S)
            except asyncio.TimeoutError:
                pass
        if not self._inbox:
            return {"message": None}
        msg = self._inbox.popleft()
        return {"message": {"message_type": msg.message_type or 0, "data": base64.b64encode(msg.data).decode()}}

    async def list_pendings(self, params: Any) -> Any:
        return [{"transport_id": t, "state": "new"} for t in self.client.list_pendings()]

    async def close_pending_transport(self, params: Any) -> Any:
        self.client.close_pending_transport(self._params(params, 1)[0])
        return {}

    async def node_info(self, params: Any) -> Any:
        return self.client.node_info()
