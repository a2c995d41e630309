"""End-to-end encrypted messages (SPEC §5.7) and the validator hook, over in-memory nodes
``a — relay — c`` with real signatures: the relay forwards what it cannot read."""

from __future__ import annotations

import asyncio
import os

import pytest

from rings_web.api_events import Message, PayloadRejection
from rings_web.client import Client, start_client
from rings_web.e2e import encrypt_body
from rings_web.engine.config import Config
from rings_web.errors import DecryptionFailed, InvalidArgument, MessageRefused, NoSessionKey
from rings_web.message.custom import backend_body
from rings_web.session import LocalKeySigner
from rings_web.transport.memory import MemoryHub, MemoryTransport
from rings_web.wire.types import ConnectNodeReport, ConnectNodeSend, CustomMessage
from test_client import until

pytestmark = pytest.mark.cpython_only(reason="asyncio.run needs stack switching in Pyodide; the browser tests run it there")
SECRET = "attack at dawn ✓"


class Tap(MemoryTransport):
    """A memory transport that keeps every frame its node sends."""

    def __init__(self, hub: MemoryHub, name: str) -> None:
        super().__init__(hub, name)
        hub._transports[name] = self  # as MemoryHub.transport registers its own
        self.sent: list[bytes] = []

    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None:
        self.sent.extend(frames)
        super().send(transport_id, frames)


class Gate(MemoryTransport):
    """A memory transport that can hold what its node sends, and let it go later, in order."""

    def __init__(self, hub: MemoryHub, name: str) -> None:
        super().__init__(hub, name)
        hub._transports[name] = self
        self.held: list[tuple[str, tuple[bytes, ...]]] | None = None  # None: frames go at once

    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None:
        if self.held is None:
            super().send(transport_id, frames)
        else:
            self.held.append((transport_id, frames))

    def release(self) -> None:
        held, self.held = self.held or [], None
        for transport_id, frames in held:
            super().send(transport_id, frames)


async def node(hub: MemoryHub, name: str, transport=None, key=None, **options) -> Client:
    # no stabilization within a test: a and c stay two hops apart
    return await start_client(LocalKeySigner(key or os.urandom(32)), transport or hub.transport(name),
                              config=Config(stabilize_interval_ms=600_000, request_timeout_ms=1_000), **options)


async def link(x: Client, y: Client) -> None:
    await x.accept_answer(await y.answer_offer(await x.create_offer()))
    await until(lambda: x.get_peer(y.address) and y.get_peer(x.address))


def run(scenario, **c_options) -> None:
    """``await scenario(a, relay, c, tap, events)`` on a fresh :func:`chain`."""
    async def main():
        nodes = await chain(**c_options)
        try:
            await scenario(*nodes)
        finally:
            for n in nodes[:3]:
                n.close()

    asyncio.run(main())


async def chain(**c_options):
    """a — relay — c; returns them, the relay's tap and c's events."""
    hub = MemoryHub()
    tap = Tap(hub, "relay")
    key = os.urandom(32)  # c's wallet: a test restarts c with it
    # joining, a would find c through the relay and link to it: a's validator refuses that
    a = await node(hub, "a", Gate(hub, "a"), validate=lambda p: not isinstance(p.data, (ConnectNodeSend, ConnectNodeReport)))
    relay, c = await node(hub, "relay", tap), await node(hub, "c", key=key, **c_options)
    c.wallet_key, c.hub = key, hub
    await link(a, relay)
    await link(relay, c)
    events: list = []
    c.on(events.append)
    return a, relay, c, tap, events


def of(kind, events) -> list:
    return [e for e in events if isinstance(e, kind)]


def test_encrypted_text_crosses_a_relay_that_sees_no_plaintext():
    async def scenario(a, relay, c, tap, events):
        with pytest.raises(NoSessionKey):  # nothing from c yet, and no implicit request
            a.send_simple_text_message(c.address, SECRET, encrypt=True)
        key = await a.session_key(c.address)  # a KEY_REQUEST, answered by c's session
        assert key == c.node.node.session.crypto.secp256k1_public_key(c.node.node.session.key.secret)
        assert not of(Message, events)  # the key exchange is not an application message
        before = len(tap.sent)
        a.send_simple_text_message(c.address, SECRET, encrypt=True)
        a.send_custom_message(c.address, 9, b"\x00secret-bytes\xff", encrypt=True)
        a.send_message(c.address, b"raw secret", encrypt=True)
        await until(lambda: len(of(Message, events)) == 3)
        text, custom, raw = of(Message, events)
        assert (text.text, text.encrypted, text.path) == (SECRET, True, (a.address, relay.address))
        assert (custom.message_type, custom.data, custom.encrypted) == (9, b"\x00secret-bytes\xff", True)
        assert (raw.data, raw.encrypted, raw.to_json()["encrypted"]) == (b"raw secret", True, True)
        forwarded = b"".join(tap.sent[before:])
        assert len(tap.sent) > before
        for plain in (SECRET.encode(), b"secret-bytes", b"raw secret"):
            assert plain not in forwarded
        a.send_simple_text_message(c.address, SECRET)  # the same text in the clear, for contrast
        await until(lambda: len(of(Message, events)) == 4)
        assert of(Message, events)[3].encrypted is False and SECRET.encode() in b"".join(tap.sent)

    run(scenario)


def test_no_session_key_when_the_recipient_never_answers():
    async def scenario(a, relay, c, *_):
        c.node.node.receive = lambda *args: None  # c hears nothing: the request goes unanswered
        with pytest.raises(NoSessionKey, match="no answer within 300 ms"):
            await a.session_key(c.address, timeout_ms=300)
        with pytest.raises(InvalidArgument):
            a.send_message(c.address, b"x", encrypt="yes")

    run(scenario)


def test_tampered_ciphertext_is_a_decryption_failure():
    async def scenario(a, relay, c, _tap, events):
        key = await a.session_key(c.address)
        blob = bytearray(encrypt_body(a.node.node.session.crypto, key, backend_body(2, b"hi"), os.urandom))
        blob[-1] ^= 1
        a.node.node.router.send(CustomMessage(bytes(blob), True), c.address, a.node.clock())
        a.node._pump()
        await until(lambda: of(PayloadRejection, events))
        assert isinstance(of(PayloadRejection, events)[0].error, DecryptionFailed)
        assert not of(Message, events)

    run(scenario)


def undecrypted(event) -> bool:
    # (a's validator refuses c's offers through the relay: those are MessageRefused)
    return isinstance(event, PayloadRejection) and isinstance(event.error, DecryptionFailed)


async def restarted(c: Client, relay: Client, events: list, name: str = "c2") -> Client:
    """c closes and starts again with the same wallet: same DID, a new session (a new key)."""
    c.close()
    await until(lambda: relay.get_peer(c.address) is None)
    c2 = await node(c.hub, name, key=c.wallet_key)
    c2.wallet_key, c2.hub = c.wallet_key, c.hub
    c2.on(events.append)
    await link(relay, c2)
    assert c2.address == c.address
    return c2


def test_a_recipient_that_restarted_gets_the_message_sent_to_its_old_session():
    async def scenario(a, relay, c, _tap, events):
        old = await a.session_key(c.address)
        c2 = await restarted(c, relay, events)
        try:
            rejections: list = []
            a.on(lambda e: rejections.append(e) if undecrypted(e) else None)
            assert await a.session_key(c.address) == old  # a cannot know yet: c2 said nothing
            first = a.send_simple_text_message(c.address, SECRET, encrypt=True)
            # c2 cannot decrypt it, says so with its new session's key, and a sends it once more
            await until(lambda: of(Message, events))
            (message,) = of(Message, events)
            assert (message.text, message.encrypted, message.origin) == (SECRET, True, a.address)
            assert message.tx_id != first
            assert [type(r.error) for r in of(PayloadRejection, events)] == [DecryptionFailed]
            assert await a.session_key(c.address) == c2.node.node.session.key.public_key != old
            a.send_simple_text_message(c.address, "and the next one", encrypt=True)  # the new key at once
            await until(lambda: len(of(Message, events)) == 2)
            assert len(of(PayloadRejection, events)) == 1 and not rejections
        finally:
            c2.close()

    run(scenario)


def test_a_recipient_whose_session_changes_again_before_the_resend_arrives_is_a_sender_side_error():
    async def scenario(a, relay, c, _tap, events):
        first_key = await a.session_key(c.address)
        c2 = await restarted(c, relay, events)
        c3 = None
        try:
            rejections: list = []
            a.on(lambda e: rejections.append(e) if undecrypted(e) else None)
            first = a.send_simple_text_message(c.address, SECRET, encrypt=True)  # to c's first session
            gate = a.node.transport
            gate.held = []  # a's resend, encrypted to c2's key, waits here while c restarts again
            second_key = c2.node.node.session.key.public_key
            await until(lambda: a._e2e.keys.get(c.address, a.node.clock()) == second_key and gate.held)
            c3 = await restarted(c2, relay, events, "c3")
            gate.release()
            await until(lambda: rejections)
            (failed,) = rejections
            assert f"{c.address.hex()} could not decrypt message " in str(failed.error)
            assert str(failed.error).endswith("(sent again already)") and str(first) not in str(failed.error)
            # each session got one copy it could not decrypt; the application saw neither
            assert [type(r.error) for r in of(PayloadRejection, events)] == [DecryptionFailed, DecryptionFailed]
            assert not of(Message, events)
            third_key = c3.node.node.session.key.public_key
            assert len({first_key, second_key, third_key}) == 3
            assert await a.session_key(c.address) == third_key  # learnt from c3's answer
        finally:
            for n in (c2, c3):
                if n is not None:
                    n.close()

    run(scenario)


def test_a_message_that_does_not_decrypt_with_an_unchanged_session_is_a_sender_side_error():
    async def scenario(a, relay, c, _tap, events):
        await a.session_key(c.address)
        known = a._e2e.keys._keys[c.address]
        wrong = a.node.node.session.key.public_key  # c's session id, another key: c cannot decrypt
        a._e2e.keys._keys[c.address] = type(known)(wrong, known.session_id, known.ts_ms, known.expires_ms)
        rejections: list = []
        a.on(lambda e: rejections.append(e) if undecrypted(e) else None)
        tx_id = a.send_simple_text_message(c.address, SECRET, encrypt=True)
        await until(lambda: rejections)
        (failed,) = rejections
        assert f"{c.address.hex()} could not decrypt message {tx_id} (its session key did not change)" in str(failed.error)
        assert not of(Message, events) and [type(r.error) for r in of(PayloadRejection, events)] == [DecryptionFailed]

    run(scenario)


def test_require_encryption_drops_plaintext_but_answers_key_requests():
    async def scenario(a, relay, c, _tap, events):
        a.send_simple_text_message(c.address, "in the clear")
        await until(lambda: of(PayloadRejection, events))
        assert isinstance(of(PayloadRejection, events)[0].error, MessageRefused)
        await a.session_key(c.address)
        a.send_simple_text_message(c.address, SECRET, encrypt=True)
        await until(lambda: of(Message, events))
        assert [m.text for m in of(Message, events)] == [SECRET]

    run(scenario, require_encryption=True)


def test_a_validator_refusal_is_a_payload_rejection():
    seen: list = []

    def validate(payload) -> bool:
        seen.append(payload)
        if isinstance(payload.data, CustomMessage) and b"explode" in payload.data.data:
            raise ValueError("the application's own bug")
        return not (isinstance(payload.data, CustomMessage) and b"forbidden" in payload.data.data)

    async def scenario(a, relay, c, _tap, events):
        a.send_simple_text_message(c.address, "forbidden word")
        a.send_simple_text_message(c.address, "explode")
        a.send_simple_text_message(c.address, "fine")
        await until(lambda: of(Message, events) and len(of(PayloadRejection, events)) == 2)
        assert [m.text for m in of(Message, events)] == ["fine"]
        refused, failed = (r.error for r in of(PayloadRejection, events))
        assert isinstance(refused, MessageRefused) and "refused" in str(refused)
        assert isinstance(failed, MessageRefused) and "the application's own bug" in str(failed)
        assert len(seen) >= 2

    run(scenario, validate=validate)
