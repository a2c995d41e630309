"""Codec combinators: one description of a type gives its bincode and its serde JSON.

Each codec converts a Python value both ways, to bincode (SPEC §2.1, through
:class:`~.buffer.Reader` / :class:`~.buffer.Writer`) and to the JSON value serde would
produce (SPEC §2.2, §2.3).  Wire types in :mod:`.types` are frozen dataclasses described by
:class:`Struct` and :class:`Enum` codecs built from the primitives here, so a field's
bincode layout and JSON name can never drift apart.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TypeVar

from ..did import Did
from ..errors import DecodeError
from . import base58
from .buffer import USIZE_MAX, Reader, Writer

__all__ = [
    "Codec", "Int", "U8", "U16", "U32", "U64", "USIZE", "U128", "BOOL", "STR", "BYTES",
    "UUID", "DID", "PUBKEY", "Opt", "Seq", "Map", "Struct", "Field", "Enum", "Variant",
    "Newtype", "Unit", "Remembered", "Recent", "push_by_identity", "uuid_of", "quick_init",
]

T = TypeVar("T", bound=type)


def quick_init(cls: T) -> T:
    """Give a frozen slotted dataclass an ``__init__`` that fills its slots directly.

    The generated one calls ``object.__setattr__`` per field, to get past ``frozen``; the
    slots' own setters do the same job in 60 % of the time (hot path: a few wire objects
    per frame each way).  The class stays frozen: only ``__init__`` changes.
    """
    fields = dataclasses.fields(cls)
    if not fields or hasattr(cls, "__post_init__") or any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"quick_init: {cls.__name__} needs plain fields")
    scope = {f"_set{i}": getattr(cls, f.name).__set__ for i, f in enumerate(fields)}
    scope.update({f"_default{i}": f.default for i, f in enumerate(fields) if f.default is not dataclasses.MISSING})
    params = ", ".join(f.name if f.default is dataclasses.MISSING else f"{f.name}=_default{i}" for i, f in enumerate(fields))
    body = "".join(f"    _set{i}(self, {f.name})\n" for i, f in enumerate(fields))
    exec(f"def __init__(self, {params}):\n{body}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


def _type_error(expected: str, got: Any) -> DecodeError:
    text = repr(got)
    return DecodeError(f"invalid type: expected {expected}, got {text[:60]}")


class Codec:
    """Base: ``pull(Reader)``, ``push(Writer, value)``, ``to_json(value)``, ``from_json(obj)``."""

    __slots__ = ()
    min_size = 1  # fewest bincode bytes a value takes (bounds element counts before decoding)

    def pull(self, r: Reader) -> Any:
        raise NotImplementedError

    def push(self, w: Writer, value: Any) -> None:
        raise NotImplementedError

    def to_json(self, value: Any) -> Any:
        return value

    def from_json(self, obj: Any) -> Any:
        raise NotImplementedError


class Int(Codec):
    """Fixed-width unsigned integer; JSON is a plain number."""

    __slots__ = ("name", "max", "min_size", "pull", "_push")

    def __init__(self, bits: int, limit: int, pull: Callable, push: Callable, name: str = "") -> None:
        self.name, self.max = name or f"u{bits}", limit
        self.min_size = bits // 8
        self.pull, self._push = pull, push

    def push(self, w: Writer, value: int) -> None:
        self._push(w, value)

    def from_json(self, obj: Any) -> int:
        if type(obj) is not int:
            raise _type_error(self.name, obj)
        if not 0 <= obj <= self.max:
            raise DecodeError(f"invalid value: integer `{obj}`, expected {self.name}")
        return obj


U8 = Int(8, 0xFF, Reader.pull_u8, Writer.push_u8)
U16 = Int(16, 0xFFFF, Reader.pull_u16, Writer.push_u16)
U32 = Int(32, 0xFFFF_FFFF, Reader.pull_u32, Writer.push_u32)
U64 = Int(64, (1 << 64) - 1, Reader.pull_u64, Writer.push_u64)
#: ``usize`` is 8 bytes on the wire but 32-bit in the genuine wasm (SPEC §10 item 5).
USIZE = Int(64, USIZE_MAX, Reader.pull_usize, Writer.push_usize, "usize")
U128 = Int(128, (1 << 128) - 1, Reader.pull_u128, Writer.push_u128)


class _Bool(Codec):
    __slots__ = ()
    pull = staticmethod(Reader.pull_bool)
    push = staticmethod(Writer.push_bool)

    def from_json(self, obj: Any) -> bool:
        if type(obj) is not bool:
            raise _type_error("a boolean", obj)
        return obj


class _Str(Codec):
    __slots__ = ()
    min_size = 8
    pull = staticmethod(Reader.pull_str)
    push = staticmethod(Writer.push_str)

    def from_json(self, obj: Any) -> str:
        if type(obj) is not str:
            raise _type_error("a string", obj)
        return obj


class _Bytes(Codec):
    """``Vec<u8>`` / ``Bytes``: u64 length + raw bytes; JSON array of numbers."""

    __slots__ = ()
    min_size = 8
    pull = staticmethod(Reader.pull_bytes)
    push = staticmethod(Writer.push_bytes)

    def to_json(self, value: bytes) -> list[int]:
        return list(value)

    def from_json(self, obj: Any) -> bytes:
        if type(obj) is not list:
            raise _type_error("a sequence of bytes", obj)
        if any(type(x) is not int for x in obj):
            raise _type_error("u8 elements", next(x for x in obj if type(x) is not int))
        try:
            return bytes(obj)
        except ValueError:
            raise DecodeError("invalid value: byte out of range 0..=255") from None


class Recent:
    """A bounded memo that keeps what is in use: two generations of ``size`` entries; when
    the newer is full it becomes the older (the older is dropped), and a hit in the older
    generation moves the entry back to the newer one."""

    __slots__ = ("size", "new", "old")

    def __init__(self, size: int) -> None:
        self.size = size
        self.new: dict = {}
        self.old: dict = {}

    def get(self, key: Any) -> Any:
        value = self.new.get(key)
        if value is None:
            value = self.old.get(key)
            if value is not None:
                self.put(key, value)
        return value

    def put(self, key: Any, value: Any) -> None:
        if len(self.new) >= self.size:
            self.old, self.new = self.new, {}
        self.new[key] = value


_new, _set = object.__new__, object.__setattr__


def uuid_of(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` without its checks (hot path: a new id per frame sent and
    received); ``value`` must be a 128-bit unsigned integer."""
    u = _new(uuid.UUID)
    _set(u, "int", value)
    _set(u, "is_safe", uuid.SafeUUID.unknown)
    return u


class _Uuid(Codec):
    """uuid 0.8: bincode ``serialize_bytes`` of the 16 bytes; JSON hyphenated lower-case.

    A forwarded payload keeps its ``tx_id``: decoded ids are remembered (bounded).
    """

    __slots__ = ("_decoded",)
    min_size = 24
    _LENGTH = (16).to_bytes(8, "little")

    def __init__(self) -> None:
        self._decoded = Recent(1 << 16)  # 24 encoded bytes -> uuid

    def pull(self, r: Reader) -> uuid.UUID:
        pos = r.pos
        raw = r.data[pos : pos + 24]
        value = self._decoded.get(raw)
        if value is None:
            if len(raw) < 24 or raw[:8] != self._LENGTH:
                n = len(r.pull_bytes())
                raise DecodeError(f"uuid: expected 16 bytes, got {n}")
            value = uuid_of(int.from_bytes(raw[8:], "big"))
            self._decoded.put(raw, value)
        r.pos = pos + 24
        return value

    def push(self, w: Writer, value: uuid.UUID) -> None:
        w.buf += self._LENGTH + value.bytes

    def to_json(self, value: uuid.UUID) -> str:
        return str(value)

    def from_json(self, obj: Any) -> uuid.UUID:
        if type(obj) is not str:
            raise _type_error("a UUID string", obj)
        text = obj[9:] if obj[:9].lower() == "urn:uuid:" else obj  # uuid 0.8 parse_str forms
        if len(text) not in (32, 36) or (len(text) == 36 and text.count("-") != 4):
            raise DecodeError(f"invalid UUID {obj[:60]!r}")
        try:
            return uuid.UUID(text)
        except ValueError:
            raise DecodeError(f"invalid UUID {obj[:60]!r}") from None


class _Did(Codec):
    """impl-serde H160: always the string ``0x`` + 40 lower-case hex, also in bincode.

    Every payload carries eight or more DIDs, mostly the same few: both directions are
    remembered (bounded), so a known DID costs one dictionary lookup.
    """

    __slots__ = ("_decoded", "_encoded")
    min_size = 50
    _PREFIX = (42).to_bytes(8, "little") + b"0x"
    _HEX = frozenset(b"0123456789abcdefABCDEF")

    def __init__(self) -> None:
        self._decoded = Recent(1 << 16)  # 50 encoded bytes -> Did
        self._encoded = Recent(1 << 16)  # Did -> 50 encoded bytes

    def pull(self, r: Reader) -> Did:
        pos = r.pos
        raw = r.data[pos : pos + 50]
        did = self._decoded.get(raw)
        if did is None:
            did = self._parse(r, raw)
        r.pos = pos + 50
        return did

    def _parse(self, r: Reader, raw: bytes) -> Did:
        if len(raw) < 50 or raw[:10] != self._PREFIX or not self._HEX.issuperset(raw[10:]):
            if r.pull_u64() != 42:  # name what is wrong
                raise DecodeError(f"Did: expected a 42-character string at offset {r.pos - 8}")
            raise DecodeError(f"Did expected '0x' + 40 hex digits, got {r.pull_fixed(42)[:60]!r}")
        did = int.__new__(Did, int(raw[10:], 16))
        self._decoded.put(raw, did)
        return did

    def remember(self, size: int) -> None:
        """Keep up to ``size`` DIDs each way (a simulation of many nodes wants more)."""
        self._decoded.size = self._encoded.size = size

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
                raw = self._PREFIX + b"%040x" % value
                self._encoded.put(value, raw)
        return raw

    def push(self, w: Writer, value: Did) -> None:
        w.buf += self.encoded(value)

    def to_json(self, value: Did) -> str:
        return value.hex()

    def from_json(self, obj: Any) -> Did:
        return Did.from_serde(obj)


class _PublicKey(Codec):
    """``PublicKey([u8;33])``: base58-monero-check string in both formats."""

    __slots__ = ()
    min_size = 8

    def pull(self, r: Reader) -> bytes:
        return self.from_json(r.pull_str())

    def push(self, w: Writer, value: bytes) -> None:
        w.push_str(base58.encode_check(value))

    def to_json(self, value: bytes) -> str:
        return base58.encode_check(value)

    def from_json(self, obj: Any) -> bytes:
        if type(obj) is not str:
            raise _type_error("a base58 public key", obj)
        key = base58.decode_check(obj)
        if len(key) != 33:
            raise DecodeError(f"PublicKey: expected 33 bytes, got {len(key)}")
        return key


BOOL, STR, BYTES, UUID, DID, PUBKEY = _Bool(), _Str(), _Bytes(), _Uuid(), _Did(), _PublicKey()


class Opt(Codec):
    """``Option<T>``: byte 0 / 1 + T; JSON ``null`` or T.  Python ``None`` is None."""

    __slots__ = ("inner",)

    def __init__(self, inner: Codec) -> None:
        self.inner = inner

    def pull(self, r: Reader) -> Any:
        tag = r.pull_u8()
        if tag == 0:
            return None
        if tag == 1:
            return self.inner.pull(r)
        raise DecodeError(f"invalid Option tag {tag} at offset {r.pos - 1}")

    def push(self, w: Writer, value: Any) -> None:
        if value is None:
            w.push_u8(0)
        else:
            w.push_u8(1)
            self.inner.push(w, value)

    def to_json(self, value: Any) -> Any:
        return None if value is None else self.inner.to_json(value)

    def from_json(self, obj: Any) -> Any:
        return None if obj is None else self.inner.from_json(obj)


class Seq(Codec):
    """``Vec<T>``: u64 count + elements; Python tuple; JSON array."""

    __slots__ = ("inner",)
    min_size = 8

    def __init__(self, inner: Codec) -> None:
        self.inner = inner

    def pull(self, r: Reader) -> tuple:
        n = r.pull_len(self.inner.min_size)
        pull = self.inner.pull
        return tuple([pull(r) for _ in range(n)])

    def push(self, w: Writer, value: Sequence) -> None:
        w.push_u64(len(value))
        for item in value:
            self.inner.push(w, item)

    def to_json(self, value: Sequence) -> list:
        return [self.inner.to_json(x) for x in value]

    def from_json(self, obj: Any) -> tuple:
        if type(obj) is not list:
            raise _type_error("a sequence", obj)
        return tuple(self.inner.from_json(x) for x in obj)


class Map(Codec):
    """``HashMap<K, V>``: u64 count + key, value pairs; Python dict; JSON object."""

    __slots__ = ("key", "value")
    min_size = 8

    def __init__(self, key: Codec, value: Codec) -> None:
        self.key, self.value = key, value

    def pull(self, r: Reader) -> dict:
        n = r.pull_len(self.key.min_size + self.value.min_size)
        out = {}
        for _ in range(n):
            k = self.key.pull(r)
            out[k] = self.value.pull(r)
        return out

    def push(self, w: Writer, value: dict) -> None:
        w.push_u64(len(value))
        for k, v in value.items():
            self.key.push(w, k)
            self.value.push(w, v)

    def to_json(self, value: dict) -> dict:
        return {self.key.to_json(k): self.value.to_json(v) for k, v in value.items()}

    def from_json(self, obj: Any) -> dict:
        if type(obj) is not dict:
            raise _type_error("a map", obj)
        return {self.key.from_json(k): self.value.from_json(v) for k, v in obj.items()}


def push_by_identity(cache: Recent, w: Writer, value: Any, push: Callable[[Writer, Any], None]) -> None:
    """Write ``value`` with ``push``, or copy its bytes when ``cache`` (``id(value)`` ->
    ``(value, bytes)``) holds this very object; newly written bytes are kept."""
    hit = cache.get(id(value))
    if hit is not None and hit[0] is value:
        w.buf += hit[1]
        return
    start = len(w.buf)
    push(w, value)
    cache.put(id(value), (value, bytes(w.buf[start:])))


class Remembered(Codec):
    """``inner`` for immutable values that are often encoded again just as they were decoded
    (a forwarded payload keeps its message and its origin's signature): the bytes of recent
    values are kept by identity, and encoding a kept value copies them."""

    __slots__ = ("inner", "min_size", "_bytes")

    def __init__(self, inner: Codec) -> None:
        self.inner = inner
        self.min_size = inner.min_size
        self._bytes = Recent(1 << 14)  # id(value) -> (value, its bytes)

    def keep(self, value: Any, raw: bytes) -> None:
        """Remember that ``value`` encodes as ``raw``."""
        self._bytes.put(id(value), (value, raw))

    def pull(self, r: Reader) -> Any:
        start = r.pos
        value = self.inner.pull(r)
        self.keep(value, r.data[start : r.pos])
        return value

    def push(self, w: Writer, value: Any) -> None:
        push_by_identity(self._bytes, w, value, self.inner.push)

    def to_json(self, value: Any) -> Any:
        return self.inner.to_json(value)

    def from_json(self, obj: Any) -> Any:
        return self.inner.from_json(obj)


@dataclass(frozen=True, slots=True)
class Field:
    """One struct field: Python attribute, codec, and the JSON name when serde renames it."""

    attr: str
    codec: Codec
    json_name: str | None = None

    @property
    def key(self) -> str:
        return self.json_name or self.attr


def _compile_push(fields: Sequence[tuple[str, Callable]]) -> Callable[[Writer, Any], None]:
    """``push0(w, v.attr0); push1(w, v.attr1); ...`` without a loop (hot path)."""
    scope = {f"p{i}": push for i, (_, push) in enumerate(fields)}
    body = "".join(f"    p{i}(w, v.{attr})\n" for i, (attr, _) in enumerate(fields)) or "    pass\n"
    exec(f"def push(w, v):\n{body}", scope)
    return scope["push"]


def _compile_pull(cls: type, pulls: list[Callable]) -> Callable[[Reader], Any]:
    """``lambda r: cls(pull0(r), pull1(r), ...)`` without a list per call (hot path)."""
    names = {f"p{i}": p for i, p in enumerate(pulls)}
    args = ", ".join(f"p{i}(r)" for i in range(len(pulls)))
    scope = {"cls": cls, **names}
    exec(f"def pull(r):\n    return cls({args})\n", scope)
    return scope["pull"]


class Struct(Codec):
    """A struct: fields back to back in declaration order; JSON object in that order.

    JSON input may have any field order and unknown fields (serde ignores them) but every
    field must be present.
    """

    __slots__ = ("cls", "fields", "min_size", "_pull", "_pushes")

    def __init__(self, cls: type, *fields: Field | tuple) -> None:
        self.cls = cls
        self.fields = tuple(f if isinstance(f, Field) else Field(*f) for f in fields)
        self.min_size = sum(f.codec.min_size for f in self.fields)
        self._pushes = _compile_push([(f.attr, f.codec.push) for f in self.fields])
        self._pull = _compile_pull(cls, [f.codec.pull for f in self.fields])

    def pull(self, r: Reader) -> Any:
        return self._pull(r)

    def push(self, w: Writer, value: Any) -> None:
        self._pushes(w, value)

    def to_json(self, value: Any) -> dict:
        return {f.key: f.codec.to_json(getattr(value, f.attr)) for f in self.fields}

    def from_json(self, obj: Any) -> Any:
        if type(obj) is not dict:
            raise _type_error(f"struct {self.cls.__name__}", obj)
        args = []
        for f in self.fields:
            if f.key not in obj:
                raise DecodeError(f"missing field `{f.key}` in {self.cls.__name__}")
            args.append(f.codec.from_json(obj[f.key]))
        return self.cls(*args)


class Newtype(Codec):
    """A class wrapping one value that serde writes as the bare inner value."""

    __slots__ = ("cls", "attr", "inner", "min_size")

    def __init__(self, cls: type, attr: str, inner: Codec) -> None:
        self.cls, self.attr, self.inner = cls, attr, inner
        self.min_size = inner.min_size

    def pull(self, r: Reader) -> Any:
        return self.cls(self.inner.pull(r))

    def push(self, w: Writer, value: Any) -> None:
        self.inner.push(w, getattr(value, self.attr))

    def to_json(self, value: Any) -> Any:
        return self.inner.to_json(getattr(value, self.attr))

    def from_json(self, obj: Any) -> Any:
        return self.cls(self.inner.from_json(obj))


class Unit(Codec):
    """A unit struct (``AlreadyConnected``): zero bytes; JSON ``null``."""

    __slots__ = ("value",)
    min_size = 0

    def __init__(self, value: Any) -> None:
        self.value = value

    def pull(self, r: Reader) -> Any:
        return self.value

    def push(self, w: Writer, value: Any) -> None:
        pass

    def to_json(self, value: Any) -> None:
        return None

    def from_json(self, obj: Any) -> Any:
        if obj is not None:
            raise _type_error("unit (null)", obj)
        return self.value


@dataclass(frozen=True, slots=True)
class Variant:
    """One enum variant: its name, and either a content codec or (unit variant) its value."""

    name: str
    codec: Codec | None = None
    cls: type | None = None  # class of values carried by this variant (content variants)
    value: Any = None  # the Python value of a unit variant


class Enum(Codec):
    """Externally tagged enum: u32 index + content; JSON ``{"Name": content}`` or ``"Name"``."""

    __slots__ = ("name", "variants", "_by_class", "_by_value", "_by_name")
    min_size = 4

    def __init__(self, name: str, *variants: Variant) -> None:
        self.name = name
        self.variants = variants
        self._by_class = {v.cls: (i, v) for i, v in enumerate(variants) if v.codec is not None}
        self._by_value = {v.value: (i, v) for i, v in enumerate(variants) if v.codec is None}
        self._by_name = {v.name: v for v in variants}

    def _lookup(self, value: Any) -> tuple[int, Variant]:
        found = self._by_class.get(type(value))
        if found is None:
            found = self._by_value.get(value)
        if found is None:
            raise TypeError(f"{value!r} is not a {self.name}")
        return found

    def pull(self, r: Reader) -> Any:
        index = r.pull_u32()
        if index >= len(self.variants):
            raise DecodeError(f"invalid {self.name} variant index {index} at offset {r.pos - 4}")
        v = self.variants[index]
        return v.value if v.codec is None else v.codec.pull(r)

    def push(self, w: Writer, value: Any) -> None:
        index, v = self._lookup(value)
        w.push_u32(index)
        if v.codec is not None:
            v.codec.push(w, value)

    def to_json(self, value: Any) -> Any:
        _, v = self._lookup(value)
        return v.name if v.codec is None else {v.name: v.codec.to_json(value)}

    def from_json(self, obj: Any) -> Any:
        if type(obj) is str:
            v = self._by_name.get(obj)
            if v is None or v.codec is not None:
                raise DecodeError(f"unknown unit variant `{obj[:40]}` of {self.name}")
            return v.value
        if type(obj) is not dict or len(obj) != 1:
            raise _type_error(f"enum {self.name}", obj)
        ((name, content),) = obj.items()
        v = self._by_name.get(name)
        if v is None:
            raise DecodeError(f"unknown variant `{name[:40]}` of {self.name}")
        if v.codec is None:
            raise DecodeError(f"unit variant `{name}` of {self.name} given content")
        return v.codec.from_json(content)
