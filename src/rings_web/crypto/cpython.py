"""CPython backend: pycryptodome (keccak, AES-GCM, ed25519) and coincurve / eth-keys (secp256k1)."""

from __future__ import annotations

from Crypto.Cipher import AES
from Crypto.Hash import keccak
from Crypto.Signature import eddsa

from ..errors import CryptoError, InvalidSignature
from ._checks import check_len

try:  # libsecp256k1 when installed (~20x faster), eth-keys' pure Python otherwise
    import coincurve as _coincurve
except ImportError:  # pragma: no cover - depends on the environment
    _coincurve = None

__all__ = ["CPythonBackend"]

_P = 2**256 - 2**32 - 977  # secp256k1 field prime


class CPythonBackend:
    """Library-backed primitives for CPython; see :class:`rings_web.crypto.CryptoBackend`.

    Args:
        use_coincurve: secp256k1 from coincurve (libsecp256k1) if installed (default), or
            always from eth-keys.
    """

    def __init__(self, use_coincurve: bool = True) -> None:
        self._cc = _coincurve if use_coincurve else None
        self.name = "cpython" if self._cc or _coincurve is None else "cpython-eth-keys"

    def keccak256(self, data: bytes) -> bytes:
        return keccak.new(data=bytes(data), digest_bits=256).digest()

    def secp256k1_public_key(self, secret: bytes) -> bytes:
        check_len("secret", secret, 32)
        try:
            if self._cc:
                return self._cc.PrivateKey(bytes(secret)).public_key.format(compressed=False)[1:]
            from eth_keys import keys

            return keys.PrivateKey(bytes(secret)).public_key.to_bytes()
        except Exception as e:  # invalid scalar (0 or >= n)
            raise CryptoError(f"invalid secp256k1 secret key: {e}") from None

    def secp256k1_sign(self, digest: bytes, secret: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("secret", secret, 32)
        try:
            if self._cc:
                return self._cc.PrivateKey(bytes(secret)).sign_recoverable(bytes(digest), hasher=None)
            from eth_keys import keys

            return keys.PrivateKey(bytes(secret)).sign_msg_hash(bytes(digest)).to_bytes()
        except Exception as e:
            raise CryptoError(f"secp256k1 sign failed: {e}") from None

    def secp256k1_recover(self, digest: bytes, signature: bytes) -> bytes:
        check_len("digest", digest, 32)
        check_len("signature", signature, 65)
        if signature[64] > 3:
            raise InvalidSignature(f"recovery id must be 0..3, got {signature[64]}")
        try:
            if self._cc:
                pub = self._cc.PublicKey.from_signature_and_message(bytes(signature), bytes(digest), hasher=None)
                return pub.format(compressed=False)[1:]
            from eth_keys import keys

            return keys.Signature(bytes(signature)).recover_public_key_from_msg_hash(bytes(digest)).to_bytes()
        except Exception as e:
            raise InvalidSignature(f"cannot recover a public key: {e}") from None

    def secp256k1_decompress(self, public_key: bytes) -> bytes:
        check_len("public_key", public_key, 33)
        if public_key[0] not in (2, 3) or int.from_bytes(public_key[1:], "big") >= _P:
            raise CryptoError("invalid compressed secp256k1 key")
        try:
            if self._cc:
                full = self._cc.PublicKey(bytes(public_key)).format(compressed=False)[1:]
            else:
                from eth_keys import keys

                full = keys.PublicKey.from_compressed_bytes(bytes(public_key)).to_bytes()
        except Exception as e:
            raise CryptoError(f"invalid compressed secp256k1 key: {e}") from None
        x, y = int.from_bytes(full[:32], "big"), int.from_bytes(full[32:], "big")
        if (y * y - x * x * x - 7) % _P:  # eth-keys does not check that x is on the curve
            raise CryptoError("invalid compressed secp256k1 key: not on the curve")
        return full

    def secp256k1_ecdh(self, secret: bytes, public_key: bytes) -> bytes:
        check_len("secret", secret, 32)
        check_len("public_key", public_key, 64)
        if self._cc:
            try:
                point = self._cc.PublicKey(b"\x04" + bytes(public_key)).multiply(bytes(secret))
            except Exception as e:
                raise CryptoError(f"secp256k1 ECDH failed: {e}") from None
            return point.format(compressed=False)
        from .pure import PureBackend  # eth-keys has no point multiplication API

        return PureBackend().secp256k1_ecdh(secret, public_key)

    def ed25519_verify(self, public_key: bytes, message: bytes, signature: bytes) -> bool:
        check_len("public_key", public_key, 32)
        check_len("signature", signature, 64)
        try:
            key = eddsa.import_public_key(bytes(public_key))
        except ValueError:
            return False  # not a point on the curve
        try:
            eddsa.new(key, "rfc8032").verify(bytes(message), bytes(signature))
            return True
        except ValueError:
            return False

    def aes256_gcm_encrypt(self, key: bytes, iv: bytes, plaintext: bytes) -> tuple[bytes, bytes]:
        check_len("key", key, 32)
        check_len("iv", iv, 16)
        cipher = AES.new(bytes(key), AES.MODE_GCM, nonce=bytes(iv))
        return cipher.encrypt_and_digest(bytes(plaintext))

    def aes256_gcm_decrypt(self, key: bytes, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
        check_len("key", key, 32)
        check_len("iv", iv, 16)
        check_len("tag", tag, 16)
        cipher = AES.new(bytes(key), AES.MODE_GCM, nonce=bytes(iv))
        try:
            return cipher.decrypt_and_verify(bytes(ciphertext), bytes(tag))
        except ValueError:
            raise CryptoError("AES-GCM tag mismatch") from None


