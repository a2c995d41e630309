"""The native node's HTTP endpoint: JSON-RPC on ``POST /``, ``GET /status``, permissive CORS.

Built on h11 (sans-IO HTTP/1.1) over asyncio streams.  Every connection is bounded: bodies
over ``max_body`` get 413, a client idle for ``idle_timeout`` seconds is dropped, and no input
stops the server.
"""

from __future__ import annotations

import asyncio
import json

import h11

from .. import __version__
from .jsonrpc import JsonRpc

__all__ = ["HttpServer"]

CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-allow-headers", b"*"),
    (b"access-control-allow-methods", b"POST, GET, OPTIONS"),
]


class HttpServer:
    """Serve ``rpc`` on ``host:port`` (127.0.0.1 by default; port 0 picks a free one)."""

    def __init__(self, rpc: JsonRpc, host: str = "127.0.0.1", port: int = 50000,
                 max_body: int = 1 << 20, idle_timeout: float = 30.0) -> None:
        self.rpc, self.host, self.port = rpc, host, port
        self.max_body, self.idle_timeout = max_body, idle_timeout
        self._server: asyncio.base_events.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = await self._read_request(conn, reader)
                if request is None:
                    break
                status, payload, ctype = await self._handle(request, body)
                headers = [(b"content-type", ctype), (b"content-length", str(len(payload)).encode()),
                           (b"x-node-version", __version__.encode()), *CORS]
                writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
                writer.write(conn.send(h11.Data(data=payload)) + conn.send(h11.EndOfMessage()))
                await writer.drain()
                if conn.our_state is h11.MUST_CLOSE:
                    break
                conn.start_next_cycle()
        except (h11.RemoteProtocolError, asyncio.TimeoutError, ConnectionError):
            pass
        except _TooLarge:
            try:
                body = json.dumps({"jsonrpc": "2.0", "error": {"code": -32600, "message": "body too large"}, "id": None}).encode()
                writer.write(conn.send(h11.Response(status_code=413, headers=[
                    (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"), *CORS])) + conn.send(h11.Data(data=body)) + conn.send(h11.EndOfMessage()))
                await writer.drain()
                writer.write_eof()
                await self._discard(reader)  # closing with unread input would reset the 413 away
            except (h11.LocalProtocolError, ConnectionError, asyncio.TimeoutError):
                pass
        finally:
            writer.close()

    async def _read_request(self, conn: h11.Connection, reader: asyncio.StreamReader):
        request, chunks, size = None, [], 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await asyncio.wait_for(reader.read(65536), self.idle_timeout)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Request):
                request = event
                length = dict(event.headers).get(b"content-length")
                if length is not None and length.isdigit() and int(length) > self.max_body:
                    raise _TooLarge()
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_body:
                    raise _TooLarge()
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return request, b"".join(chunks)
            elif isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                return None, b""

    async def _discard(self, reader: asyncio.StreamReader, limit: int = 64 << 20, seconds: float = 5.0) -> None:
        """Read and drop what the client still sends, bounded in bytes and time."""
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
            reply = await self.rpc.dispatch(body, headers)
            return 200, reply or b"", b"application/json"
        return 404, b"not found", b"text/plain"


class _TooLarge(Exception):
    pass
