"""Warming the message path while the page is idle after boot.

A page's first few hundred messages cost more CPU than later ones: V8 runs the interpreter's
and libsecp256k1's wasm, and Pyodide's JS glue, in its baseline tiers until they have run
enough to be recompiled.  So the node, once ready, signs, frames, reassembles, decodes and
verifies a text message of a throwaway key, and converts its event as the bridge does,
``rounds`` times in small slices between other work.  Nothing leaves the page: no frame is
sent, no event reaches a listener, the node's key and replay cache are not used.
"""

from __future__ import annotations

import asyncio
import random
import uuid

from .api_events import Message
from .crypto import CryptoBackend
from .did import Did
from .engine.events import MessageReceived
from .message.custom import BackendType, backend_body
from .message.payload import Verifier, decode_payload, direct, encode_payload
from .session import LocalKeySigner, SessionManager
from .wire.chunk import Reassembler, split
from .wire.types import CustomMessage

__all__ = ["warm_up"]

# a well-known throwaway key: what it signs never leaves the page
_KEY = "7761726d2d7570206b6579206f6620612072696e67732d776562206e6f646521"


async def warm_up(crypto: CryptoBackend, convert, *, rounds: int, now: int, pause_s: float = 0.0) -> None:
    """Run the message path ``rounds`` times, each after ``pause_s`` of other work;
    ``convert(event)`` is what the bridge does with an event before it crosses to JS (it must
    not emit it)."""
    await asyncio.sleep(pause_s)  # boot has returned: the page is ready before any of this
    session = await SessionManager.create(LocalKeySigner(_KEY, crypto=crypto), crypto=crypto, now=now,
                                          random_bytes=random.Random(now).randbytes)
    verifier = Verifier(crypto)
    text = CustomMessage(backend_body(BackendType.SimpleText, b"warm-up " * 128))
    reassembler = Reassembler()
    for i in range(rounds):
        await asyncio.sleep(pause_s)
        tx_id = uuid.uuid4()
        payload = direct(session, text, destination=Did(i + 1), now=now + i, tx_id=tx_id)
        for frame in split(encode_payload(payload), tx_id, now + i):
            whole = reassembler.receive(frame, now + i)
        received = decode_payload(whole)
        origin = verifier.verify(received, now + i)
        convert(Message.from_event(MessageReceived(origin, received.data.data, tx_id, received)))
