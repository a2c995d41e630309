"""Identity: wallet delegation to an ephemeral session key (SPEC §5)."""

from .auth import (
    DEFAULT_SESSION_TTL_MS, SessionKey, auth_text, check_session, new_auth, public_key_address,
    session_expired, verify_session,
)
from .manager import SessionManager
from .signers import CallbackSigner, Eip1193Signer, LocalKeySigner, ProviderError, WalletSigner, normalize_signature

__all__ = [
    "DEFAULT_SESSION_TTL_MS", "SessionKey", "auth_text", "check_session", "new_auth",
    "public_key_address", "session_expired", "verify_session", "SessionManager",
    "CallbackSigner", "Eip1193Signer", "LocalKeySigner", "ProviderError", "WalletSigner", "normalize_signature",
]
