"""base58-monero with a Keccak checksum (SPEC §2.4), and plain Bitcoin base58.

``encode_check`` appends the first 4 bytes of Keccak-256 of the payload, then encodes in
8-byte blocks: a full block is 11 characters, a final block of n bytes
``_BLOCK_CHARS[n]`` characters, each a fixed-width big-endian base-58 number left-padded
with ``1`` (digit zero).  Used for ``Encoded`` VNode data and ``PublicKey``.
"""

from __future__ import annotations

from ..errors import DecodeError

__all__ = ["encode_check", "decode_check", "encode", "decode", "b58encode", "b58decode"]

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
_BLOCK_CHARS = (0, 2, 3, 5, 6, 7, 9, 10, 11)  # encoded length of a block of n bytes
_BLOCK_BYTES = {n: i for i, n in enumerate(_BLOCK_CHARS)}


def _keccak(data: bytes) -> bytes:
    from ..crypto import default_backend

    return default_backend().keccak256(data)


def _encode_block(block: bytes) -> str:
    num = int.from_bytes(block, "big")
    out = []
    for _ in range(_BLOCK_CHARS[len(block)]):
        num, digit = divmod(num, 58)
        out.append(ALPHABET[digit])
    return "".join(reversed(out))


def _to_int(text: str, what: str) -> int:
    num = 0
    for ch in text:
        digit = _INDEX.get(ch)
        if digit is None:
            raise DecodeError(f"{what}: invalid character {ch!r}")
        num = num * 58 + digit
    return num


def _decode_block(text: str) -> bytes:
    size = _BLOCK_BYTES.get(len(text))
    if not size:
        raise DecodeError(f"base58-monero: invalid block length {len(text)}")
    num = _to_int(text, "base58-monero")
    if num >> (8 * size):
        raise DecodeError("base58-monero: block overflows")
    return num.to_bytes(size, "big")


def encode(data: bytes) -> str:
    """base58-monero without checksum."""
    return "".join(_encode_block(data[i : i + 8]) for i in range(0, len(data), 8))


def decode(text: str) -> bytes:
    """Inverse of :func:`encode`; raises DecodeError."""
    if not isinstance(text, str):
        raise DecodeError(f"base58-monero: expected str, got {type(text).__name__}")
    return b"".join(_decode_block(text[i : i + 11]) for i in range(0, len(text), 11))


def encode_check(data: bytes) -> str:
    """base58-monero of ``data || keccak256(data)[:4]``."""
    data = bytes(data)
    return encode(data + _keccak(data)[:4])


def decode_check(text: str) -> bytes:
    """Inverse of :func:`encode_check`; raises DecodeError on a bad checksum."""
    raw = decode(text)
    if len(raw) < 4:
        raise DecodeError("base58-monero-check: shorter than its checksum")
    payload, check = raw[:-4], raw[-4:]
    if _keccak(payload)[:4] != check:
        raise DecodeError("base58-monero-check: checksum mismatch")
    return payload


def b58encode(data: bytes) -> str:
    """Plain Bitcoin base58 (crate ``base58`` 0.2; ED25519 addresses in the JS API)."""
    num = int.from_bytes(data, "big")
    out = []
    while num:
        num, digit = divmod(num, 58)
        out.append(ALPHABET[digit])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    """Inverse of :func:`b58encode`; raises DecodeError."""
    if not isinstance(text, str):
        raise DecodeError(f"base58: expected str, got {type(text).__name__}")
    num = _to_int(text, "base58")
    body = num.to_bytes((num.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + body
