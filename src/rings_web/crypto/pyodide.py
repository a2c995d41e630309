"""Pyodide backend: @noble functions registered by the JS shim as ``rings_web_crypto``.

JS does the curve and hash work (~5-20x faster than Python in wasm, RECIPES.md); AES-GCM,
used only for rare encrypted custom messages, stays in pure Python.
"""

from __future__ import annotations

import rings_web_crypto as _js  # registered by js/crypto.mjs; ImportError elsewhere
from pyodide.ffi import JsException, to_js

from ..errors import CryptoError, InvalidSignature
from ._checks import check_len
from .pure import PureBackend

__all__ = ["PyodideBackend"]

_pure = PureBackend()


def _u8(data: bytes):
    return to_js(memoryview(bytes(data)))


# a JS buffer the large input of a hash is copied into, reused: to_js makes a new ArrayBuffer
# each call, 45 us for a 50 KB body in Chromium against 6 us.  Made by to_js, not
# js.Uint8Array: the crypto module checks instanceof Uint8Array in Pyodide's realm, which is
# not the js module's in a Node vm context (pytest-pyodide's)
_scratch = _u8(bytes(1 << 16))


def _large(data: bytes):
    """``data`` in the reused buffer: valid until the next call (JS hashes it at once)."""
    global _scratch
    if _scratch.length < len(data):
        _scratch = _u8(bytes(max(len(data), 2 * _scratch.length)))
    view = _scratch.subarray(0, len(data))
    view.assign(data)
    return view


def _result(call) -> bytes:
    try:
        return call().to_bytes()
    except JsException as e:
        raise CryptoError(str(e)) from None


def _call(fn, *args) -> bytes:
    return _result(lambda: fn(*map(_u8, args)))


class PyodideBackend:
    """JS-backed primitives; see :class:`rings_web.crypto.CryptoBackend`."""

    name = "pyodide"

    def keccak256(self, data: bytes) -> bytes:
        return _result(lambda: _js.keccak256(_large(data)))

    def keccak256_byte_list(self, prefix: bytes, data: bytes, suffix: bytes) -> bytes:
        """See :func:`rings_web.crypto.hashing.keccak256_byte_list`; the list is written in JS."""
        return _result(lambda: _js.keccak256ByteList(_u8(prefix), _large(data), _u8(suffix)))

    def secp256k1_public_key(self, secret: bytes) -> bytes:
        check_len("secret", secret, 32)
        return _call(_js.secp256k1PublicKey, secret)

    def secp256k1_sign(self, digest: bytes, secret: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("secret", secret, 32)
        return _call(_js.secp256k1Sign, digest, secret)

    def secp256k1_recover(self, digest: bytes, signature: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("signature", signature, 65)
        if signature[64] > 3:
            raise InvalidSignature(f"recovery id must be 0..3, got {signature[64]}")
        try:
            return _call(_js.secp256k1Recover, digest, signature)
        except CryptoError as e:
            raise InvalidSignature(f"cannot recover a public key: {e}") from None

    def secp256k1_recover_byte_list(self, prefix: bytes, data: bytes, suffix: bytes, signature: bytes) -> bytes:
        """:meth:`secp256k1_recover` of :meth:`keccak256_byte_list`'s digest, in one call into JS
        (a received message's check: one crossing and two conversions fewer)."""
        check_len("signature", signature, 65)
        if signature[64] > 3:
            raise InvalidSignature(f"recovery id must be 0..3, got {signature[64]}")
        try:
            return _js.secp256k1RecoverByteList(_u8(bytes(signature) + prefix + suffix), _u8(data), len(prefix)).to_bytes()
        except JsException as e:
            raise InvalidSignature(f"cannot recover a public key: {e}") from None

    def secp256k1_decompress(self, public_key: bytes) -> bytes:
        check_len("public_key", public_key, 33)
        return _call(_js.secp256k1Decompress, public_key)

    def secp256k1_ecdh(self, secret: bytes, public_key: bytes) -> bytes:
        check_len("secret", secret, 32)
        check_len("public_key", public_key, 64)
        return _call(_js.secp256k1Ecdh, secret, public_key)

    def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        check_len("public_key", public_key, 32)
        check_len("signature", signature, 64)
        return bool(_js.ed25519Verify(_u8(public_key), _u8(message), _u8(signature)))

    aes256_gcm_encrypt = _pure.aes256_gcm_encrypt
    aes256_gcm_decrypt = _pure.aes256_gcm_decrypt
