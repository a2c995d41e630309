"""The local session: a session key plus the wallet's signed delegation (SPEC §5.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..crypto import CryptoBackend
from ..did import Did
from ..errors import InvalidSignature, SignerError
from ..wire.types import Session
from .auth import DEFAULT_SESSION_TTL_MS, SessionKey, auth_text, new_auth, verify_session
from .signers import WalletSigner, normalize_signature

__all__ = ["SessionManager"]


@dataclass(frozen=True, slots=True)
class SessionManager:
    """Signs messages with the session key under the wallet's delegation."""

    key: SessionKey
    session: Session
    crypto: CryptoBackend
    insecure_unsigned: bool = False
    """Simulator only: messages carry a zero signature (no pack_msg, no ECDSA)."""

    @property
    def wallet(self) -> Did:
        """The wallet DID: this node's identity on the ring."""
        return self.session.auth.authorizer.did

    def sign(self, digest: bytes) -> bytes:
        return self.key.sign(digest, self.crypto)

    @classmethod
    async def create(
        cls,
        signer: WalletSigner,
        *,
        crypto: CryptoBackend,
        now: int,
        random_bytes: Callable[[int], bytes],
        ttl_ms: int | None = DEFAULT_SESSION_TTL_MS,
    ) -> "SessionManager":
        """Make a session key and have ``signer`` sign the delegation once.

        Raises:
            SignerError: the wallet failed, or returned a signature that does not verify.
            InvalidArgument: bad ttl or signer settings.
        """
        key = SessionKey.generate(random_bytes, crypto)
        auth = new_auth(signer.address, key, now, signer.mode, ttl_ms, signer.pubkey)
        sig = normalize_signature(await signer.sign(auth_text(auth)), signer.mode)
        session = Session(sig, auth)
        try:
            verify_session(session, crypto)
        except InvalidSignature as e:
            raise SignerError(f"the wallet's signature does not verify: {e}") from None
        return cls(key, session, crypto)
