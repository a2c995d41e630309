"""Wire dissector: turn what people paste while debugging interop into 0.2.5's own JSON.

Accepts a data-channel frame (hex; several frames of one message are reassembled), a raw
bincode payload (hex), a handshake string (JSON), or a base58-monero-check string, and
returns the canonical serde_json 0.2.5 itself produces (SPEC §2.2, §4.6).
"""

from __future__ import annotations

import string
from dataclasses import dataclass

from .crypto import CryptoBackend, default_backend
from .errors import DecodeError, RemoteError
from .message.payload import (
    check_message_signature, decode_payload, is_expired, payload_from_json, payload_to_json,
)
from .session.auth import verify_session
from .wire import base58
from .wire import json as wire_json
from .wire.chunk import decode_frame
from .wire.types import MessagePayload

__all__ = ["Dissected", "dissect", "verdicts"]

_HEX = frozenset(string.hexdigits)


@dataclass(frozen=True, slots=True)
class Dissected:
    kind: str  # "frame", "payload", "handshake" or "base58"
    json: str  # canonical JSON text
    payload: MessagePayload | None = None


def _payload_from_frames(hexes: list[str]) -> MessagePayload:
    pieces: dict[int, bytes] = {}
    count = None
    for text in hexes:
        chunk = decode_frame(_unhex(text))
        if count is None:
            count = chunk.count
        elif chunk.count != count:
            raise DecodeError("frames belong to different messages (piece counts differ)")
        pieces[chunk.index] = chunk.data
    if count is None or len(pieces) != count:
        raise DecodeError(f"incomplete message: {len(pieces)} of {count} pieces given")
    return decode_payload(b"".join(pieces[i] for i in range(count)))


def _unhex(text: str) -> bytes:
    text = text.strip().removeprefix("0x")
    if len(text) % 2 or not _HEX.issuperset(text):
        raise DecodeError("not a hex string")
    return bytes.fromhex(text)


def dissect(inputs: list[str], kind: str | None = None) -> Dissected:
    """Decode ``inputs`` (one string, or several frames of one message).

    Args:
        kind: force "frame", "payload", "handshake" or "base58"; guessed when None.

    Raises:
        DecodeError: the input is none of those, or is malformed.
    """
    inputs = [s.strip() for s in inputs if s.strip()]
    if not inputs:
        raise DecodeError("nothing to decode")
    first = inputs[0]
    if kind is None:
        if first.startswith("{"):
            kind = "handshake"
        elif all(_HEX.issuperset(s.removeprefix("0x")) for s in inputs):
            try:
                return _frame(inputs)
            except DecodeError:
                if len(inputs) > 1:
                    raise
                kind = "payload"
        else:
            kind = "base58"
    if kind == "frame":
        return _frame(inputs)
    if len(inputs) > 1:
        raise DecodeError(f"a {kind} is a single string")
    if kind == "payload":
        p = decode_payload(_unhex(first))
        return Dissected("payload", payload_to_json(p), p)
    if kind == "handshake":
        p = payload_from_json(first)
        return Dissected("handshake", payload_to_json(p), p)
    if kind == "base58":
        raw = base58.decode_check(first)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        return Dissected("base58", wire_json.dumps({"hex": raw.hex(), "utf8": text}))
    raise DecodeError(f"unknown input kind {kind!r}")


def _frame(inputs: list[str]) -> Dissected:
    p = _payload_from_frames(inputs)
    return Dissected("frame", payload_to_json(p), p)


def verdicts(p: MessagePayload, now: int, crypto: CryptoBackend | None = None) -> list[tuple[str, bool, str]]:
    """One ``(check, ok, detail)`` per signature and for the expiry and origin rules."""
    crypto = crypto or default_backend()
    out: list[tuple[str, bool, str]] = []
    expired = is_expired(p, now)
    out.append(("expiry", not expired, f"{'expired' if expired else 'not expired'} at now={now}"))
    for name in ("verification", "origin_verification"):
        v = getattr(p, name)
        try:
            wallet = verify_session(v.session, crypto)
            out.append((f"{name}.session.sig", True, f"{v.session.auth.signer.name} by wallet {wallet.hex()}"))
        except RemoteError as e:
            out.append((f"{name}.session.sig", False, str(e)))
        try:
            check_message_signature(crypto, v, p.data)
            out.append((f"{name}.sig", True, f"by session key {v.session.auth.session_id.hex()}"))
        except RemoteError as e:
            out.append((f"{name}.sig", False, str(e)))
    path0 = p.relay.path[0] if p.relay.path else None
    origin = p.origin_verification.session.auth.authorizer.did
    out.append(("relay.path[0]", path0 == origin, f"{path0.hex() if path0 else 'empty path'} vs origin wallet {origin.hex()}"))
    return out

