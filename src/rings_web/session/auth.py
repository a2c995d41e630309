"""Session delegation: the wallet signs an ``AuthorizedInfo`` for a session key (SPEC §5.2–5.3).

The wallet (MetaMask, a local key, an ed25519 or Bitcoin wallet) signs the canonical JSON
text of :class:`~rings_web.wire.types.AuthorizedInfo` once; the session key then signs every
message.  Nothing here touches a wallet's private key.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..crypto import CryptoBackend
from ..crypto._checks import SECP256K1_N
from ..crypto.hashing import bip137_digest, eip191_digest, eth_address
from ..did import Did
from ..errors import CryptoError, ExpiredError, InvalidArgument, InvalidSignature
from ..wire import json as wire_json
from ..wire.buffer import USIZE_MAX
from ..wire.types import AUTHORIZED_INFO, AuthorizedInfo, Authorizer, Session, Signer

__all__ = [
    "DEFAULT_SESSION_TTL_MS", "SessionKey", "auth_text", "new_auth", "public_key_address",
    "verify_session", "session_expired",
]

DEFAULT_SESSION_TTL_MS = 2_592_000_000  # 30 days


def auth_text(auth: AuthorizedInfo) -> str:
    """The exact text the wallet signs: canonical serde_json of ``auth``."""
    return wire_json.dumps(AUTHORIZED_INFO.to_json(auth))


@dataclass(frozen=True, slots=True)
class SessionKey:
    """An ephemeral secp256k1 key that signs messages on the wallet's behalf."""

    secret: bytes
    public_key: bytes  # 64 bytes X||Y
    did: Did

    @classmethod
    def from_secret(cls, secret: bytes, crypto: CryptoBackend) -> "SessionKey":
        public = crypto.secp256k1_public_key(secret)
        return cls(bytes(secret), public, Did.from_bytes20(eth_address(crypto, public)))

    @classmethod
    def generate(cls, random_bytes, crypto: CryptoBackend) -> "SessionKey":
        """A fresh key from ``random_bytes(n)`` (the caller's randomness source)."""
        while True:
            secret = random_bytes(32)
            # only a secret of zero or >= n is drawn again (astronomically rare): retrying on the
            # backend's CryptoError looped forever at boot when JS crypto threw every call
            if 0 < int.from_bytes(secret, "big") < SECP256K1_N:
                return cls.from_secret(secret, crypto)

    def sign(self, digest: bytes, crypto: CryptoBackend) -> bytes:
        """65-byte r||s||v (v = 0/1) over a 32-byte digest."""
        return crypto.secp256k1_sign(digest, self.secret)

    def __repr__(self) -> str:  # never print the secret
        return f"SessionKey(did={self.did.hex()})"


def new_auth(
    wallet: Did,
    session_key: SessionKey,
    now: int,
    signer: Signer = Signer.EIP191,
    ttl_ms: int | None = DEFAULT_SESSION_TTL_MS,
    pubkey: bytes | None = None,
) -> AuthorizedInfo:
    """``UnsignedInfo``: what the wallet is asked to sign.

    Args:
        wallet: the wallet's DID (its address).
        session_key: the session key being delegated to.
        now: ms since the epoch (``ts_ms``).
        signer: how the wallet will sign (DEFAULT, EIP191, EdDSA, BIP137).
        ttl_ms: session lifetime in ms, or None for ``Ttl::Never``.
        pubkey: the 33-byte ``0x00 || ed25519 key`` for EdDSA wallets (required there).

    Raises:
        InvalidArgument: ttl over the 32-bit usize of 0.2.5, or EdDSA without a pubkey.
    """
    if ttl_ms is not None and not 0 <= ttl_ms <= USIZE_MAX:
        raise InvalidArgument(f"session ttl_ms must be 0..{USIZE_MAX} (0.2.5 usize), got {ttl_ms}")
    if signer == Signer.EdDSA and (pubkey is None or len(pubkey) != 33):
        raise InvalidArgument("an EdDSA session needs the 33-byte authorizer pubkey")
    return AuthorizedInfo(Authorizer(wallet, pubkey), Signer(signer), ttl_ms, now, session_key.did)


def public_key_address(pubkey33: bytes, crypto: CryptoBackend) -> Did:
    """Address of a 33-byte ``PublicKey`` (SPEC §5.1): secp256k1 if it parses, else ed25519."""
    if pubkey33[:1] in (b"\x02", b"\x03"):
        try:
            return Did.from_bytes20(eth_address(crypto, crypto.secp256k1_decompress(pubkey33)))
        except CryptoError:
            pass
    return Did.from_bytes20(crypto.keccak256(pubkey33[1:])[12:])


def _recover_address(crypto: CryptoBackend, digest: bytes, sig: bytes) -> Did:
    return Did.from_bytes20(eth_address(crypto, crypto.secp256k1_recover(digest, sig)))


def verify_session(session: Session, crypto: CryptoBackend) -> Did:
    """Check the wallet signature of a session (``SessionManager::verify``, SPEC §5.3).

    Returns:
        The wallet DID that signed (``authorizer.did``).

    Raises:
        InvalidSignature: the signature does not check out for the declared signer.
    """
    auth, sig = session.auth, session.sig
    message = auth_text(auth).encode()
    wallet = auth.authorizer.did
    try:
        if auth.signer == Signer.DEFAULT:
            signer = _recover_address(crypto, crypto.keccak256(message), _recid(sig, 0))
        elif auth.signer == Signer.EIP191:
            signer = _recover_address(crypto, eip191_digest(crypto, message), _recid(sig, 27))
        elif auth.signer == Signer.BIP137:
            # header first: h||r||s; only headers 27..30 (uncompressed P2PKH) work in 0.2.5
            if len(sig) != 65 or not 27 <= sig[0] <= 30:
                raise InvalidSignature("BIP137 signature must be 65 bytes with header 27..30")
            signer = _recover_address(crypto, bip137_digest(message), sig[1:] + bytes([sig[0] - 27]))
        elif auth.signer == Signer.EdDSA:
            pubkey = auth.authorizer.pubkey
            if pubkey is None or len(sig) != 64:
                raise InvalidSignature("EdDSA session needs authorizer.pubkey and a 64-byte signature")
            if not crypto.ed25519_verify(pubkey[1:], message, sig):
                raise InvalidSignature("EdDSA wallet signature does not verify")
            signer = public_key_address(pubkey, crypto)
        else:  # pragma: no cover - Signer is a closed enum
            raise InvalidSignature(f"unknown signer {auth.signer!r}")
    except CryptoError as e:
        raise InvalidSignature(f"{auth.signer.name} wallet signature: {e}") from None
    if signer != wallet:
        raise InvalidSignature(f"{auth.signer.name} wallet signature is by {signer.hex()}, not {wallet.hex()}")
    return wallet


def _recid(sig: bytes, offset: int) -> bytes:
    """r||s||v with v - offset in 0..3, as 0.2.5 accepts (EIP-191: v must be 27..30)."""
    if len(sig) != 65 or not 0 <= sig[64] - offset <= 3:
        raise InvalidSignature(f"signature must be 65 bytes with v in {offset}..{offset + 3}")
    return sig[:64] + bytes([sig[64] - offset])


def session_expired(auth: AuthorizedInfo, now: int) -> bool:
    """0.2.5 rule: ``Some(t)`` expires when ``now > ts_ms + t``; ``Never`` never does."""
    return auth.ttl_ms is not None and now > auth.ts_ms + auth.ttl_ms


def check_session(session: Session, now: int, crypto: CryptoBackend) -> Did:
    """:func:`verify_session` plus the expiry check; returns the wallet DID."""
    if session_expired(session.auth, now):
        raise ExpiredError(f"session {session.auth.session_id.hex()} expired")
    return verify_session(session, crypto)
