"""Boundary checks shared by the backends (noble-style exact messages)."""

from ..errors import CryptoError

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141  # the group order


def check_len(name: str, value: bytes, size: int) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise CryptoError(f'"{name}" expected bytes of length {size}, got {type(value).__name__}')
    if len(value) != size:
        raise CryptoError(f'"{name}" expected bytes of length {size}, got length={len(value)}')


def is_low_s(signature: bytes) -> bool:
    """``s <= n/2`` in an ``r||s||v`` signature: of a signature and its twin ``(r, n - s, v ^ 1)``,
    which recovers the same key, the one every backend here (and libsecp256k1) makes."""
    return int.from_bytes(signature[32:64], "big") <= SECP256K1_N // 2
