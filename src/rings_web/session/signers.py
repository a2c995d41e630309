"""Wallet signers: anything that can sign the session's auth text once.

A signer has ``address`` (the wallet DID), ``mode`` (:class:`~rings_web.wire.types.Signer`),
``pubkey`` (33 bytes for EdDSA wallets, else None) and an ``async sign(text) -> bytes``.
:class:`LocalKeySigner` holds a secp256k1 key (CPython tools and tests);
:class:`Eip1193Signer` asks an EIP-1193 provider (MetaMask) for one ``personal_sign``;
:class:`CallbackSigner` wraps any callable.
"""

from __future__ import annotations

import inspect
from typing import Any, Awaitable, Callable, Protocol

from ..crypto import CryptoBackend, default_backend
from ..crypto.hashing import bip137_digest, eip191_digest, eth_address
from ..did import Did
from ..errors import InvalidArgument, RingsError, SignatureRejected, SignerError, WalletLocked, WrongAccount, WrongChain
from ..wire.types import Signer

__all__ = ["WalletSigner", "LocalKeySigner", "CallbackSigner", "Eip1193Signer", "ProviderError", "check_chain", "normalize_signature"]


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


class ProviderError(Exception):
    """What an EIP-1193 ``request`` failed with: its ``code`` and ``message`` (EIP-1193 §4.4)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(message)
        self.code = code


#: EIP-1193 / EIP-1474 provider error codes and what they mean for the user.
_PROVIDER_ERRORS: dict[int, tuple[type[SignerError], str]] = {
    4001: (SignatureRejected, "the user rejected the request in the wallet"),
    4100: (WalletLocked, "the wallet is locked or has not authorized this site"),
    4900: (SignerError, "the wallet is disconnected"),
    4901: (WrongChain, "the wallet is not connected to the requested chain"),
    -32002: (SignerError, "a request is already pending in the wallet: open it"),
}

#: ``await request(method, params)``: one EIP-1193 ``provider.request({method, params})``,
#: raising :class:`ProviderError` when the provider rejects it.
Request = Callable[[str, list], Awaitable[Any]]


async def _call(request: Request, method: str, params: list) -> Any:
    try:
        return await request(method, params)
    except ProviderError as e:
        kind, meaning = _PROVIDER_ERRORS.get(e.code, (SignerError, "the wallet failed"))
        raise kind(f"{method}: {meaning} ({e.code}: {str(e)[:200]})") from None


class Eip1193Signer:
    """A wallet behind an EIP-1193 provider (``window.ethereum``, MetaMask): mode EIP191.

    The wallet signs the session's auth text once with ``personal_sign``; its key never
    leaves it.  Create it with :meth:`connect`.
    """

    mode = Signer.EIP191
    pubkey = None

    def __init__(self, request: Request, address: Did, crypto: CryptoBackend | None = None) -> None:
        self._request = request
        self.address = address
        self._crypto = crypto or default_backend()

    def __repr__(self) -> str:
        return f"Eip1193Signer({self.address.hex()})"

    @classmethod
    async def connect(cls, request: Request, *, account: str | None = None, chain_id: int | None = None,
                      crypto: CryptoBackend | None = None) -> "Eip1193Signer":
        """Ask the wallet for its accounts (``eth_requestAccounts``) and pick one.

        Args:
            account: the account to use (default: the wallet's selected one, listed first).
            chain_id: if given, the wallet must be on this chain (``eth_chainId``).

        Raises:
            SignatureRejected: the user refused to connect.
            WalletLocked: no account is available.
            WrongAccount: ``account`` is not among the wallet's accounts.
            WrongChain: the wallet is on another chain.
        """
        wanted = _pick(await _call(request, "eth_requestAccounts", []), account)
        if wanted is None:
            raise WrongAccount(f"account {Did.parse(account).hex()} is not available in the wallet")
        await check_chain(request, chain_id)
        return cls(request, wanted, crypto)

    @staticmethod
    async def selected(request: Request, account: str | None = None) -> Did | None:
        """The account :meth:`connect` would pick, asked with ``eth_accounts`` (no prompt), or
        None when the wallet shows none to this site (locked, never connected), not ``account``,
        or fails."""
        try:
            return _pick(await _call(request, "eth_accounts", []), account)
        except SignerError:  # locked, refused, unsupported: the caller asks with a prompt instead
            return None

    async def sign(self, text: str) -> bytes:
        """``personal_sign`` of ``text``; v is normalised to 27/28 (SPEC §5.3).

        Raises:
            SignatureRejected: the user refused.
            WrongAccount: the signature is by another account (it changed meanwhile).
        """
        message = text.encode()
        sig = normalize_signature(await _call(self._request, "personal_sign", ["0x" + message.hex(), self.address.hex()]),
                                  Signer.EIP191)
        try:
            public = self._crypto.secp256k1_recover(eip191_digest(self._crypto, message), sig[:64] + bytes([sig[64] - 27]))
            signed_by = Did.from_bytes20(eth_address(self._crypto, public))
        except (ValueError, RingsError) as e:
            raise SignerError(f"the wallet's signature is malformed: {e}") from None
        if signed_by != self.address:
            raise WrongAccount(f"the wallet signed as {signed_by.hex()}, not {self.address.hex()} (account changed?)")
        return sig


def _pick(accounts: Any, account: str | None) -> Did | None:
    """``account`` if the wallet listed it, else None; without ``account``, the selected one."""
    if not isinstance(accounts, (list, tuple)) or not accounts:
        raise WalletLocked("the wallet gave no account: unlock it and allow this site")
    try:
        offered = [Did.parse(a) for a in accounts]
        wanted = Did.parse(account) if account is not None else offered[0]
    except ValueError as e:
        raise SignerError(f"the wallet returned an account that is not an address: {e}") from None
    return wanted if wanted in offered else None


async def check_chain(request: Request, chain_id: int | None) -> None:
    """Unless ``chain_id`` is None, ask ``eth_chainId`` (no prompt) and require it.

    Raises:
        WrongChain: the wallet is on another chain.
    """
    if chain_id is None:
        return
    current = await _call(request, "eth_chainId", [])
    try:
        current_id = int(current, 16) if isinstance(current, str) else int(current)
    except (TypeError, ValueError):
        raise SignerError(f"the wallet returned a chain id that is not a number: {current!r:.40}") from None
    if current_id != chain_id:
        raise WrongChain(f"the wallet is on chain {current_id}, this application needs {chain_id}")


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
