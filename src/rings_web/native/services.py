"""The native node's HTTP backend: peers' HttpRequest messages served by local HTTP services.

A node that configures services (``{"name": "ipfs", "url": "http://127.0.0.1:5001"}``) answers a
BackendMessage HttpRequest (type 3) for ``name`` by requesting ``url + path`` itself, then sends
BackendMessage HttpResponse (type 4, gzip-9 of bincode) back along the request's path as flag-1
pieces, each a report with the request's tx_id -- as 0.2.5's native node does (SPEC §6.1).
Only the configured services are reachable; an unknown name is answered 404.
"""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

from ..client import Client, Message
from ..errors import RemoteError, RingsError
from ..message.custom import (
    BackendMessage, BackendType, HttpRequest, HttpResponse, decode_http_request, encode_http_response,
)

__all__ = ["HttpServices", "urllib_fetch"]

#: ``await fetch(url, request) -> HttpResponse``: one HTTP exchange for a service.
Fetch = Callable[[str, HttpRequest], Awaitable[HttpResponse]]
MAX_RESPONSE_BODY = 8 << 20  # bytes read from a service for one response
MAX_TIMEOUT_MS = 300_000  # a peer's request may ask for up to 2^64 ms; socket timeouts overflow past ~2^63 ns


async def urllib_fetch(url: str, request: HttpRequest) -> HttpResponse:
    """The CPython HTTP client (urllib in a worker thread); HTTP errors are responses too."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(url, data=request.body, method=request.method, headers=request.headers)

    def exchange() -> HttpResponse:
        try:
            with urllib.request.urlopen(req, timeout=min(max(request.timeout, 1), MAX_TIMEOUT_MS) / 1000) as r:
                return HttpResponse(r.status, dict(r.headers.items()), r.read(MAX_RESPONSE_BODY))
        except urllib.error.HTTPError as e:
            return HttpResponse(e.code, dict(e.headers.items()), e.read(MAX_RESPONSE_BODY))
        except (urllib.error.URLError, OSError, ValueError) as e:
            return HttpResponse(502, {"content-type": "text/plain"}, f"service unreachable: {e}".encode())

    return await asyncio.to_thread(exchange)


class HttpServices:
    """Serve ``services`` (name → base URL) to peers' HttpRequest messages through ``client``."""

    def __init__(self, client: Client, services: dict[str, str], fetch: Fetch = urllib_fetch,
                 log: Callable[[str, dict], None] = lambda event, fields: None) -> None:
        self.client, self.services, self.fetch, self.log = client, dict(services), fetch, log
        self._tasks: set[asyncio.Task] = set()
        client.on(self._on_event)

    def _on_event(self, event) -> None:
        if isinstance(event, Message) and event.message_type == BackendType.HttpRequest:
            task = asyncio.get_running_loop().create_task(self._serve(event))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _serve(self, message: Message) -> None:
        try:
            request = decode_http_request(message.data)
        except RemoteError as e:
            return self.log("HttpRequestRejected", {"origin": message.origin.hex(), "error": str(e)[:200]})
        base = self.services.get(request.name)
        if base is None:
            response = HttpResponse(404, {"content-type": "text/plain"}, f"no service {request.name[:80]!r}".encode())
        elif not request.path.startswith("/") or not request.path.isprintable() or " " in request.path:
            response = HttpResponse(400, {"content-type": "text/plain"}, b"path must start with / and have no spaces or controls")
        else:
            try:
                response = await self.fetch(base.rstrip("/") + request.path, request)
            except Exception as e:  # whatever the service or the request does, the peer gets an answer
                self.log("HttpServiceError", {"service": request.name[:80], "error": f"{type(e).__name__}: {e}"[:200]})
                response = HttpResponse(502, {"content-type": "text/plain"}, b"service request failed")
        self.log("HttpRequestServed", {"origin": message.origin.hex(), "service": request.name[:80], "status": response.status})
        reply = BackendMessage(BackendType.HttpResponse, encode_http_response(response))
        try:
            self.client.reply_backend_message(message, reply)
        except RingsError as e:  # the way back closed meanwhile
            self.log("HttpResponseLost", {"origin": message.origin.hex(), "error": str(e)[:200]})
