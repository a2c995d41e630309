"""End-to-end encrypted custom messages (SPEC §5.7): what to encrypt to, and how.

0.2.5 encrypts a ``MaybeEncrypted<CustomMessage>`` with ``ecies::encrypt`` to the recipient's
*session* public key and decrypts with its session secret (``MessageHandler::decrypt_msg``).
A session key is learnt only by recovering it from a payload that session signed: the
origin signature of every custom message received (the engine has checked it, and that the
session's wallet delegation names the origin).  A node with no key of a DID asks with a
``KEY_REQUEST``; a rings-web node answers with a ``KEY_REPLY`` report, which its session
signs.  A genuine 0.2.5 node answers no request, but any message it sends teaches its key.

A recipient that restarted has a new session: what it gets encrypted to the old one does not
decrypt.  It answers such a message with a ``KEY_REPLY`` report (same tx_id), which teaches the
sender its new key; the sender encrypts the message again and sends it once more, or, when
the key did not change or it was already sent again, reports the failure as a
``payload:rejected`` with :class:`~rings_web.errors.DecryptionFailed`.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from .api_events import ApiEvent, Message, PayloadRejection
from .crypto import CryptoBackend
from .crypto.hashing import ecies_encrypt, eth_address
from .did import Did
from .engine.events import PayloadRejected
from .errors import DecryptionFailed, InvalidSignature, LocalError, NoSessionKey
from .message.custom import backend_body
from .message.payload import message_digest
from .wire.types import MessagePayload

if TYPE_CHECKING:
    from .drivers.aio import AsyncDriver

__all__ = ["KEY_REQUEST", "KEY_REPLY", "SessionKeys", "Encryption", "encrypt_body"]

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


@dataclass(slots=True)
class _Sent:
    """An encrypted message, kept until its recipient could have said it cannot decrypt it."""

    did: Did
    body: bytes  # the plaintext CustomMessage body
    key: bytes  # the session key it was encrypted to
    at: int  # ms, when sent
    resent: bool  # already the second try


class Encryption:
    """A client's end-to-end encryption: others' session keys, the key exchange, and the one
    resend of a message whose recipient's session changed.

    Args:
        node: the running node.
        emit: hands an application event to the client's listeners.
        keep: encrypted messages kept for a resend (the oldest dropped first); each for the
            request timeout, the time a recipient's answer has to come back.
    """

    def __init__(self, node: AsyncDriver, emit: Callable[[ApiEvent], None], keep: int = 64) -> None:
        self.node = node
        self.emit = emit
        self.keys = SessionKeys(node.node.session.crypto)
        self._waiters: dict[Did, list[asyncio.Future]] = {}
        self._sent: OrderedDict[uuid.UUID, _Sent] = OrderedDict()
        self._keep = keep

    @property
    def _timeout_ms(self) -> int:
        return self.node.node.config.request_timeout_ms

    def on_message(self, message: Message) -> bool:
        """Learn the origin's session key; answer a KEY_REQUEST; resend what a KEY_REPLY says
        did not decrypt.  True: a key-exchange message (not the application's)."""
        self.keys.learn(message.payload)  # verified by the engine: cannot fail but for a bug
        for waiter in self._waiters.pop(message.origin, ()):
            if not waiter.done():
                waiter.set_result(None)
        if message.message_type == KEY_REQUEST:
            self._reply_key(message.payload)
        elif message.message_type == KEY_REPLY and message.tx_id in self._sent:
            self._undecrypted(message.tx_id, self._sent.pop(message.tx_id))
        return message.message_type in (KEY_REQUEST, KEY_REPLY)

    def on_rejected(self, event: PayloadRejected) -> None:
        """A message to us that did not decrypt: its sender may hold our previous session's
        key, so answer it with this session's KEY_REPLY."""
        if isinstance(event.error, DecryptionFailed) and event.payload is not None:
            self._reply_key(event.payload)

    def _reply_key(self, payload: MessagePayload) -> None:
        try:
            self.node.reply_message(payload, backend_body(KEY_REPLY, b""))
        except LocalError:  # the hop it came through is gone: the asker times out
            pass

    def _undecrypted(self, tx_id: uuid.UUID, sent: _Sent) -> None:
        now = self.node.clock()
        key = self.keys.get(sent.did, now)
        if sent.resent:
            reason = "sent again already"
        elif key is None:
            reason = "its session has expired"
        elif key == sent.key:
            reason = "its session key did not change"
        elif now - sent.at > self._timeout_ms:
            reason = f"its answer came over {self._timeout_ms} ms later"
        else:
            try:
                self._remember(self._encrypted(sent.did, sent.body, key), sent.did, sent.body, key, resent=True)
                return
            except LocalError as e:  # no route any more
                reason = f"sending it again failed: {e}"
        self.emit(PayloadRejection(DecryptionFailed(
            f"{sent.did.hex()} could not decrypt message {tx_id} ({reason})")))

    async def session_key(self, did: Did, timeout_ms: int | None = None) -> bytes:
        """See :meth:`Client.session_key <rings_web.client.Client.session_key>`."""
        key = self.keys.get(did, self.node.clock())
        if key is not None:
            return key
        timeout_ms = self._timeout_ms if timeout_ms is None else timeout_ms
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(did, []).append(waiter)
        try:
            self.node.send_message(did, backend_body(KEY_REQUEST, b""))
            await asyncio.wait_for(waiter, timeout_ms / 1000)
        except (asyncio.TimeoutError, LocalError) as e:
            raise NoSessionKey(f"no session key of {did.hex()}: {str(e) or 'no answer within %d ms' % timeout_ms}") from None
        finally:
            if waiter in self._waiters.get(did, ()):
                self._waiters[did].remove(waiter)
        key = self.keys.get(did, self.node.clock())
        if key is None:
            raise NoSessionKey(f"the session of {did.hex()} that answered has expired")
        return key

    def send(self, did: Did, body: bytes) -> uuid.UUID:
        """Send ``body`` encrypted to ``did``'s known session key; returns its tx_id.

        Raises:
            NoSessionKey: no key of ``did`` is known (:meth:`session_key` obtains one).
            LocalError: no route to ``did``.
        """
        key = self.keys.get(did, self.node.clock())
        if key is None:
            raise NoSessionKey(f"no session key of {did.hex()} known: await session_key(did) first")
        return self._remember(self._encrypted(did, body, key), did, body, key, resent=False)

    def _encrypted(self, did: Did, body: bytes, key: bytes) -> uuid.UUID:
        return self.node.send_message(did, encrypt_body(self.keys.crypto, key, body, os.urandom), encrypted=True)

    def _remember(self, tx_id: uuid.UUID, did: Did, body: bytes, key: bytes, resent: bool) -> uuid.UUID:
        now = self.node.clock()
        self._sent[tx_id] = _Sent(did, body, key, now, resent)
        while self._sent and (len(self._sent) > self._keep or now - next(iter(self._sent.values())).at > self._timeout_ms):
            self._sent.popitem(last=False)
        return tx_id
