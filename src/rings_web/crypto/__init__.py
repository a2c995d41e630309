"""Cryptographic primitives behind one small protocol, with three backends.

* ``cpython``: pycryptodome (keccak, AES-GCM, ed25519) and eth-keys (secp256k1; coincurve
  when installed) -- the default on CPython.
* ``pyodide``: JS functions registered by the npm shim (``js/crypto.mjs``) as the Pyodide
  module ``rings_web_crypto`` (@noble/curves, @noble/hashes, @noble/ciphers).
* ``pure``: pure Python, used only where neither is present; cross-checked in tests.

Everything above this package (sessions, payloads) takes a :class:`CryptoBackend` and never
imports a library directly.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

__all__ = ["CryptoBackend", "default_backend", "available_backends", "get_backend", "is_low_s"]


@runtime_checkable
class CryptoBackend(Protocol):
    """Primitives rings-web needs; every method is synchronous and deterministic.

    Keys: secp256k1 secrets are 32 bytes; public keys are 64 bytes ``X||Y`` (uncompressed,
    without the ``04`` prefix).  Signatures are 65 bytes ``r||s||recid`` with recid 0..3,
    low-S, RFC 6979 deterministic; recovery accepts the high-S twin too (as libsecp256k1's
    does), so callers that need one form check :func:`is_low_s`.  Every method raises
    :class:`~rings_web.errors.CryptoError` on malformed keys and returns ``False`` / raises
    :class:`~rings_web.errors.InvalidSignature` for signatures that do not check out.
    """

    name: str

    def keccak256(self, data: bytes) -> bytes:
        """Keccak-256 with the original padding (Ethereum's), 32 bytes."""

    def secp256k1_public_key(self, secret: bytes) -> bytes:
        """64-byte public key of a 32-byte secret."""

    def secp256k1_sign(self, digest: bytes, secret: bytes) -> bytes:
        """65-byte recoverable signature of a 32-byte digest."""

    def secp256k1_recover(self, digest: bytes, signature: bytes) -> bytes:
        """64-byte public key from a digest and a 65-byte signature (recid 0..3)."""

    def secp256k1_decompress(self, public_key: bytes) -> bytes:
        """64-byte public key from a 33-byte compressed one (``02``/``03`` prefix)."""

    def secp256k1_ecdh(self, secret: bytes, public_key: bytes) -> bytes:
        """65-byte uncompressed shared point ``04||X||Y`` (ecies 0.2.3 uses the full point)."""

    def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        """Verify a 64-byte ed25519 signature under a 32-byte public key."""

    def aes256_gcm_encrypt(self, key: bytes, iv: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        """AES-256-GCM, no AAD, 16-byte IV; returns ``(ciphertext, 16-byte tag)``."""

    def aes256_gcm_decrypt(self, key: bytes, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
        """Inverse of :meth:`aes256_gcm_encrypt`; raises CryptoError if the tag is wrong."""


from ._checks import is_low_s  # noqa: E402
from ._select import available_backends, default_backend, get_backend  # noqa: E402
