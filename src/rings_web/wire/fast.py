"""The codec's memos, and the codecs that use them: DIDs and ids interned, values whose
bytes are remembered.

Nothing here changes what goes on the wire; it makes decoding and encoding the values that
come again cheap (every payload carries eight or more DIDs, mostly the same few; a
forwarded payload keeps its message, its id and its origin's signature).  Each memo is
owned by one codec instance and bounded by bytes (a flood of distinct values fills them to
about 60 MB in all, most of it DIDs and sessions; the figures at each):

* :class:`Recent` for fixed-size entries (DIDs, ids);
* :class:`Weighed` for variable-size ones: only small entries are kept;
* :class:`ByIdentity` for "this very object encodes as these bytes", which never keeps an
  object alive (sessions);
* :class:`Remembered` for the bytes of the last few values decoded, held by the memo.
"""

from __future__ import annotations

import uuid
import weakref
from typing import Any, Callable

from ..did import Did
from ..errors import DecodeError
from .buffer import Reader, Writer
from .codec import Codec, DidCodec, UuidCodec
from .compiled import uuid_of

__all__ = ["Recent", "Weighed", "ByIdentity", "ENTRY_BYTES", "Remembered", "DID", "UUID"]

#: what a memo entry costs beyond its own bytes: a dict slot, a tuple, a key and a weakref
#: (sys.getsizeof: 56 + 88 + 33 + 32, and the dict's share)
ENTRY_BYTES = 256


class Recent:
    """A memo of fixed-size entries that keeps what is in use, within ``budget`` bytes.

    Two generations of ``budget // (2 * entry)`` entries each: when the newer is full it
    becomes the older (the older is dropped), and a hit in the older generation moves the
    entry back to the newer one.  ``entry`` is what one entry costs, its key and value
    included.
    """

    __slots__ = ("size", "new", "old")

    def __init__(self, budget: int, entry: int) -> None:
        self.size = max(1, budget // (2 * entry))
        self.new: dict = {}
        self.old: dict = {}

    def get(self, key: Any) -> Any:
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self._add(key, value)
        return value

    def _add(self, key: Any, value: Any) -> None:
        if len(self.new) >= self.size:
            self.old, self.new = self.new, {}
        self.new[key] = value

    put = _add


class Weighed(Recent):
    """``key -> (value, raw)``, where ``raw`` are the bytes ``value`` stands for: two
    generations as in :class:`Recent`, each of at most ``budget / 2`` bytes (``raw`` plus
    :data:`ENTRY_BYTES` an entry).  An entry whose ``raw`` is over ``largest`` bytes is not
    kept: a memo is for the many small values seen again, and a peer's large payloads
    must not stay in memory after they are handled.
    """

    __slots__ = ("half", "largest", "_filled")

    def __init__(self, budget: int, largest: int) -> None:
        super().__init__(budget, ENTRY_BYTES)
        self.half, self.largest = budget // 2, largest
        self._filled = 0  # bytes in the newer generation

    def put(self, key: Any, value: Any, raw: bytes) -> None:
        if len(raw) <= self.largest:
            self._add(key, (value, raw))

    def _add(self, key: Any, entry: tuple) -> None:
        cost = len(entry[1]) + ENTRY_BYTES
        if self._filled + cost > self.half:
            self.old, self.new, self._filled = self.new, {}, 0
        self.new[key] = entry
        self._filled += cost


class _Ref(weakref.ref):
    __slots__ = ("key",)


class ByIdentity(Weighed):
    """The bytes of recently encoded or decoded immutable objects, by identity: encoding a
    kept object again copies them.  Objects are held weakly (their classes need a
    ``__weakref__`` slot; others are not kept): an entry goes with its object."""

    __slots__ = ("_gone", "__weakref__")

    def __init__(self, budget: int, largest: int) -> None:
        super().__init__(budget, largest)
        self._gone = _forget(weakref.ref(self))

    def keep(self, value: Any, data: bytes | bytearray, start: int, end: int) -> None:
        """Remember that ``value`` encodes as ``data[start:end]`` (if that is small, while
        ``value`` lives)."""
        if end - start <= self.largest:
            try:
                ref = _Ref(value, self._gone)
            except TypeError:  # not weakly referable: not kept
                return
            ref.key = id(value)
            self._add(ref.key, (ref, bytes(data[start:end])))

    def push(self, w: Writer, value: Any, push: Callable[[Writer, Any], None]) -> None:
        """Write ``value`` with ``push``, or copy its bytes if kept; newly written bytes are kept."""
        hit = self.get(id(value))
        if hit is not None and hit[0]() is value:
            w.buf += hit[1]
            return
        start = len(w.buf)
        push(w, value)
        self.keep(value, w.buf, start, len(w.buf))


def _forget(memo_ref: weakref.ref) -> Callable[[_Ref], None]:
    """The callback of a memo's references: drop the entry of an object that is gone (the
    memo is referred to weakly: its entries do not keep it alive)."""

    def gone(ref: _Ref) -> None:
        m = memo_ref()
        if m is None:
            return
        for generation in (m.new, m.old):
            entry = generation.get(ref.key)
            if entry is not None and entry[0] is ref:
                del generation[ref.key]
    return gone


class _InternedUuid(UuidCodec):
    """Ids remembered by their 24 bytes: a forwarded payload keeps its ``tx_id``."""

    __slots__ = ("_decoded",)

    def __init__(self) -> None:
        self._decoded = Recent(2 << 20, 210)  # 24 encoded bytes -> uuid: ~5 000 a generation (190 B each)

    def pull(self, r: Reader) -> uuid.UUID:
        pos = r.pos
        raw = r.data[pos : pos + 24]
        value = self._decoded.get(raw)
        if value is None:
            if len(raw) < 24 or raw[:8] != self.LENGTH:
                n = len(r.pull_bytes())
                raise DecodeError(f"uuid: expected 16 bytes, got {n}")
            value = uuid_of(int.from_bytes(raw[8:], "big"))
            self._decoded.put(raw, value)
        r.pos = pos + 24
        return value


class _InternedDid(DidCodec):
    """DIDs remembered both ways, so a known DID costs one dictionary lookup."""

    __slots__ = ("_decoded", "_encoded")

    def __init__(self) -> None:
        # ~50 000 a generation each way (an entry, measured: 83-byte key, Did, dict slot):
        # the finger targets of a 1 000-node simulation (with 12 000, 6 % more CPU a frame)
        self._decoded = Recent(20 << 20, 210)  # 50 encoded bytes -> Did
        self._encoded = Recent(20 << 20, 210)  # Did -> 50 encoded bytes

    def pull(self, r: Reader) -> Did:
        pos = r.pos
        raw = r.data[pos : pos + 50]
        did = self._decoded.get(raw)
        if did is None:
            did = self.parse(r, raw)
            self._decoded.put(raw, did)
        r.pos = pos + 50
        return did

    def known(self, raws: list[bytes]) -> list[Did] | None:
        """The DIDs of these 50-byte encodings if all were decoded lately, else None."""
        new = self._decoded.new
        dids = [new.get(raw) for raw in raws]
        if None in dids:
            get = self._decoded.get
            dids = [get(raw) for raw in raws]
        return None if None in dids else dids

    def encoded(self, value: Did) -> bytes:
        """The 50 bytes of ``value``."""
        raw = self._encoded.new.get(value)
        if raw is None:
            raw = self._encoded.get(value)
            if raw is None:
                raw = self.encode(value)
                self._encoded.put(value, raw)
        return raw

    def push(self, w: Writer, value: Did) -> None:
        w.buf += self.encoded(value)


UUID, DID = _InternedUuid(), _InternedDid()


class Remembered(Codec):
    """``inner`` for immutable values that are often encoded again just as they were decoded:
    a forwarded payload keeps its message and its origin's signature, and is encoded within
    the same ``receive`` that decoded it.  The bytes of the last values pulled are kept by
    identity, encoding one of them copies its bytes.

    The memo holds those values (a weak reference and its callback per value cost 8 % of a
    simulated frame, measured), so it keeps only the last ``2 * size`` values of at most
    ``largest`` bytes: at most 512 KB.
    """

    __slots__ = ("inner", "min_size", "size", "largest", "_new", "_old")

    def __init__(self, inner: Codec, size: int = 64, largest: int = 4096) -> None:
        self.inner = inner
        self.min_size = inner.min_size
        self.size, self.largest = size, largest
        self._new: dict[int, tuple[Any, bytes]] = {}
        self._old: dict[int, tuple[Any, bytes]] = {}

    def keep(self, value: Any, data: bytes, start: int, end: int) -> None:
        """Remember that ``value`` encodes as ``data[start:end]`` (if that is small)."""
        if end - start <= self.largest:
            if len(self._new) >= self.size:
                self._old, self._new = self._new, {}
            self._new[id(value)] = (value, data[start:end])

    def pull(self, r: Reader) -> Any:
        start = r.pos
        value = self.inner.pull(r)
        self.keep(value, r.data, start, r.pos)
        return value

    def push(self, w: Writer, value: Any) -> None:
        hit = self._new.get(id(value)) or self._old.get(id(value))
        if hit is not None and hit[0] is value:
            w.buf += hit[1]
        else:
            self.inner.push(w, value)

    def to_json(self, value: Any) -> Any:
        return self.inner.to_json(value)

    def from_json(self, obj: Any) -> Any:
        return self.inner.from_json(obj)
