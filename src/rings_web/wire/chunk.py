"""Data-channel framing: split a payload into ``Chunk`` frames and reassemble (SPEC §3.3).

Sans-IO: time (``now``, ms since the epoch) and chunk ids are passed in.  The reassembler
follows 0.2.5's acceptance rules (drop pieces too far in the future or with an overlong
TTL, forget expired pieces) but not its bugs (SPEC §10 item 19): it trusts no piece count
blindly, ignores duplicate indices wherever they come, and bounds the memory one peer can
hold in half-received messages.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field

from ..errors import DecodeError
from .buffer import USIZE_MAX, Reader
from .types import CHUNK, Chunk, ChunkMeta

__all__ = ["TRANSPORT_MTU", "TRANSPORT_MAX_SIZE", "DEFAULT_TTL_MS", "split", "decode_frame", "Reassembler"]

TRANSPORT_MTU = 60_000  # data bytes per frame
TRANSPORT_MAX_SIZE = 960_000  # largest payload 0.2.5 sends
DEFAULT_TTL_MS = 300_000
MAX_TTL_MS = 3_000_000
TS_OFFSET_TOLERANCE_MS = 3_000
_U64 = (1 << 64) - 1
#: 0.2.5 sends at most 16 pieces; smaller MTUs of other peers are welcome up to this.
MAX_CHUNKS = 4096


_HEADER = struct.Struct("<QQQ")  # index, count, data length
_META = struct.Struct("<Q16sQQQ")  # id length (16), id, ts_ms low and high halves, ttl_ms


def split(payload: bytes, chunk_id: uuid.UUID, now: int, mtu: int = TRANSPORT_MTU) -> list[bytes]:
    """Frames for one payload: pieces of at most ``mtu`` bytes (at least one piece)."""
    count = max(1, -(-len(payload) // mtu))
    meta = _META.pack(16, chunk_id.bytes, now & _U64, now >> 64, DEFAULT_TTL_MS)
    frames = []
    for i in range(count):
        piece = payload[i * mtu : (i + 1) * mtu]
        frames.append(_HEADER.pack(i, count, len(piece)) + piece + meta)
    return frames


def decode_frame(frame: bytes) -> Chunk:
    """Decode one data-channel message; raises DecodeError."""
    chunk = CHUNK.pull(Reader(frame))
    if chunk.count == 0 or chunk.index >= chunk.count:
        raise DecodeError(f"chunk index {chunk.index} of {chunk.count}")
    return chunk


def _single(frame: bytes) -> tuple[bytes, int, int] | None:
    """A well-formed one-piece frame as (data, ts_ms, ttl_ms), the common case read in two
    steps; None for anything else (``decode_frame`` then decodes it field by field)."""
    if len(frame) < 72:
        return None
    index, count, n = _HEADER.unpack_from(frame)
    if index != 0 or count != 1 or n > len(frame) - 72:
        return None
    id_len, _, low, high, ttl = _META.unpack_from(frame, 24 + n)
    if id_len != 16 or ttl > USIZE_MAX:
        return None
    return frame[24 : 24 + n], low | high << 64, ttl


def _fresh(ts_ms: int, ttl_ms: int, now: int) -> bool:
    """0.2.5 drops pieces with an overlong TTL, stamped too far in the future, or expired."""
    return ttl_ms <= MAX_TTL_MS and ts_ms - TS_OFFSET_TOLERANCE_MS <= now < ts_ms + ttl_ms


@dataclass(slots=True)
class _Partial:
    count: int
    expires: int
    pieces: dict[int, bytes] = field(default_factory=dict)
    size: int = 0


class Reassembler:
    """Per-transport reassembly of chunked payloads.

    Args:
        max_pending_bytes: cap on bytes held in incomplete messages; the oldest are dropped.
        max_message_size: largest payload accepted (0.2.5 sends at most 960 000 bytes).
    """

    def __init__(self, max_pending_bytes: int = 4 * TRANSPORT_MAX_SIZE, max_message_size: int = TRANSPORT_MAX_SIZE) -> None:
        self.max_pending_bytes = max_pending_bytes
        self.max_message_size = max_message_size
        self._partial: dict[uuid.UUID, _Partial] = {}
        self._pending_bytes = 0

    def receive(self, frame: bytes, now: int) -> bytes | None:
        """Feed one frame; returns the whole payload when its last piece arrives.

        Raises:
            DecodeError: the frame does not decode, or disagrees with earlier pieces.
        """
        single = _single(frame)
        if single is not None:
            data, ts_ms, ttl_ms = single
            if self._partial:
                self.expire(now)
            return data if _fresh(ts_ms, ttl_ms, now) else None
        chunk = decode_frame(frame)
        self.expire(now)
        meta = chunk.meta
        if not _fresh(meta.ts_ms, meta.ttl_ms, now):
            return None
        if chunk.count == 1:
            return chunk.data
        if chunk.count > MAX_CHUNKS:
            raise DecodeError(f"chunk count {chunk.count} exceeds {MAX_CHUNKS}")
        part = self._partial.get(meta.id)
        if part is None:
            part = self._partial[meta.id] = _Partial(chunk.count, meta.ts_ms + meta.ttl_ms)
        elif part.count != chunk.count:
            raise DecodeError(f"chunk {meta.id}: count {chunk.count} differs from {part.count}")
        if chunk.index in part.pieces:
            return None  # duplicate piece
        if part.size + len(chunk.data) > self.max_message_size:
            self._drop(meta.id)
            raise DecodeError(f"chunked message {meta.id} exceeds {self.max_message_size} bytes")
        part.pieces[chunk.index] = chunk.data
        part.size += len(chunk.data)
        self._pending_bytes += len(chunk.data)
        if len(part.pieces) == part.count:
            self._drop(meta.id)
            return b"".join(part.pieces[i] for i in range(part.count))
        while self._pending_bytes > self.max_pending_bytes and self._partial:
            self._drop(next(iter(self._partial)))  # oldest first (dicts keep insertion order)
        return None

    def expire(self, now: int) -> None:
        """Forget incomplete messages whose pieces have expired."""
        for key in [k for k, p in self._partial.items() if p.expires <= now]:
            self._drop(key)

    def _drop(self, key: uuid.UUID) -> None:
        part = self._partial.pop(key)
        self._pending_bytes -= part.size

    @property
    def pending(self) -> int:
        """Number of incomplete messages held."""
        return len(self._partial)
