"""Byte buffer with paired ``pull_*`` / ``push_*`` for bincode's legacy encoding (SPEC §2.1).

In the spirit of aioquic's pure-Python ``buffer.py``: a reader over ``bytes`` and a writer
that appends to a ``bytearray``.  All integers are little endian and fixed width.  Every
failure is a :class:`~rings_web.errors.DecodeError`; a length prefix is checked against the
bytes that remain *before* anything is sliced or allocated.
"""

from __future__ import annotations

import struct

from ..errors import DecodeError

__all__ = ["Reader", "Writer", "USIZE_MAX"]

#: 0.2.5's wasm build has a 32-bit ``usize``: larger values make the payload undecodable.
USIZE_MAX = 0xFFFF_FFFF

_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")


class Reader:
    """Consumes bincode from ``data``; :meth:`pull_*` advance the position."""

    __slots__ = ("data", "pos", "depth")

    def __init__(self, data: bytes | bytearray | memoryview) -> None:
        self.data = bytes(data)
        self.pos = 0
        self.depth = 0  # nesting of MultiCall, bounded by the codec

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DecodeError(f"truncated: need {n} bytes at offset {self.pos}, have {len(self.data) - self.pos}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def pull_u8(self) -> int:
        if self.pos >= len(self.data):
            raise DecodeError(f"truncated: need 1 byte at offset {self.pos}")
        v = self.data[self.pos]
        self.pos += 1
        return v

    def pull_bool(self) -> bool:
        v = self.pull_u8()
        if v > 1:
            raise DecodeError(f"invalid bool byte {v} at offset {self.pos - 1}")
        return v == 1

    def _unpack(self, st: struct.Struct) -> int:
        pos = self.pos
        if pos + st.size > len(self.data):
            raise DecodeError(f"truncated: need {st.size} bytes at offset {pos}, have {len(self.data) - pos}")
        self.pos = pos + st.size
        return st.unpack_from(self.data, pos)[0]

    def pull_u16(self) -> int:
        return self._unpack(_U16)

    def pull_u32(self) -> int:
        return self._unpack(_U32)

    def pull_u64(self) -> int:
        return self._unpack(_U64)

    def pull_usize(self) -> int:
        v = self.pull_u64()
        if v > USIZE_MAX:
            raise DecodeError(f"invalid value: integer `{v}`, expected usize (32-bit, as 0.2.5's wasm)")
        return v

    def pull_u128(self) -> int:
        return int.from_bytes(self._take(16), "little")

    def pull_len(self, min_item_size: int = 1) -> int:
        """A u64 length/count; refuses counts the remaining bytes cannot possibly hold."""
        n = self.pull_u64()
        if n * min_item_size > len(self.data) - self.pos:
            raise DecodeError(f"length {n} at offset {self.pos - 8} exceeds the {len(self.data) - self.pos} bytes left")
        return n

    def pull_bytes(self) -> bytes:
        return self._take(self.pull_len())

    def pull_fixed(self, n: int) -> bytes:
        return self._take(n)

    def pull_str(self) -> str:
        raw = self.pull_bytes()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"invalid UTF-8 in string before offset {self.pos}: {e.reason}") from None

    def expect_end(self) -> None:
        """bincode's legacy config ignores trailing bytes; callers that want strictness use this."""
        if self.pos != len(self.data):
            raise DecodeError(f"{len(self.data) - self.pos} trailing bytes")


class Writer:
    """Appends bincode to an internal ``bytearray``; :meth:`getvalue` returns ``bytes``."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def getvalue(self) -> bytes:
        return bytes(self.buf)

    def push_u8(self, v: int) -> None:
        self.buf.append(v)

    def push_bool(self, v: bool) -> None:
        self.buf.append(1 if v else 0)

    def push_u16(self, v: int) -> None:
        self.buf += _U16.pack(v)

    def push_u32(self, v: int) -> None:
        self.buf += _U32.pack(v)

    def push_u64(self, v: int) -> None:
        self.buf += _U64.pack(v)

    push_usize = push_u64

    def push_u128(self, v: int) -> None:
        self.buf += v.to_bytes(16, "little")

    def push_bytes(self, v: bytes) -> None:
        self.buf += _U64.pack(len(v))
        self.buf += v

    def push_fixed(self, v: bytes) -> None:
        self.buf += v

    def push_str(self, v: str) -> None:
        self.push_bytes(v.encode("utf-8"))
