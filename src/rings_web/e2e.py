"""End-to-end encrypted custom messages (SPEC §5.7): what to encrypt to, and how.

0.2.5 encrypts a ``MaybeEncrypted<CustomMessage>`` with ``ecies::encrypt`` to the recipient's
*session* public key and decrypts with its session secret (``MessageHandler::decrypt_msg``).
A session key is learnt only by recovering it from a payload that session signed: the
origin signature of every custom message received (the engine has checked it, and that the
session's wallet delegation names the origin).  A node with no key of a DID asks with a
``KEY_REQUEST``; a rings-web node answers with a ``KEY_REPLY`` report, which its session
signs.  A genuine 0.2.5 node answers no request, but any message it sends teaches its key.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable

from .crypto import CryptoBackend
from .crypto.hashing import ecies_encrypt, eth_address
from .did import Did
from .errors import InvalidSignature
from .message.payload import message_digest
from .wire.types import MessagePayload

__all__ = ["KEY_REQUEST", "KEY_REPLY", "SessionKeys", "encrypt_body"]

#: BackendMessage types of the key exchange (rings-web's own; 0.2.5 ignores unknown types)
KEY_REQUEST = 0xE2E0
KEY_REPLY = 0xE2E1


@dataclass(frozen=True, slots=True)
class _Known:
    public_key: bytes  # 64 bytes X||Y
    session_id: Did
    ts_ms: int  # when the session was delegated
    expires_ms: int | None  # None: Ttl::Never


class SessionKeys:
    """Session public keys of other nodes by DID, each kept until its delegation expires.

    Args:
        crypto: the crypto backend.
        capacity: DIDs remembered (least recently learnt dropped first).
    """

    def __init__(self, crypto: CryptoBackend, capacity: int = 4096) -> None:
        self.crypto = crypto
        self._keys: OrderedDict[Did, _Known] = OrderedDict()
        self._capacity = capacity

    def learn(self, payload: MessagePayload) -> Did:
        """Recover the origin's session key from a *verified* payload; returns the origin.

        A newer session of the same DID replaces the older one; an older one is ignored.

        Raises:
            InvalidSignature: the origin signature does not recover to its session id.
        """
        ov, origin = payload.origin_verification, payload.relay.path[0]
        auth = ov.session.auth
        known = self._keys.get(origin)
        if known is not None and (known.session_id == auth.session_id or known.ts_ms > auth.ts_ms):
            return origin
        public_key = self.crypto.secp256k1_recover(message_digest(self.crypto, payload.data, ov.ts_ms, ov.ttl_ms), ov.sig)
        if Did.from_bytes20(eth_address(self.crypto, public_key)) != auth.session_id:
            raise InvalidSignature(f"origin signature of {payload.tx_id} is not by session {auth.session_id.hex()}")
        expires = None if auth.ttl_ms is None else auth.ts_ms + auth.ttl_ms
        self._keys[origin] = _Known(public_key, auth.session_id, auth.ts_ms, expires)
        self._keys.move_to_end(origin)
        if len(self._keys) > self._capacity:
            self._keys.popitem(last=False)
        return origin

    def get(self, did: Did, now: int) -> bytes | None:
        """The 64-byte session public key of ``did``, unless unknown or expired."""
        known = self._keys.get(did)
        if known is not None and known.expires_ms is not None and now > known.expires_ms:
            del self._keys[did]
            return None
        return None if known is None else known.public_key


def encrypt_body(crypto: CryptoBackend, public_key: bytes, body: bytes, random_bytes: Callable[[int], bytes]) -> bytes:
    """``MaybeEncrypted::Encrypted`` of a CustomMessage body: ECIES of its bincode
    (``u64`` length, then the bytes) to a session public key."""
    inner = len(body).to_bytes(8, "little") + bytes(body)
    return ecies_encrypt(crypto, public_key, inner, random_bytes(32), random_bytes(16))
