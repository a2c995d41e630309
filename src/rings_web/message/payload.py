"""Building, signing and verifying ``MessagePayload`` (SPEC §4.1, §5.4–5.6, §7.5).

Every function takes ``now`` (ms since the epoch) and, where a new message is made, its
``tx_id``: no clock and no randomness in here.  Signatures cover the canonical serde_json
text of the message (``pack_msg``), never the bincode bytes.
"""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict

from ..crypto import CryptoBackend, is_low_s
from ..crypto.hashing import eth_address, keccak256_byte_list
from ..did import Did
from ..errors import CryptoError, ExpiredError, InvalidSignature, OriginMismatch, RelayError, ReplayError
from ..session.auth import check_session, session_expired
from ..session.manager import SessionManager
from ..wire import json as wire_json
from ..wire.buffer import Reader, Writer
from ..wire.chunk import DEFAULT_TTL_MS, MAX_TTL_MS, TS_OFFSET_TOLERANCE_MS
from ..wire.types import (
    MESSAGE, PAYLOAD, CustomMessage, Message, MessagePayload, MessageRelay, MessageVerification, Session,
)

__all__ = [
    "pack_msg", "message_digest", "signer_key", "sign_message", "check_message_signature", "first_hop", "send", "direct", "report", "forward",
    "reset_destination", "is_expired", "Verifier", "encode_payload", "decode_payload",
    "payload_to_json", "payload_from_json",
]

_U128 = (1 << 128) - 1


# -- codec shortcuts ---------------------------------------------------------------------------
def encode_payload(payload: MessagePayload) -> bytes:
    w = Writer()
    PAYLOAD.push(w, payload)
    return w.getvalue()


def decode_payload(data: bytes) -> MessagePayload:
    """bincode → payload; raises DecodeError (trailing bytes are ignored, as in 0.2.5)."""
    return PAYLOAD.pull(Reader(data))


def payload_to_json(payload: MessagePayload) -> str:
    """The handshake-string form (canonical serde_json)."""
    return wire_json.dumps(PAYLOAD.to_json(payload))


def payload_from_json(text: str | bytes) -> MessagePayload:
    return PAYLOAD.from_json(wire_json.loads(text))


# -- signing -----------------------------------------------------------------------------------
def pack_msg(data: Message, ts_ms: int, ttl_ms: int) -> bytes:
    """serde_json(data) + "\\n" + ts_ms + "\\n" + ttl_ms: what the session key signs (§5.4)."""
    return f"{wire_json.dumps(MESSAGE.to_json(data))}\n{ts_ms}\n{ttl_ms}".encode()


_CUSTOM_JSON = {False: b'{"CustomMessage":{"Plain":[', True: b'{"CustomMessage":{"Encrypted":['}


def message_digest(crypto: CryptoBackend, data: Message, ts_ms: int, ttl_ms: int) -> bytes:
    """Keccak-256 of :func:`pack_msg` -- what the session key signs.

    A custom message's body, most of the text, is hashed as a number list straight from its
    bytes (:func:`~rings_web.crypto.hashing.keccak256_byte_list`): the same text, built faster.
    """
    if isinstance(data, CustomMessage):
        return keccak256_byte_list(crypto, _CUSTOM_JSON[data.encrypted], data.data, _custom_suffix(ts_ms, ttl_ms))
    return crypto.keccak256(pack_msg(data, ts_ms, ttl_ms))


def _custom_suffix(ts_ms: int, ttl_ms: int) -> bytes:
    return f"]}}}}\n{ts_ms}\n{ttl_ms}".encode()


def signer_key(crypto: CryptoBackend, data: Message, v: MessageVerification) -> bytes:
    """The public key that made ``v.sig`` over ``data`` (at ``v``'s ts and ttl): recovered from
    :func:`message_digest`, or, for a custom message on a backend that offers
    ``secp256k1_recover_byte_list`` (Pyodide's), hashed and recovered in one call."""
    fast = getattr(crypto, "secp256k1_recover_byte_list", None)
    if fast is not None and isinstance(data, CustomMessage):
        return fast(_CUSTOM_JSON[data.encrypted], data.data, _custom_suffix(v.ts_ms, v.ttl_ms), v.sig)
    return crypto.secp256k1_recover(message_digest(crypto, data, v.ts_ms, v.ttl_ms), v.sig)


_NO_SIGNATURE = bytes(65)


def sign_message(sm: SessionManager, data: Message, now: int, ttl_ms: int = DEFAULT_TTL_MS) -> MessageVerification:
    if sm.insecure_unsigned:
        return MessageVerification(sm.session, ttl_ms, now, _NO_SIGNATURE)
    return MessageVerification(sm.session, ttl_ms, now, sm.sign(message_digest(sm.crypto, data, now, ttl_ms)))


# -- relay operations (§7.5) -------------------------------------------------------------------
def first_hop(sm: SessionManager, data: Message, *, next_hop: Did, destination: Did, now: int, tx_id: uuid.UUID) -> MessagePayload:
    """A new message from this node: path ``[self]``, origin signature = this hop's."""
    v = sign_message(sm, data, now)
    return MessagePayload(data, tx_id, sm.wallet, MessageRelay((sm.wallet,), next_hop, destination), v, v)


def send(sm: SessionManager, data: Message, *, next_hop: Did, destination: Did, now: int, tx_id: uuid.UUID) -> MessagePayload:
    """``send_message``: routed towards ``destination`` via ``next_hop``."""
    return first_hop(sm, data, next_hop=next_hop, destination=destination, now=now, tx_id=tx_id)


def direct(sm: SessionManager, data: Message, *, destination: Did, now: int, tx_id: uuid.UUID) -> MessagePayload:
    """``send_direct_message``: next hop = destination."""
    return first_hop(sm, data, next_hop=destination, destination=destination, now=now, tx_id=tx_id)


def report(sm: SessionManager, request: MessagePayload, data: Message, *, now: int) -> MessagePayload:
    """``send_report_message``: back to the previous hop, for the originator, same tx_id."""
    path = request.relay.path
    if not path:
        raise RelayError("cannot report to a payload with an empty path")
    return first_hop(sm, data, next_hop=path[-1], destination=path[0], now=now, tx_id=request.tx_id)


def forward(sm: SessionManager, payload: MessagePayload, *, next_hop: Did, now: int,
            destination: Did | None = None) -> MessagePayload:
    """``forward_payload``: append self to the path; new hop signature, origin's kept."""
    relay = payload.relay
    new_relay = MessageRelay(relay.path + (sm.wallet,), next_hop, relay.destination if destination is None else destination)
    return MessagePayload(payload.data, payload.tx_id, sm.wallet, new_relay,
                          sign_message(sm, payload.data, now), payload.origin_verification)


def reset_destination(sm: SessionManager, payload: MessagePayload, *, next_hop: Did, now: int) -> MessagePayload:
    """``reset_destination``: forward with next hop and destination both ``next_hop``."""
    return forward(sm, payload, next_hop=next_hop, destination=next_hop, now=now)


# -- verification (§5.5, §5.6) -----------------------------------------------------------------
def check_message_signature(crypto: CryptoBackend, v: MessageVerification, data: Message,
                            addresses: dict[bytes, Did] | None = None) -> None:
    """The session key of ``v`` signed ``data`` (:func:`signer_key`; step 3c of SPEC §5.5).

    ``addresses`` caches public key → address (a session signs many messages with one key).

    Raises:
        InvalidSignature: the recovered address is not ``session_id``, the sig is malformed,
            or it is the high-S twin (s > n/2) of a valid one: beyond 0.2.5, whose signer
            (libsecp256k1) makes low-S only, as every captured frame shows.
    """
    try:
        public_key = signer_key(crypto, data, v)
    except CryptoError as e:
        raise InvalidSignature(f"message signature: {e}") from None
    if not is_low_s(v.sig):
        raise InvalidSignature("message signature is high-S (s > n/2): only low-S ones are made")
    signer = addresses.get(public_key) if addresses is not None else None
    if signer is None:
        signer = Did.from_bytes20(eth_address(crypto, public_key))
        if addresses is not None:
            if len(addresses) >= 4096:
                addresses.pop(next(iter(addresses)))
            addresses[public_key] = signer
    if signer != v.session.auth.session_id:
        raise InvalidSignature(f"message signed by {signer.hex()}, not session {v.session.auth.session_id.hex()}")


def is_expired(payload: MessagePayload, now: int) -> bool:
    """``MessagePayload::is_expired`` exactly, quirks included (SPEC §5.6, §10 item 4).

    Timestamps more than 3 s in the future and TTLs over 3 000 000 ms never expire; the
    u128 subtraction wraps for ``ts_ms < 3000``.
    """
    v, ov = payload.verification, payload.origin_verification
    if v.ttl_ms > MAX_TTL_MS or ov.ttl_ms > MAX_TTL_MS:
        return False
    if (v.ts_ms - TS_OFFSET_TOLERANCE_MS) & _U128 > now or (ov.ts_ms - TS_OFFSET_TOLERANCE_MS) & _U128 > now:
        return False
    return now > v.ts_ms + v.ttl_ms and now > ov.ts_ms + ov.ttl_ms


class Verifier:
    """Checks received payloads with 0.2.5's rules, plus a replay cache of our own.

    Wallet signatures are checked once per distinct session and remembered (bounded LRU).
    The replay cache keys an accepted payload on what its origin signed -- ``tx_id``, origin
    session, origin signature (low-S only, so it has one form) -- and on the wallet of the
    hop that signed it last: a relay that signs a copy again is the same hop, while a message
    handed back to a node on its path comes from another one.  Entries live until the origin
    signature is ``MAX_TTL_MS`` old (at most ``replay_capacity`` of them); older origin
    signatures are refused, or a relay could re-sign a forgotten one with a fresh ``ts_ms``
    (0.2.5 expires a payload only when both of its signatures have expired).
    """

    def __init__(self, crypto: CryptoBackend, *, session_capacity: int = 4096, replay_capacity: int = 65_536) -> None:
        self.crypto = crypto
        self._sessions: OrderedDict[Session, Did] = OrderedDict()
        self._session_capacity = session_capacity
        self._seen: OrderedDict[tuple[uuid.UUID, Did, bytes, Did], float] = OrderedDict()
        self._replay_capacity = replay_capacity
        self._addresses: dict[bytes, Did] = {}  # session public key -> address
        # the session last checked and its wallet: the codec hands back one Session object for
        # the same bytes (wire.types' session memo), so the next payload of a stream, and its
        # origin verification, find it by identity without hashing the whole Session
        self._last: tuple[Session | None, Did | None] = (None, None)

    def wallet_of(self, session: Session, now: int) -> Did:
        """Wallet DID of a session after checking expiry and its wallet signature."""
        last, wallet = self._last
        if session is not last:
            wallet = self._sessions.get(session)
            if wallet is None:  # checked now, expiry included
                wallet = check_session(session, now, self.crypto)
                self._sessions[session] = wallet
                if len(self._sessions) > self._session_capacity:
                    self._sessions.popitem(last=False)
                self._last = (session, wallet)
                return wallet
            self._sessions.move_to_end(session)
            self._last = (session, wallet)
        if session_expired(session.auth, now):  # a session checked earlier may have expired since
            raise ExpiredError(f"session {session.auth.session_id.hex()} expired")
        return wallet

    def _check(self, v: MessageVerification, data: Message, now: int) -> Did:
        """The wallet that signed ``v``, after checking its session and signature."""
        wallet = self.wallet_of(v.session, now)
        check_message_signature(self.crypto, v, data, self._addresses)
        return wallet

    def verify(self, payload: MessagePayload, now: int) -> Did:
        """Accept or reject a received payload (``MessagePayload::verify``).

        Returns:
            The origin's wallet DID (= ``relay.path[0]``).

        Raises:
            ExpiredError, OriginMismatch, InvalidSignature, RelayError, ReplayError.
        """
        if is_expired(payload, now):
            raise ExpiredError(f"payload {payload.tx_id} expired")
        v, ov = payload.verification, payload.origin_verification
        if now > _forgotten_after(ov):
            raise ExpiredError(f"payload {payload.tx_id}: its origin signed it longer ago than replays are remembered")
        if not payload.relay.path:
            raise RelayError("empty relay path")
        origin = self.wallet_of(ov.session, now)
        if payload.relay.path[0] != origin:
            raise OriginMismatch(f"path[0] {payload.relay.path[0].hex()} is not the origin wallet {origin.hex()}")
        hop = self._check(v, payload.data, now)
        if ov != v:
            self._check(ov, payload.data, now)
        self._remember((payload.tx_id, ov.session.auth.session_id, ov.sig, hop), _forgotten_after(ov), now)
        return origin

    def _remember(self, key: tuple[uuid.UUID, Did, bytes, Did], expiry: float, now: int) -> None:
        seen = self._seen
        while seen:  # entries arrive in rough time order: drop expired ones from the front
            oldest, oldest_expiry = next(iter(seen.items()))
            if oldest_expiry >= now:
                break
            del seen[oldest]
        if key in seen:
            raise ReplayError(f"payload {key[0]} was already accepted from this hop")
        seen[key] = expiry
        if len(seen) > self._replay_capacity:
            seen.popitem(last=False)


def _forgotten_after(ov: MessageVerification) -> float:
    """When the replay cache forgets a payload with this origin verification: ``MAX_TTL_MS``
    after it was signed, or never (until evicted) for the two kinds 0.2.5 never expires."""
    if ov.ttl_ms > MAX_TTL_MS or ov.ts_ms < TS_OFFSET_TOLERANCE_MS:
        return math.inf
    return ov.ts_ms + MAX_TTL_MS

