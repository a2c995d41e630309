"""Did: a point on the Chord ring Z/2^160 (SPEC §5.1).

A DID is the 160-bit big-endian integer of an Ethereum-style address.  Arithmetic wraps
modulo 2^160, and every distance on the ring is measured clockwise ("bias" in 0.2.5).

>>> a = Did.parse("0x11e807fcc88dd319270493fb2e822e388fe36ab0")
>>> str(a)
'0x11e807fcc88dd319270493fb2e822e388fe36ab0'
>>> (a - a) == Did(0), (Did(0) - Did(1)) == Did.MAX
(True, True)
"""

from __future__ import annotations

import hashlib

from .errors import DecodeError, InvalidArgument

__all__ = ["Did", "RING_BITS", "RING_SIZE"]

RING_BITS = 160
RING_SIZE = 1 << RING_BITS
_MASK = RING_SIZE - 1
_HEX = frozenset("0123456789abcdefABCDEF")


class Did(int):
    """A 160-bit ring position; behaves as an ``int`` with wrapping ``+``/``-``."""

    __slots__ = ()
    MAX: "Did"

    def __new__(cls, value: int = 0) -> "Did":
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidArgument(f"Did expects an int, got {type(value).__name__}")
        return int.__new__(cls, value & _MASK)

    # -- parsing and text forms -------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> "Did":
        """Parse 40 hex digits, with or without ``0x``, any case (``Did::from_str``).

        Raises:
            DecodeError: not exactly 40 hex digits.
        """
        if not isinstance(text, str):
            raise DecodeError(f"Did expected str, got {type(text).__name__}")
        digits = text[2:] if text[:2] in ("0x", "0X") else text
        if len(digits) != 40 or not _HEX.issuperset(digits):
            raise DecodeError(f"Did expected 40 hex digits, got {text[:60]!r}")
        return cls(int(digits, 16))

    @classmethod
    def from_serde(cls, text: str) -> "Did":
        """Parse the serde form: ``0x`` required, exactly 40 hex digits (impl-serde)."""
        if not isinstance(text, str) or text[:2] != "0x":
            raise DecodeError(f"Did expected '0x' + 40 hex digits, got {str(text)[:60]!r}")
        return cls.parse(text)

    @classmethod
    def from_bytes20(cls, data: bytes) -> "Did":
        if len(data) != 20:
            raise InvalidArgument(f"Did expected 20 bytes, got {len(data)}")
        return cls(int.from_bytes(data, "big"))

    @classmethod
    def from_topic(cls, topic: str | bytes) -> "Did":
        """VNode id of a topic: sha1 read as 40 hex digits (``VirtualNode::gen_did``)."""
        raw = topic.encode() if isinstance(topic, str) else bytes(topic)
        return cls(int.from_bytes(hashlib.sha1(raw).digest(), "big"))

    def to_bytes20(self) -> bytes:
        return int.to_bytes(self, 20, "big")

    def hex(self) -> str:
        """Serde form: ``0x`` + 40 lower-case hex digits."""
        return "0x%040x" % self

    def bare(self) -> str:
        """``Display`` form of 0.2.5: 40 lower-case hex digits, no ``0x``."""
        return "%040x" % self

    __str__ = hex

    def __repr__(self) -> str:
        return f"Did({self.hex()})"

    # -- ring arithmetic --------------------------------------------------------------------
    def __add__(self, other: int) -> "Did":
        return int.__new__(Did, (int(self) + int(other)) & _MASK)

    __radd__ = __add__

    def __sub__(self, other: int) -> "Did":
        return int.__new__(Did, (int(self) - int(other)) & _MASK)

    def __rsub__(self, other: int) -> "Did":
        return int.__new__(Did, (int(other) - int(self)) & _MASK)

    def __neg__(self) -> "Did":
        return Did(-int(self))

    def bias(self, base: int) -> int:
        """Clockwise distance from ``base`` to ``self`` (0.2.5 ``BiasId``)."""
        return (int(self) - int(base)) & _MASK

    def in_range(self, start: int, end: int) -> bool:
        """True if ``self`` lies in the half-open clockwise arc ``(start, end]``.

        When ``start == end`` the arc is the whole ring.
        """
        d = (int(self) - int(start)) & _MASK
        span = (int(end) - int(start)) & _MASK
        return d != 0 and d <= span if span else True

    def __reduce__(self):  # keep pickling (multiprocessing in the simulator) simple
        return (Did, (int(self),))


Did.MAX = Did(_MASK)
