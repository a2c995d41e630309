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
from collections import deque
from typing import Any, Awaitable, Callable

from ..client import Client, Message, PeerInfo
from ..did import Did
from ..drivers.aio import AsyncNode
from ..errors import DecodeError, RingsError
from ..engine.events import MessageReceived
from ..message.backend import HttpRequest
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


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _did(value: Any) -> Did:
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, "a DID string expected")
    try:
        return Did.parse(value)
    except DecodeError as e:
        raise RpcError(INVALID_PARAMS, str(e)) from None


def _peer_json(peer: PeerInfo) -> dict:
    return {"did": peer.did.hex(), "transport_id": peer.transport_id, "state": peer.state}


def _str(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise RpcError(INVALID_PARAMS, f"{what} must be a string")
    return value


class JsonRpc:
    """The method table, bound to one :class:`AsyncNode`.

    Args:
        node: the node the methods act on.
        token: the expected ``X-SIGNATURE`` (see :func:`auth_token`).
        log: ``log(event, fields)`` hears about unexpected errors (answered -32603).
    """

    def __init__(self, node: AsyncNode, token: str, log: Callable[[str, dict], None] = lambda event, fields: None) -> None:
        from .http_client import http_post_json

        self.node = node
        self.client = Client(node, http_post_json)
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
        self._inbox: deque[MessageReceived] = deque(maxlen=INBOX_SIZE)
        self._arrived = asyncio.Event()
        node.on_event(self._collect)

    async def dispatch(self, body: bytes, headers: dict[str, str]) -> bytes | None:
        """One HTTP body in, one out; errors become JSON-RPC error objects."""
        try:
            request = json.loads(body, parse_constant=_not_json)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: ~1 000 levels of nesting
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
        if isinstance(event, MessageReceived):
            self._inbox.append(event)
            self._arrived.set()

    # -- methods --------------------------------------------------------------------------------
    async def answer_offer(self, params: Any) -> Any:
        answer = await self.client.answer_offer(_str(self._params(params, 1)[0], "offer"))
        return PAYLOAD.to_json(payload_from_json(answer))  # an object, as 0.2.5 returns it

    async def connect_peer_via_http(self, params: Any) -> Any:
        return await self.client.connect_peer_via_http(_str(self._params(params, 1)[0], "url"))

    async def connect_with_seed(self, params: Any) -> Any:
        seed = self._params(params, 1)[0]
        peers = seed.get("peers") if isinstance(seed, dict) else None
        if not isinstance(peers, list) or not all(isinstance(p, dict) for p in peers):
            raise RpcError(INVALID_PARAMS, 'expected {"peers": [{"did", "endpoint"}]}')
        for peer in peers:
            if self.client.get_peer(_did(peer.get("did"))) is None:
                await self.client.connect_peer_via_http(_str(peer.get("endpoint"), "endpoint"))
        return None

    async def create_offer(self, params: Any) -> Any:
        return wire_json.loads(await self.client.create_offer())

    async def accept_answer(self, params: Any) -> Any:
        peer = await self.client.accept_answer(_str(self._params(params, 1)[0], "answer"))
        return _peer_json(peer)

    async def connect_with_did(self, params: Any) -> Any:
        await self.client.connect_with_address(_did(self._params(params, 1)[0]))
        return None

    async def list_peers(self, params: Any) -> Any:
        return [_peer_json(p) for p in self.client.list_peers()]

    async def disconnect(self, params: Any) -> Any:
        self.client.disconnect(_did(self._params(params, 1)[0]))
        return {}

    async def send_simple_text(self, params: Any) -> Any:
        p = self._params(params, 2)
        return {"tx_id": str(self.client.send_simple_text_message(_did(p[0]), _str(p[1], "text")))}

    async def send_custom_message(self, params: Any) -> Any:
        p = self._params(params, 3)
        if not isinstance(p[1], int) or isinstance(p[1], bool) or not 0 <= p[1] <= 0xFFFF:
            raise RpcError(INVALID_PARAMS, "message_type must be a u16")
        try:
            data = base64.b64decode(_str(p[2], "data"), validate=True)
        except ValueError:
            raise RpcError(INVALID_PARAMS, "data must be base64") from None
        return {"tx_id": str(self.client.send_custom_message(_did(p[0]), p[1], data))}

    async def send_to(self, params: Any) -> Any:
        """0.2.5's ``sendTo``: named params, body = flag header + raw text (no BackendMessage)."""
        if not isinstance(params, dict):
            raise RpcError(INVALID_PARAMS, "expected {destination, text}")
        text = _str(params.get("text"), "text")
        return {"tx_id": str(self.client.send_message(_did(params.get("destination")), text.encode()))}

    async def send_http_request_message(self, params: Any) -> Any:
        """0.2.5's ``sendHttpRequestMessage``; beyond 0.2.5 (which returns only the tx_id) the
        call waits for the response and returns it too: ``{tx_id, response: {status, headers, body}}``."""
        p = self._params(params, 2)
        req = p[1]
        if not isinstance(req, dict):
            raise RpcError(INVALID_PARAMS, 'expected {"name", "method", "path", "timeout"?, "headers", "body"?}')
        headers = req.get("headers", {})
        timeout = req.get("timeout", 30_000)
        if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise RpcError(INVALID_PARAMS, "headers must map strings to strings")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 0 < timeout <= 300_000:
            raise RpcError(INVALID_PARAMS, "timeout must be 1..300000 ms")
        body = req.get("body")
        if body is not None:
            try:
                body = base64.b64decode(_str(body, "body"), validate=True)
            except ValueError:
                raise RpcError(INVALID_PARAMS, "body must be base64") from None
        request = HttpRequest(_str(req.get("name"), "name"), _str(req.get("method"), "method"), _str(req.get("path"), "path"),
                              timeout, headers, body)
        tx_id, response = self.client.start_http_request(_did(p[0]), request)
        r = await response
        return {"tx_id": str(tx_id), "response": {"status": r.status, "headers": r.headers,
                                                   "body": base64.b64encode(r.body).decode() if r.body is not None else None}}

    async def publish_message_to_topic(self, params: Any) -> Any:
        p = self._params(params, 2)
        await self.client.publish_message_to_topic(_str(p[0], "topic"), _str(p[1], "text"))
        return {}

    async def fetch_messages_of_topic(self, params: Any) -> Any:
        p = self._params(params, 2)
        if not isinstance(p[1], int) or isinstance(p[1], bool) or p[1] < 0:
            raise RpcError(INVALID_PARAMS, "index must be a non-negative integer")
        return await self.client.fetch_messages_of_topic(_str(p[0], "topic"), p[1])

    async def register_service(self, params: Any) -> Any:
        await self.client.register_service(_str(self._params(params, 1)[0], "name"))
        return {}

    async def lookup_service(self, params: Any) -> Any:
        return [d.bare() for d in await self.client.lookup_service(_str(self._params(params, 1)[0], "name"))]

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
        msg = Message.from_event(self._inbox.popleft())
        return {"message": {"message_type": msg.message_type or 0, "data": base64.b64encode(msg.data).decode()}}

    async def list_pendings(self, params: Any) -> Any:
        return [{"transport_id": t, "state": "new"} for t in self.node.node.pending_transport_ids]

    async def close_pending_transport(self, params: Any) -> Any:
        tid = _str(self._params(params, 1)[0], "transport_uuid")
        if tid not in self.node.node.pending_transport_ids:
            raise RpcError(NODE_ERROR, f"no pending transport {tid[:40]}")
        self.node.close_transport(tid)
        return {}

    async def node_info(self, params: Any) -> Any:
        return self.client.node_info()
