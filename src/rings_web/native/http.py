"""The native node's HTTP endpoint: JSON-RPC on ``POST /``, ``GET /status``, CORS for any page.

Built on h11 (sans-IO HTTP/1.1) over asyncio streams, and bounded wherever a client could hold
it: at most ``max_connections`` at once, and when full the connection waiting longest for its
request makes room (slow senders cannot lock others out); a request must arrive whole within
``request_timeout`` seconds of the wait starting, however it trickles; bodies over ``max_body``
get 413 and the bodies being received share ``max_buffered`` bytes (503 beyond); a POST body
must be ``application/json`` (so a web page must pass a CORS preflight to send one).  Every
request gets an answer, a JSON-RPC error for the unexpected (logged), and no input stops the
server.
"""

from __future__ import annotations

import asyncio
import json
import resource
import ssl
from typing import Callable

import h11

from .. import __version__
from ..errors import InvalidArgument
from .jsonrpc import INTERNAL_ERROR, INVALID_REQUEST, JsonRpc

__all__ = ["HttpServer", "tls_context"]

CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
]
BUSY = -32000


def _no_log(event: str, fields: dict) -> None:
    pass


class _Refused(Exception):
    """Answer ``status`` with a JSON-RPC error, then close."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


class HttpServer:
    """Serve ``rpc`` on ``host:port`` (127.0.0.1 by default; port 0 picks a free one), over TLS
    when ``tls`` is given (:func:`tls_context`).

    ``log(event, fields)`` hears about floods and unexpected errors.
    """

    def __init__(self, rpc: JsonRpc, host: str = "127.0.0.1", port: int = 50000, max_body: int = 1 << 20,
                 request_timeout: float = 30.0, max_connections: int = 1000, max_buffered: int = 64 << 20,
                 log: Callable[[str, dict], None] = _no_log, tls: ssl.SSLContext | None = None) -> None:
        self.rpc, self.host, self.port, self.log, self.tls = rpc, host, port, log, tls
        self.max_body, self.request_timeout, self.max_buffered = max_body, request_timeout, max_buffered
        # half the descriptors at most: accept() failing with EMFILE logged a traceback per try (15 MB a minute)
        fds = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self.max_connections = max_connections if fds == resource.RLIM_INFINITY else min(max_connections, fds // 2)
        self._server: asyncio.base_events.Server | None = None
        self._live: set[asyncio.StreamWriter] = set()  # open and not dropped
        self._waiting: dict[asyncio.StreamWriter, None] = {}  # waiting for a request, oldest first
        self._buffered = 0
        self._shed: int | None = None  # connections dropped in the current flood; None = no flood

    async def start(self) -> int:
        # a TLS handshake must end within request_timeout too (asyncio's default is 60 s)
        handshake = {"ssl": self.tls, "ssl_handshake_timeout": self.request_timeout} if self.tls else {}
        self._server = await asyncio.start_server(self._serve, self.host, self.port, backlog=512, **handshake)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._waiting):
                writer.transport.abort()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}/"

    def _make_room(self) -> bool:
        """At the cap: drop the connection waiting longest for its request (False: none waits)."""
        if self._shed is None:
            self._shed = 0
            self.log("HttpFlood", {"connections": len(self._live), "cap": self.max_connections})
        if not self._waiting:
            return False
        oldest = next(iter(self._waiting))
        del self._waiting[oldest]
        self._live.discard(oldest)
        oldest.transport.abort()
        self._shed += 1
        return True

    def _closed(self, writer: asyncio.StreamWriter) -> None:
        self._waiting.pop(writer, None)
        self._live.discard(writer)
        writer.close()
        if self._shed is not None and len(self._live) < self.max_connections // 2:
            self.log("HttpFloodOver", {"shed": self._shed})
            self._shed = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self._live) >= self.max_connections and not self._make_room():
            self._shed += 1
            writer.transport.abort()
            return
        self._live.add(writer)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                self._waiting[writer] = None
                try:
                    request, body = await asyncio.wait_for(self._read_request(conn, reader), self.request_timeout)
                finally:
                    self._waiting.pop(writer, None)
                if request is None:
                    break
                status, payload, ctype = await self._handle(request, body)
                await asyncio.wait_for(self._respond(writer, conn, status, payload, ctype), self.request_timeout)
                if conn.our_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except h11.RemoteProtocolError as e:
            await self._refuse(reader, writer, conn, _Refused(e.error_status_hint, INVALID_REQUEST, f"bad HTTP request: {e}"[:200]))
        except _Refused as e:
            await self._refuse(reader, writer, conn, e)
        except (asyncio.TimeoutError, ConnectionError, h11.LocalProtocolError):
            pass
        except Exception as e:  # pragma: no cover - a bug; answered and logged, the server goes on
            self.log("HttpServerError", {"error": f"{type(e).__name__}: {e}"[:300]})
            await self._refuse(reader, writer, conn, _Refused(500, INTERNAL_ERROR, "Internal error"))
        finally:
            self._closed(writer)

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader):
        head = bytearray(conn.trailing_data[0])  # the raw head, for what h11 folds away
        request, chunks, size = None, [], 0
        try:
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    if request is None:
                        head += data
                    conn.receive_data(data)
                    continue
                if isinstance(event, h11.Request):
                    request = event
                    _check_head(bytes(head), self.max_body)
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    self._buffered += len(event.data)
                    if size > self.max_body:
                        raise _Refused(413, INVALID_REQUEST, "body too large")
                    if self._buffered > self.max_buffered:
                        raise _Refused(503, BUSY, "server busy")
                    chunks.append(event.data)
                elif isinstance(event, h11.EndOfMessage):
                    return request, b"".join(chunks)
                elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return None, b""
        finally:
            self._buffered -= size

    async def _respond(self, writer: asyncio.StreamWriter, conn: h11.Connection, status: int, payload: bytes,
                       ctype: bytes, *extra: tuple[bytes, bytes]) -> None:
        headers = [(b"content-type", ctype), (b"content-length", str(len(payload)).encode()),
                   (b"x-node-version", __version__.encode()), *extra, *CORS]
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        writer.write(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
        await writer.drain()

    async def _refuse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: h11.Connection,
                      refusal: _Refused) -> None:
        """Answer with a JSON-RPC error and close, if the exchange still allows a response."""
        if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE) or writer.transport.is_closing():
            return
        body = json.dumps({"jsonrpc": "2.0", "error": {"code": refusal.code, "message": str(refusal)}, "id": None}).encode()
        try:
            await asyncio.wait_for(self._respond(writer, conn, refusal.status, body, b"application/json",
                                                 (b"connection", b"close")), 5.0)
            writer.write_eof()
            self._waiting[writer] = None  # a flood may take the slot meanwhile
            await self._discard(reader)
        except (h11.LocalProtocolError, ConnectionError, asyncio.TimeoutError, OSError):
            pass

    async def _discard(self, reader: asyncio.StreamReader, limit: int = 64 << 20, seconds: float = 5.0) -> None:
        """Read and drop what the client still sends, bounded in bytes and time: closing with
        unread input would reset the answer away."""
        loop = asyncio.get_running_loop()
        deadline, seen = loop.time() + seconds, 0
        while seen < limit and (left := deadline - loop.time()) > 0:
            chunk = await asyncio.wait_for(reader.read(1 << 16), left)
            if not chunk:
                return
            seen += len(chunk)

    async def _handle(self, request: h11.Request, body: bytes) -> tuple[int, bytes, bytes]:
        path = request.target.split(b"?")[0]
        if request.method == b"OPTIONS":
            return 200, b"", b"text/plain"
        if request.method == b"GET" and path == b"/status":
            return 200, json.dumps({"status": "ok", "did": self.rpc.client.address.hex()}).encode(), b"application/json"
        if request.method == b"POST" and path == b"/":
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers}
            if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
                raise _Refused(415, INVALID_REQUEST, "Content-Type must be application/json")
            reply = await self.rpc.dispatch(body, headers)
            return 200, reply or b"", b"application/json"
        return 404, b"not found", b"text/plain"


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    """A server context from a PEM certificate chain and its key (TLS 1.2 at least).

    Raises:
        InvalidArgument: a file is missing or unreadable, not PEM, or the key does not match.
    """
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert_file, key_file)
    except OSError as e:  # ssl.SSLError is an OSError; FileNotFoundError has no useful str() beyond strerror
        detail = e.strerror if e.strerror and not isinstance(e, ssl.SSLError) else getattr(e, "reason", None) or str(e)
        raise InvalidArgument(f"cannot load the TLS certificate {cert_file} and key {key_file}: {detail}") from None
    return context


def _check_head(head: bytes, max_body: int) -> None:
    """Refuse a second Content-Length (h11 folds equal ones; a proxy in front might not) and a
    declared length over ``max_body`` before any of the body arrives."""
    lines = head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]
    lengths = [v.strip() for name, _, value in (ln.partition(b":") for ln in lines)
               if name.strip().lower() == b"content-length" for v in value.split(b",")]
    if len(lengths) > 1:
        raise _Refused(400, INVALID_REQUEST, "more than one Content-Length")
    if lengths and lengths[0].isdigit() and int(lengths[0]) > max_body:
        raise _Refused(413, INVALID_REQUEST, "body too large")
