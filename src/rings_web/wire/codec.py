"""Codec combinators: one description of a type gives its bincode and its serde JSON.

Each codec converts a Python value both ways, to bincode (SPEC §2.1, through
:class:`~.buffer.Reader` / :class:`~.buffer.Writer`) and to the JSON value serde would
produce (SPEC §2.2, §2.3).  Wire types in :mod:`.types` are frozen dataclasses described by
:class:`Struct` and :class:`Enum` codecs built from the primitives here, so a field's
bincode layout and JSON name can never drift apart.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from ..did import Did
from ..errors import DecodeError
from .buffer import USIZE_MAX, Reader, Writer
from .compiled import compile_pull, compile_push, quick_init, uuid_of

__all__ = [
    "Codec", "Int", "U8", "U16", "U32", "U64", "USIZE", "U128", "BOOL", "STR", "BYTES",
    "UuidCodec", "DidCodec", "Opt", "Seq", "Map", "Struct", "Field", "Enum", "Variant",
    "Newtype", "Unit",
    "uuid_of", "quick_init",  # from .compiled, where the engine imports them from here
]


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


class UuidCodec(Codec):
    """uuid 0.8: bincode ``serialize_bytes`` of the 16 bytes; JSON hyphenated lower-case."""

    __slots__ = ()
    min_size = 24
    LENGTH = (16).to_bytes(8, "little")

    def pull(self, r: Reader) -> uuid.UUID:
        raw = r.pull_bytes()
        if len(raw) != 16:
            raise DecodeError(f"uuid: expected 16 bytes, got {len(raw)}")
        return uuid_of(int.from_bytes(raw, "big"))

    def push(self, w: Writer, value: uuid.UUID) -> None:
        w.buf += self.LENGTH + value.bytes

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


class DidCodec(Codec):
    """impl-serde H160: always the string ``0x`` + 40 lower-case hex, also in bincode."""

    __slots__ = ()
    min_size = 50
    PREFIX = (42).to_bytes(8, "little") + b"0x"
    _HEX = frozenset(b"0123456789abcdefABCDEF")

    def pull(self, r: Reader) -> Did:
        pos = r.pos
        did = self.parse(r, r.data[pos : pos + 50])
        r.pos = pos + 50
        return did

    def parse(self, r: Reader, raw: bytes) -> Did:
        """The DID whose encoding ``raw`` starts at ``r.pos`` (``r`` names what is wrong)."""
        if len(raw) < 50 or raw[:10] != self.PREFIX or not self._HEX.issuperset(raw[10:]):
            if r.pull_u64() != 42:
                raise DecodeError(f"Did: expected a 42-character string at offset {r.pos - 8}")
            raise DecodeError(f"Did expected '0x' + 40 hex digits, got {r.pull_fixed(42)[:60]!r}")
        return int.__new__(Did, int(raw[10:], 16))

    def encode(self, value: Did) -> bytes:
        """The 50 bytes of ``value``."""
        return self.PREFIX + b"%040x" % value

    def push(self, w: Writer, value: Did) -> None:
        w.buf += self.encode(value)

    def to_json(self, value: Did) -> str:
        return value.hex()

    def from_json(self, obj: Any) -> Did:
        return Did.from_serde(obj)


# the DID and UUID codecs that wire types use are .fast's: the same, with memos
BOOL, STR, BYTES = _Bool(), _Str(), _Bytes()


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


@dataclass(frozen=True, slots=True)
class Field:
    """One struct field: Python attribute, codec, and the JSON name when serde renames it."""

    attr: str
    codec: Codec
    json_name: str | None = None

    @property
    def key(self) -> str:
        return self.json_name or self.attr


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
        self._pushes = compile_push([(f.attr, f.codec.push) for f in self.fields])
        self._pull = compile_pull(cls, [f.codec.pull for f in self.fields])

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
