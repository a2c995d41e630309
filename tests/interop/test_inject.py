"""Frames built by rings-web are accepted by the genuine 0.2.5 node (through oracle.inject)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import pytest

from _vectors import VECTORS
from rings_web.crypto import default_backend
from rings_web.did import Did
from rings_web.message.custom import BackendType, backend_body
from rings_web.message.payload import direct, encode_payload
from rings_web.session import LocalKeySigner, SessionManager
from rings_web.wire.chunk import split
from rings_web.wire.types import CustomMessage, Signer

pytestmark = pytest.mark.browser
KEYS = VECTORS["test_keys"]
CRYPTO = default_backend()


@pytest.fixture(scope="module")
def genuine_b(genuine):
    genuine.pair("A", KEYS["A"]["priv"], "B", KEYS["B"]["priv"])
    return Did.parse(KEYS["B"]["address"])


def now_ms() -> int:
    return int(time.time() * 1000)


def session(mode: Signer, ttl_ms=2_592_000_000) -> SessionManager:
    return asyncio.run(SessionManager.create(LocalKeySigner(KEYS["C"]["priv"], mode), crypto=CRYPTO, now=now_ms(),
                                             random_bytes=os.urandom, ttl_ms=ttl_ms))


def text_frames(sm: SessionManager, dest: Did, text: str, mtu: int = 60_000, **kw) -> list[bytes]:
    msg = CustomMessage(backend_body(BackendType.SimpleText, text.encode()))
    now = now_ms()
    p = direct(sm, msg, destination=dest, now=now, tx_id=uuid.uuid4())
    return split(encode_payload(p), uuid.uuid4(), now, mtu=mtu)


def deliver(genuine, frames, expected: bytes, timeout=10.0) -> bool:
    before = len(genuine.custom_texts("B"))
    genuine.inject("B", frames)
    return bool(genuine.wait_for(lambda: expected in genuine.custom_texts("B")[before:], timeout))


@pytest.mark.parametrize("mode", [Signer.EIP191, Signer.DEFAULT, Signer.BIP137])
def test_text_message_from_rings_web_reaches_custom_message_callback(genuine, genuine_b, mode):
    text = f"hello from rings-web ({mode.name})"
    assert deliver(genuine, text_frames(session(mode), genuine_b, text), text.encode())


def test_chunked_message_and_never_expiring_session(genuine, genuine_b):
    text = "rings-web chunked " + "z" * 70_000
    frames = text_frames(session(Signer.DEFAULT, ttl_ms=None), genuine_b, text)
    assert len(frames) == 2
    assert deliver(genuine, frames, text.encode(), timeout=15)


def test_tampered_frame_is_dropped_by_the_genuine_node(genuine, genuine_b):
    frames = text_frames(session(Signer.EIP191), genuine_b, "tampered-by-test")
    raw = bytearray(frames[0])
    at = raw.index(b"tampered-by-test")
    raw[at] ^= 0x20  # change the body after signing
    assert not deliver(genuine, [bytes(raw)], b"Tampered-by-test", timeout=3)
    assert not genuine.request("errors"), "the genuine page raised errors"
