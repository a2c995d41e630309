"""The rings-node application layer inside ``CustomMessage`` bodies (SPEC §6.1, §2.5).

Body = 4-byte header (byte 0: flag, 0 = raw, 1 = a bincode ``Chunk`` of a larger
BackendMessage; bytes 1-3 zero) + content.  A BackendMessage is ``message_type`` (u16
little endian) + 30 zero bytes + data.  Types: 2 SimpleText, 3 HttpRequest, 4 HttpResponse.
"""

from __future__ import annotations

import enum
import gzip
import zlib
from dataclasses import dataclass, field

from ..errors import DecodeError, InvalidArgument
from ..wire.buffer import Reader, Writer
from ..wire.chunk import split
from ..wire.codec import BYTES, STR, U16, U64, Field, Map, Opt, Struct

__all__ = [
    "BackendType", "BackendMessage", "HttpRequest", "HttpResponse", "HTTP_REQUEST", "HTTP_RESPONSE",
    "FLAG_RAW", "FLAG_CHUNK", "BACKEND_MTU", "raw_body", "backend_body", "chunked_bodies", "parse_body",
    "gzip_compress", "gzip_decompress", "encode_http_request", "decode_http_request",
    "encode_http_response", "decode_http_response",
]

FLAG_RAW = 0
FLAG_CHUNK = 1
BACKEND_MTU = 900_000
_HEADER = bytes(4)
_PADDING = bytes(30)
#: gunzipped HttpResponse bodies are capped so a small bomb cannot exhaust memory.
MAX_GUNZIP_SIZE = 16 * 1024 * 1024


class BackendType(enum.IntEnum):
    Unknown = 0
    Empty = 1
    SimpleText = 2
    HttpRequest = 3
    HttpResponse = 4


@dataclass(frozen=True, slots=True)
class BackendMessage:
    message_type: int  # u16; a BackendType or an application-defined number
    data: bytes

    def encode(self) -> bytes:
        return self.message_type.to_bytes(2, "little") + _PADDING + self.data

    @classmethod
    def decode(cls, raw: bytes) -> "BackendMessage":
        if len(raw) < 32:
            raise DecodeError(f"BackendMessage needs at least 32 bytes, got {len(raw)}")
        return cls(int.from_bytes(raw[:2], "little"), bytes(raw[32:]))


@dataclass(frozen=True, slots=True)
class HttpRequest:
    name: str
    method: str
    path: str
    timeout: int = 30_000  # ms
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


HTTP_REQUEST = Struct(
    HttpRequest, Field("name", STR), Field("method", STR), Field("path", STR), Field("timeout", U64),
    Field("headers", Map(STR, STR)), Field("body", Opt(BYTES)),
)
HTTP_RESPONSE = Struct(HttpResponse, Field("status", U16), Field("headers", Map(STR, STR)), Field("body", Opt(BYTES)))


def raw_body(data: bytes) -> bytes:
    """``send_message`` body: flag header + bytes (no BackendMessage header)."""
    return _HEADER + bytes(data)


def backend_body(message_type: int, data: bytes) -> bytes:
    """``send_custom_message`` / ``send_simple_text_message`` body."""
    if not 0 <= message_type <= 0xFFFF:
        raise InvalidArgument(f"message_type must be a u16, got {message_type}")
    return _HEADER + BackendMessage(message_type, bytes(data)).encode()


def chunked_bodies(message: BackendMessage, chunk_id, now: int) -> list[bytes]:
    """A BackendMessage as flag-1 bodies, each a bincode ``Chunk`` of at most BACKEND_MTU bytes
    (how 0.2.5's native node sends an HttpResponse, one report per piece)."""
    return [bytes([FLAG_CHUNK, 0, 0, 0]) + frame for frame in split(message.encode(), chunk_id, now, mtu=BACKEND_MTU)]


def encode_http_request(req: HttpRequest) -> bytes:
    w = Writer()
    HTTP_REQUEST.push(w, req)
    return w.getvalue()


def decode_http_request(data: bytes) -> HttpRequest:
    return HTTP_REQUEST.pull(Reader(data))


def encode_http_response(resp: HttpResponse) -> bytes:
    """What a native node sends: gzip-9 of bincode(HttpResponse) (SPEC §6.1)."""
    w = Writer()
    HTTP_RESPONSE.push(w, resp)
    return gzip_compress(w.getvalue())


def decode_http_response(data: bytes) -> HttpResponse:
    return HTTP_RESPONSE.pull(Reader(gzip_decompress(data)))


def parse_body(body: bytes) -> tuple[int, bytes]:
    """Split a custom-message body into ``(flag, content)``.

    0.2.5 panics on bodies of 2-3 bytes (SPEC §10 item 6); here every short or odd body
    is a DecodeError.
    """
    if len(body) < 4:
        raise DecodeError(f"custom message body of {len(body)} bytes has no 4-byte header")
    flag = body[0]
    if flag not in (FLAG_RAW, FLAG_CHUNK):
        raise DecodeError(f"unknown custom message flag {flag}")
    return flag, bytes(body[4:])


def gzip_compress(data: bytes) -> bytes:
    """gzip at level 9, as flate2 ``Compression::new(9)`` (the header's mtime is 0)."""
    return gzip.compress(data, compresslevel=9, mtime=0)


def gzip_decompress(data: bytes, limit: int = MAX_GUNZIP_SIZE) -> bytes:
    """Gunzip with a size cap; bad data is a DecodeError (0.2.5 panics, §10 item 6)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as e:
        raise DecodeError(f"invalid gzip data: {e}") from None
    if len(out) > limit:
        raise DecodeError(f"gzip data expands beyond {limit} bytes")
    if not d.eof:
        raise DecodeError("truncated gzip data")
    return out
