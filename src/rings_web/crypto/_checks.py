"""Boundary checks shared by the backends (noble-style exact messages)."""

from ..errors import CryptoError


def check_len(name: str, value: bytes, size: int) -> None:
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise CryptoError(f'"{name}" expected bytes of length {size}, got {type(value).__name__}')
    if len(value) != size:
        raise CryptoError(f'"{name}" expected bytes of length {size}, got length={len(value)}')
