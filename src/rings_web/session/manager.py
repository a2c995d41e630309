"""The local session: a session key plus the wallet's signed delegation (SPEC §5.2)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..crypto import CryptoBackend
from ..did import Did
from ..errors import CryptoError, DecodeError, InvalidSignature, SignerError
from ..wire.buffer import Reader, Writer
from ..wire.types import SESSION, Session, Signer
from .auth import DEFAULT_SESSION_TTL_MS, SessionKey, auth_text, new_auth, session_expired, verify_session
from .signers import WalletSigner, normalize_signature

__all__ = ["SessionManager", "RESTORE_MARGIN_MS"]

#: a kept session is restored only while it has this long left (ms): a page open for hours
#: must not outlive its delegation, and peers' clocks may run ahead of ours
RESTORE_MARGIN_MS = 86_400_000


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

    def to_record(self, chain_id: int | None) -> dict:
        """What a page keeps to restore this session later without the wallet: the delegation
        (bincode ``Session``), the session key's secret (never the wallet's), the account, the
        chain the application asked for and when the delegation expires (ms, None: never)."""
        w = Writer()
        SESSION.push(w, self.session)
        auth = self.session.auth
        return {"session": w.getvalue(), "secret": self.key.secret, "account": self.wallet.hex(),
                "chainId": chain_id, "expires": None if auth.ttl_ms is None else auth.ts_ms + auth.ttl_ms}

    @classmethod
    def restore(cls, record: dict, *, wallet: Did, mode: Signer, chain_id: int | None, now: int,
                crypto: CryptoBackend) -> "SessionManager | None":
        """The session of a :meth:`to_record` record, or None when it may not be used: made for
        another wallet, signing mode or chain, expiring within :data:`RESTORE_MARGIN_MS` of
        ``now``, or damaged (its wallet signature or session key does not check out)."""
        try:
            session = SESSION.pull(Reader(bytes(record["session"])))
            key = SessionKey.from_secret(bytes(record["secret"]), crypto)
            if record.get("chainId") != chain_id:
                return None
            verify_session(session, crypto)
        except (KeyError, TypeError, ValueError, DecodeError, CryptoError, InvalidSignature):
            return None
        auth = session.auth
        if auth.authorizer.did != wallet or auth.signer != mode or auth.session_id != key.did \
                or session_expired(auth, now + RESTORE_MARGIN_MS):
            return None
        return cls(key, session, crypto)
