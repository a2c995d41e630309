"""The CPython JSON-RPC client of ``connect_peer_via_http``: one POST, bounded in every way.

The URL comes from whoever asks the node to connect, so the target is assumed hostile: one
deadline for the whole exchange (connect, send, headers, body), a cap on the reply's size, no
redirect followed, https:// certificates verified (the system's CAs, plus ``ca_file``), and errors that name what went wrong but never repeat the target's words
(an internal service's answer must not travel back inside an RPC error).  Built on asyncio
streams and h11: a trickling target holds a coroutine, not one of the executor's few threads.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from functools import lru_cache
from urllib.parse import urlsplit

from ..errors import LocalError

__all__ = ["http_post_json", "client_context", "node_url", "DEADLINE_S", "MAX_REPLY"]

DEADLINE_S = 30.0  # for the whole exchange, as 0.2.5's reqwest default
MAX_REPLY = 1 << 20  # an answerOffer reply is 2-4 KB


async def http_post_json(url: str, body: dict, timeout: float = DEADLINE_S, max_reply: int = MAX_REPLY,
                         ca_file: str | None = None):
    """POST ``body`` as JSON to ``url``; the decoded JSON-RPC success reply (a dict with ``result``).

    An https:// target must show a certificate for its host that the system's CAs or those in
    the PEM file ``ca_file`` vouch for.

    Raises:
        LocalError: bad URL, no connection, no complete reply within ``timeout`` seconds, a
            reply over ``max_reply`` bytes, a certificate not trusted (or ``ca_file`` unreadable), a status other than 2xx (redirects included), a
            body that is not a JSON-RPC response, or a JSON-RPC error (its code only).
    """
    where = f"POST {url[:200]}"
    try:
        import h11  # the native extra; imported here so that the module loads without it
    except ModuleNotFoundError:
        raise LocalError("an HTTP client needs h11: pip install 'rings-web[native]'") from None
    try:
        scheme, host, port, target = _parse(url)
    except ValueError:
        raise LocalError(f"{where}: not an http(s) URL with a host") from None
    try:
        tls = client_context(ca_file) if scheme == "https" else None
        status, raw = await asyncio.wait_for(_exchange(h11, tls, host, port, target, body, max_reply), timeout)
    except asyncio.TimeoutError:
        raise LocalError(f"{where}: no complete reply within {timeout:g} s") from None
    except _TooLarge:
        raise LocalError(f"{where}: reply over {max_reply} bytes") from None
    except ssl.SSLCertVerificationError as e:
        raise LocalError(f"{where}: TLS certificate not trusted ({e.verify_message})") from None
    except OSError as e:  # refused, unreachable, no such host, TLS (ssl.SSLError is an OSError)
        raise LocalError(f"{where}: connection failed ({type(e).__name__})") from None
    except h11.LocalProtocolError:  # h11 refuses the URL's path as a request target
        raise LocalError(f"{where}: not a valid request target") from None
    except h11.RemoteProtocolError:
        raise LocalError(f"{where}: the reply is not HTTP/1.1") from None
    if status == 0:
        raise LocalError(f"{where}: the reply is not HTTP/1.1")
    if 300 <= status < 400:
        raise LocalError(f"{where}: HTTP {status} (redirects are not followed)")
    if not 200 <= status < 300:
        raise LocalError(f"{where}: HTTP {status}")
    try:
        reply = json.loads(raw)
    except (ValueError, RecursionError):
        raise LocalError(f"{where}: the reply is not JSON") from None
    if not isinstance(reply, dict) or "result" not in reply:
        error = reply.get("error") if isinstance(reply, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        if isinstance(code, int) and not isinstance(code, bool):
            raise LocalError(f"{where}: JSON-RPC error {code}")
        raise LocalError(f"{where}: the reply is not a JSON-RPC response")
    return reply


def _parse(url: str) -> tuple[str, str, int, str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)  # .port raises ValueError when bad
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return parts.scheme, parts.hostname, port, target


@lru_cache(maxsize=8)  # loading the system's CAs takes milliseconds; a node asks with one ca_file
def client_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifies servers against the system's CAs and those in the PEM file ``ca_file``."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(ca_file)
    return context


def node_url(config, url: str | None = None) -> str:
    """A node's JSON-RPC URL: ``url`` (a URL or host:port) or its config's bind address, over
    https when the config names a certificate (a wildcard bind is asked on 127.0.0.1)."""
    where = (url or config.bind).rstrip("/")
    if "://" in where:
        return where + "/"
    host, _, port = where.rpartition(":")
    if host in ("0.0.0.0", "", "::", "[::]"):
        where = f"127.0.0.1:{port}"
    return f"{'https' if config.tls_cert else 'http'}://{where}/"


async def _exchange(h11, tls: ssl.SSLContext | None, host: str, port: int, target: str, body: dict,
                    max_reply: int) -> tuple[int, bytes]:
    data = json.dumps(body).encode()
    netloc = f"[{host}]" if ":" in host else host
    reader, writer = await asyncio.open_connection(host, port, ssl=tls)
    try:
        conn = h11.Connection(h11.CLIENT)
        writer.write(conn.send(h11.Request(method="POST", target=target, headers=[
            ("host", f"{netloc}:{port}"), ("content-type", "application/json"), ("accept", "application/json"),
            ("content-length", str(len(data))), ("connection", "close")])))
        writer.write(conn.send(h11.Data(data=data)) + conn.send(h11.EndOfMessage()))
        await writer.drain()
        status, chunks, size = 0, [], 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
                if not 200 <= status < 300:
                    return status, b""  # the body is never read: it is not ours to repeat
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > max_reply:
                    raise _TooLarge()
                chunks.append(event.data)
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                return status, b"".join(chunks)
    finally:
        writer.close()


class _TooLarge(Exception):
    pass
