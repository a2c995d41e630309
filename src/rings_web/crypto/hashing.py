"""Hashes and constructions built on a backend: addresses, EIP-191, BIP137, ECIES (SPEC §5)."""

from __future__ import annotations

import hashlib
import hmac

from ..errors import CryptoError
from . import CryptoBackend

__all__ = ["eth_address", "eip191_digest", "bip137_digest", "keccak256_byte_list", "ecies_encrypt", "ecies_decrypt"]

_DECIMAL = [str(i).encode() for i in range(256)]


def eth_address(crypto: CryptoBackend, public_key: bytes) -> bytes:
    """Last 20 bytes of Keccak-256 of the 64-byte public key (SPEC §5.1)."""
    return crypto.keccak256(public_key)[12:]


def keccak256_byte_list(crypto: CryptoBackend, prefix: bytes, data: bytes, suffix: bytes) -> bytes:
    """Keccak-256 of ``prefix + "n0,n1,…" + suffix``: bytes written as serde_json's number list.

    A backend may offer this itself (``keccak256_byte_list``: Pyodide's, in JS) so that large
    bodies are never turned into text in Python.
    """
    fast = getattr(crypto, "keccak256_byte_list", None)
    if fast is not None:
        return fast(prefix, data, suffix)
    return crypto.keccak256(prefix + b",".join(map(_DECIMAL.__getitem__, data)) + suffix)


def eip191_digest(crypto: CryptoBackend, message: bytes) -> bytes:
    """``personal_sign`` digest: keccak(0x19 "Ethereum Signed Message:\\n" len m)."""
    return crypto.keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def _varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFF_FFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def bip137_digest(message: bytes) -> bytes:
    """Bitcoin signed-message digest: double SHA-256 with varint-prefixed magic and message."""
    magic = b"Bitcoin Signed Message:\n"
    data = _varint(len(magic)) + magic + _varint(len(message)) + message
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def _hkdf_sha256(ikm: bytes, length: int = 32) -> bytes:
    """HKDF-SHA256 with no salt and empty info (RFC 5869)."""
    prk = hmac.new(bytes(32), ikm, hashlib.sha256).digest()
    out, block = b"", b""
    for i in range(1, -(-length // 32) + 1):
        block = hmac.new(prk, block + bytes([i]), hashlib.sha256).digest()
        out += block
    return out[:length]


def ecies_encrypt(crypto: CryptoBackend, recipient: bytes, plaintext: bytes, ephemeral_secret: bytes, iv: bytes) -> bytes:
    """ecies 0.2.3 "pure" (SPEC §5.7): ephemeral pub (65) || iv (16) || tag (16) || ciphertext."""
    ephemeral = b"\x04" + crypto.secp256k1_public_key(ephemeral_secret)
    shared = crypto.secp256k1_ecdh(ephemeral_secret, recipient)
    key = _hkdf_sha256(ephemeral + shared)
    ciphertext, tag = crypto.aes256_gcm_encrypt(key, iv, plaintext)
    return ephemeral + bytes(iv) + tag + ciphertext


def ecies_decrypt(crypto: CryptoBackend, secret: bytes, blob: bytes) -> bytes:
    """Inverse of :func:`ecies_encrypt`; raises CryptoError."""
    if len(blob) < 65 + 16 + 16 or blob[0] != 4:
        raise CryptoError("ECIES blob too short or without an uncompressed ephemeral key")
    ephemeral, iv, tag, ciphertext = blob[:65], blob[65:81], blob[81:97], blob[97:]
    shared = crypto.secp256k1_ecdh(secret, ephemeral[1:])
    return crypto.aes256_gcm_decrypt(_hkdf_sha256(ephemeral + shared), iv, ciphertext, tag)
