"""Wallet signers: anything that can sign the session's auth text once.

A signer has ``address`` (the wallet DID), ``mode`` (:class:`~rings_web.wire.types.Signer`),
``pubkey`` (33 bytes for EdDSA wallets, else None) and an ``async sign(text) -> bytes``.
:class:`LocalKeySigner` holds a secp256k1 key (CPython tools and tests); the browser's
EIP-1193 signer lives with the browser driver; :class:`CallbackSigner` wraps any callable.
"""

from __future__ import annotations

import inspect
from typing import Awaitable, Callable, Protocol

from ..crypto import CryptoBackend, default_backend
from ..crypto.hashing import bip137_digest, eip191_digest, eth_address
from ..did import Did
from ..errors import InvalidArgument, SignerError
from ..wire.types import Signer

__all__ = ["WalletSigner", "LocalKeySigner", "CallbackSigner", "normalize_signature"]


class WalletSigner(Protocol):
    address: Did
    mode: Signer
    pubkey: bytes | None

    async def sign(self, text: str) -> bytes: ...


def _parse_secret(secret: bytes | str) -> bytes:
    if isinstance(secret, str):
        try:
            secret = bytes.fromhex(secret.removeprefix("0x"))
        except ValueError:
            raise InvalidArgument("private key must be 32 bytes or 64 hex digits") from None
    if not isinstance(secret, (bytes, bytearray)) or len(secret) != 32:
        raise InvalidArgument("private key must be 32 bytes or 64 hex digits")
    return bytes(secret)


class LocalKeySigner:
    """A wallet whose secp256k1 key is held locally (DEFAULT, EIP191 or BIP137 mode).

    Uses eth-account where installed (CPython), the crypto backend otherwise (Pyodide);
    both give identical RFC 6979 signatures.
    """

    def __init__(self, secret: bytes | str, mode: Signer = Signer.EIP191, crypto: CryptoBackend | None = None) -> None:
        if mode == Signer.EdDSA:
            raise InvalidArgument("LocalKeySigner holds a secp256k1 key; EdDSA needs an ed25519 wallet")
        self._secret = _parse_secret(secret)
        self._crypto = crypto or default_backend()
        self.mode = Signer(mode)
        self.pubkey: bytes | None = None
        self.address = Did.from_bytes20(eth_address(self._crypto, self._crypto.secp256k1_public_key(self._secret)))

    def __repr__(self) -> str:
        return f"LocalKeySigner({self.address.hex()}, {self.mode.name})"

    async def sign(self, text: str) -> bytes:
        return self.sign_sync(text)

    def sign_sync(self, text: str) -> bytes:
        """The wallet signature over ``text`` in this signer's mode (SPEC §5.3)."""
        message = text.encode()
        if self.mode == Signer.EIP191:
            try:
                from eth_account import Account
                from eth_account.messages import encode_defunct
            except ImportError:
                return self._raw(eip191_digest(self._crypto, message), 27)
            return bytes(Account.sign_message(encode_defunct(primitive=message), self._secret).signature)
        if self.mode == Signer.DEFAULT:
            return self._raw(self._crypto.keccak256(message), 0)
        sig = self._raw(bip137_digest(message), 27)  # BIP137: header (27 + recid) first
        return sig[64:] + sig[:64]

    def sign_digest(self, digest: bytes) -> bytes:
        """Raw r||s||v (v = 0/1) over a 32-byte digest with the wallet key (node tokens)."""
        return self._crypto.secp256k1_sign(digest, self._secret)

    def _raw(self, digest: bytes, v_offset: int) -> bytes:
        sig = self._crypto.secp256k1_sign(digest, self._secret)
        return sig[:64] + bytes([sig[64] + v_offset])


class CallbackSigner:
    """Adapts any ``sign(text) -> bytes`` callable (sync or async) to a wallet signer."""

    def __init__(self, address: Did | str, sign: Callable[[str], bytes | Awaitable[bytes]],
                 mode: Signer = Signer.EIP191, pubkey: bytes | None = None) -> None:
        self.address = address if isinstance(address, Did) else Did.parse(address)
        self.mode = Signer(mode)
        self.pubkey = pubkey
        self._sign = sign

    async def sign(self, text: str) -> bytes:
        result = self._sign(text)
        if inspect.isawaitable(result):
            result = await result
        return normalize_signature(result, self.mode)


def normalize_signature(sig: bytes | str, mode: Signer) -> bytes:
    """Bytes of a wallet signature; EIP-191 ``v`` of 0/1 becomes 27/28 (MetaMask-style).

    Raises:
        SignerError: not bytes or hex, or of the wrong length for ``mode``.
    """
    if isinstance(sig, str):
        try:
            sig = bytes.fromhex(sig.removeprefix("0x"))
        except ValueError:
            raise SignerError("wallet returned a signature that is not hex") from None
    if not isinstance(sig, (bytes, bytearray, memoryview)):
        raise SignerError(f"wallet returned {type(sig).__name__}, expected bytes")
    sig = bytes(sig)
    expected = 64 if mode == Signer.EdDSA else 65
    if len(sig) != expected:
        raise SignerError(f"{mode.name} signature must be {expected} bytes, got {len(sig)}")
    if mode == Signer.EIP191 and sig[64] in (0, 1):
        sig = sig[:64] + bytes([sig[64] + 27])
    return sig
