"""The argument checks of the application API, in one place.

:class:`~rings_web.client.Client` checks every argument with these and turns user values into
wire values; the platform layers (the browser node, the JSON-RPC server) only translate their
calling conventions and leave the checking to the Client.  Each checker returns the value in
its wire form or raises :class:`~rings_web.errors.InvalidArgument` naming the argument.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from .did import Did
from .errors import DecodeError, InvalidArgument
from .message.custom import HttpRequest

__all__ = ["did", "text", "data", "flag", "rpc_encrypt", "send_options", "u16", "index", "http_url", "http_request", "base64_bytes", "MAX_HTTP_TIMEOUT_MS"]

MAX_HTTP_TIMEOUT_MS = 300_000


def _kind(value: Any) -> str:
    return type(value).__name__


# the last DID text parsed and its Did: a dApp sends to one peer many times in a row (a parse
# was ~50 us of a ~2 ms send in a sending page's profile)
_last_did: tuple[str, Did] = ("", Did(0))


def did(value: Any, what: str = "did") -> Did:
    """A Did, or 40 hex digits with or without ``0x`` (any case)."""
    global _last_did
    if isinstance(value, Did):
        return value
    if not isinstance(value, str):
        raise InvalidArgument(f"{what} must be a DID string, got {_kind(value)}")
    if value == _last_did[0]:
        return _last_did[1]
    try:
        parsed = Did.parse(value)
    except DecodeError as e:
        raise InvalidArgument(f"{what}: {e}") from None
    _last_did = (value, parsed)
    return parsed


def text(value: Any, what: str) -> str:
    if isinstance(value, str):
        return value
    raise InvalidArgument(f"{what} must be a string, got {_kind(value)}")


def data(value: Any, what: str) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise InvalidArgument(f"{what} must be bytes, got {_kind(value)}")


def flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    raise InvalidArgument(f"{what} must be a boolean, got {_kind(value)}")


def rpc_encrypt(value: Any) -> bool:
    """The optional ``encrypt`` param of a JSON-RPC send: absent or null is False."""
    return False if value is None else flag(value, "encrypt")


def send_options(value: Any) -> bool:
    """The ``{encrypt?}`` options of a send (JS's last argument); returns ``encrypt``."""
    if value is None:
        return False
    if not isinstance(value, Mapping) or set(value) - {"encrypt"}:
        raise InvalidArgument(f"options must be an object {{encrypt?}}, got {value!r:.60}")
    return flag(value.get("encrypt", False), "options.encrypt")


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def u16(value: Any, what: str) -> int:
    if _integer(value) and 0 <= value <= 0xFFFF:
        return value
    raise InvalidArgument(f"{what} must be an integer 0..65535, got {value!r:.40}")


def index(value: Any, what: str = "index") -> int:
    if _integer(value) and value >= 0:
        return value
    raise InvalidArgument(f"{what} must be a non-negative integer, got {value!r:.40}")


def http_url(value: Any, what: str = "url") -> str:
    url = text(value, what)
    if not url.startswith(("http://", "https://")):
        raise InvalidArgument(f"{what}: not an http(s) URL: {url[:80]!r}")
    return url


def http_request(value: Any) -> HttpRequest:
    """An :class:`HttpRequest`, or a mapping ``{name, method?="GET", path, headers?, body?, timeout?}``
    (body: bytes; timeout: 1..300 000 ms, default 30 000)."""
    if isinstance(value, HttpRequest):
        value = {f: getattr(value, f) for f in HttpRequest.__dataclass_fields__}
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"request must be an object {{name, method, path, headers?, body?, timeout?}}, got {_kind(value)}")
    headers = value.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise InvalidArgument("request.headers must map strings to strings")
    timeout = value.get("timeout", 30_000)
    if not _integer(timeout) or not 0 < timeout <= MAX_HTTP_TIMEOUT_MS:
        raise InvalidArgument(f"request.timeout must be 1..{MAX_HTTP_TIMEOUT_MS} ms, got {timeout!r:.40}")
    body = value.get("body")
    return HttpRequest(text(value.get("name"), "request.name"), text(value.get("method", "GET"), "request.method"),
                       text(value.get("path"), "request.path"), timeout, dict(headers),
                       data(body, "request.body") if body is not None else None)


def base64_bytes(value: Any, what: str) -> bytes:
    """Bytes given as base64 text (JSON-RPC's form of bytes)."""
    encoded = text(value, what)
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        raise InvalidArgument(f"{what} must be base64") from None
