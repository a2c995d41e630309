"""Hostile payloads with real signatures, pushed through ``Engine.receive``: each is rejected with
the right error and changes nothing else (no state, no action); next to each, the genuine payload
it was made from is accepted, so every check here can fail.

Only the engine's public API: two real nodes linked by the manual handshake (``create_offer``,
``answer_offer``, ``accept_answer``, ``transport_open``), frames fed to ``receive``, outputs
read from ``actions_to_perform`` and ``next_event``.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from dataclasses import replace

import pytest

from _support import run_sync
from rings_web.crypto import default_backend
from rings_web.crypto._checks import SECP256K1_N
from rings_web.did import Did
from rings_web.engine.config import Config
from rings_web.engine.events import (
    AcceptOffer, ApplyAnswer, CreateOffer, MessageReceived, PayloadRejected, RequestDone, SendFrames,
)
from rings_web.engine.core import Engine
from rings_web.errors import ExpiredError, InvalidSignature, OriginMismatch, RelayError, RemoteError, ReplayError
from rings_web.message import payload as pl
from rings_web.session import LocalKeySigner, SessionManager
from rings_web.wire.chunk import Reassembler, decode_frame, split
from rings_web.wire.types import (
    CustomMessage, FindSuccessorReport, FindSuccessorSend, Handler, HandshakeInfo, MessageRelay,
)

CRYPTO = default_backend()
NOW = 1_800_000_000_000
CONFIG = Config(stabilize_interval_ms=10**9)  # no stabilization round: nothing moves by itself
BODY = b"\0\0\0\0hello"


def session(name: str, now: int = NOW) -> SessionManager:
    secret = hashlib.sha256(name.encode()).digest()
    rng = random.Random(name)
    return run_sync(SessionManager.create(LocalKeySigner(secret, crypto=CRYPTO), crypto=CRYPTO, now=now,
                                          random_bytes=rng.randbytes))


SESSIONS = {name: session(name) for name in ("alice", "bob", "carol", "dave", "sybil")}


def drain(node: Engine) -> tuple[list, list]:
    events = []
    while (e := node.next_event()) is not None:
        events.append(e)
    return node.actions_to_perform(), events


def link(a: Engine, b: Engine, now: int) -> tuple[str, list]:
    """Link ``a`` and ``b`` by the manual handshake; ``a``'s transport id and its first sends."""
    rid = a.create_offer(now)
    (offer_action,) = [x for x in a.actions_to_perform() if isinstance(x, CreateOffer)]
    a.offer_ready(offer_action.transport_id, HandshakeInfo('{"sdp":"o","type":"offer"}'), now)
    offer = next(e.value for e in drain(a)[1] if isinstance(e, RequestDone) and e.request_id == rid)
    rid = b.answer_offer(offer, now)
    (accept,) = [x for x in b.actions_to_perform() if isinstance(x, AcceptOffer)]
    b.answer_ready(accept.transport_id, HandshakeInfo('{"sdp":"a","type":"answer"}'), now)
    answer = next(e.value for e in drain(b)[1] if isinstance(e, RequestDone) and e.request_id == rid)
    a.accept_answer(answer, now)
    assert [x for x in a.actions_to_perform() if isinstance(x, ApplyAnswer)]
    a.transport_open(offer_action.transport_id, now)
    b.transport_open(accept.transport_id, now)
    drain(b)
    return offer_action.transport_id, drain(a)[0]


@pytest.fixture
def net():
    """alice linked to bob and to dave; carol and sybil are known only by their signatures."""
    alice = Engine(SESSIONS["alice"], rng=random.Random(1), config=CONFIG)
    bob = Engine(SESSIONS["bob"], rng=random.Random(2), config=CONFIG)
    dave = Engine(SESSIONS["dave"], rng=random.Random(3), config=CONFIG)
    via_bob, first_sends = link(alice, bob, NOW)
    via_dave, _ = link(alice, dave, NOW)
    return alice, via_bob, via_dave, first_sends


def deliver(node: Engine, tid: str, payload, now: int) -> tuple[list, list]:
    for frame in split(pl.encode_payload(payload), uuid.uuid4(), now):
        node.receive(tid, frame, now)
    return drain(node)


def state(node: Engine) -> tuple:
    ring = node.ring
    return (node.peers, node.transport_ids, node.pending_transport_ids, ring.successors.list(), ring.predecessor,
            list(ring.fingers), dict(node.storage.owned), dict(node.storage.replicas),
            node.get_timer())


def rejected(node: Engine, tid: str, payload, error: type, now: int = NOW, match: str = "") -> None:
    """``payload`` is dropped with one PayloadRejected(``error``) and nothing else happens."""
    before = state(node)
    actions, events = deliver(node, tid, payload, now)
    assert actions == []
    (event,) = events
    assert isinstance(event, PayloadRejected) and event.transport_id == tid
    assert isinstance(event.error, error), event.error
    assert match in str(event.error)
    assert state(node) == before


def accepted(node: Engine, tid: str, payload, now: int = NOW) -> None:
    actions, events = deliver(node, tid, payload, now)
    assert [e.body for e in events if isinstance(e, MessageReceived)] == [payload.data.data], events
    assert not [e for e in events if isinstance(e, PayloadRejected)]


def direct(sender: str, to: Engine, body: bytes = BODY, now: int = NOW):
    return pl.direct(SESSIONS[sender], CustomMessage(body), destination=to.me, now=now, tx_id=uuid.uuid4())


def relayed(origin: str, relay: str, to: Engine, now: int = NOW, relay_now: int | None = None):
    """A message from ``origin`` for ``to``, forwarded to it by ``relay``."""
    p = pl.send(SESSIONS[origin], CustomMessage(BODY), next_hop=SESSIONS[relay].wallet, destination=to.me, now=now,
                tx_id=uuid.uuid4())
    return pl.forward(SESSIONS[relay], p, next_hop=to.me, now=now if relay_now is None else relay_now)


def high_s_twin(sig: bytes) -> bytes:
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([sig[64] ^ 1])


# -- tampered ---------------------------------------------------------------------------------------
def test_tampered_body_and_signature_are_rejected(net):
    alice, via_bob, _, _ = net
    p = direct("bob", alice)
    rejected(alice, via_bob, replace(p, data=CustomMessage(b"\0\0\0\0hellO")), InvalidSignature)
    sig = bytearray(p.verification.sig)
    sig[5] ^= 1
    v = replace(p.verification, sig=bytes(sig))
    rejected(alice, via_bob, replace(p, verification=v, origin_verification=v), InvalidSignature)
    accepted(alice, via_bob, p)


def test_a_relayed_message_with_a_tampered_origin_signature_is_rejected(net):
    alice, via_bob, _, _ = net
    p = relayed("carol", "bob", alice)
    sig = bytearray(p.origin_verification.sig)
    sig[40] ^= 1
    rejected(alice, via_bob, replace(p, origin_verification=replace(p.origin_verification, sig=bytes(sig))),
             InvalidSignature)
    accepted(alice, via_bob, p)


# -- expired ----------------------------------------------------------------------------------------
def test_expired_payload_and_expired_session_are_rejected(net):
    alice, via_bob, _, _ = net
    rejected(alice, via_bob, direct("bob", alice, now=NOW), ExpiredError, now=NOW + 300_001)
    accepted(alice, via_bob, direct("bob", alice, now=NOW), now=NOW + 300_000)
    old = session("bob", now=NOW - 2_592_000_001)  # bob's wallet, a session 30 days and 1 ms old
    p = pl.direct(old, CustomMessage(BODY), destination=alice.me, now=NOW, tx_id=uuid.uuid4())
    rejected(alice, via_bob, p, ExpiredError, match="session")


def test_an_old_origin_signature_signed_again_by_a_relay_is_rejected(net):
    """0.2.5 expires a payload only when both signatures have: a relay's fresh one would keep
    any origin message alive, past the time the replay cache remembers it."""
    alice, via_bob, _, _ = net
    later = NOW + 3_000_001  # MAX_TTL_MS and 1 ms after carol signed
    rejected(alice, via_bob, relayed("carol", "bob", alice, now=NOW, relay_now=later), ExpiredError,
             now=later, match="remembered")
    accepted(alice, via_bob, relayed("carol", "bob", alice, now=NOW, relay_now=later - 1), now=later - 1)


# -- replayed ---------------------------------------------------------------------------------------
def test_the_same_frames_twice_are_a_replay(net):
    alice, via_bob, _, _ = net
    p = direct("bob", alice)
    accepted(alice, via_bob, p)
    rejected(alice, via_bob, p, ReplayError, now=NOW + 5)


def test_a_high_s_twin_is_rejected(net):
    """(r, n - s, v ^ 1) recovers the same key on every backend: without a low-S rule it would
    be a second valid signature, so a new copy for any cache keyed on signature bytes."""
    alice, via_bob, _, _ = net
    p = direct("bob", alice)
    assert CRYPTO.secp256k1_recover(pl.message_digest(CRYPTO, p.data, NOW, p.verification.ttl_ms),
                                    high_s_twin(p.verification.sig)) == SESSIONS["bob"].key.public_key
    twin = replace(p.verification, sig=high_s_twin(p.verification.sig))
    rejected(alice, via_bob, replace(p, verification=twin, origin_verification=twin), InvalidSignature, match="high-S")
    accepted(alice, via_bob, p)
    # after the genuine copy, a twin of either signature alone
    rejected(alice, via_bob, replace(p, verification=twin), InvalidSignature, match="high-S")
    q = relayed("carol", "bob", alice)
    accepted(alice, via_bob, q)
    origin_twin = replace(q.origin_verification, sig=high_s_twin(q.origin_verification.sig))
    rejected(alice, via_bob, replace(q, origin_verification=origin_twin), InvalidSignature, match="high-S")


def test_a_relay_that_signs_a_copy_again_is_a_replay(net):
    alice, via_bob, _, _ = net
    p = pl.send(SESSIONS["carol"], CustomMessage(BODY), next_hop=SESSIONS["bob"].wallet, destination=alice.me,
                now=NOW, tx_id=uuid.uuid4())
    accepted(alice, via_bob, pl.forward(SESSIONS["bob"], p, next_hop=alice.me, now=NOW))
    again = pl.forward(SESSIONS["bob"], p, next_hop=alice.me, now=NOW + 7)  # a new hop signature
    assert again.verification.sig != pl.forward(SESSIONS["bob"], p, next_hop=alice.me, now=NOW).verification.sig
    rejected(alice, via_bob, again, ReplayError, now=NOW + 7)


def test_a_copy_signed_by_another_hop_is_rejected(net):
    """Over bob's link only bob's hop signature counts: a relay cannot pass on the copy an
    earlier hop signed, nor sign again under another wallet it holds."""
    alice, via_bob, via_dave, _ = net
    p = pl.send(SESSIONS["carol"], CustomMessage(BODY), next_hop=SESSIONS["bob"].wallet, destination=alice.me,
                now=NOW, tx_id=uuid.uuid4())
    rejected(alice, via_bob, replace(p, relay=replace(p.relay, next_hop=alice.me)), RemoteError, match="link")
    rejected(alice, via_bob, pl.forward(SESSIONS["sybil"], p, next_hop=alice.me, now=NOW), RemoteError, match="link")
    accepted(alice, via_bob, pl.forward(SESSIONS["bob"], p, next_hop=alice.me, now=NOW))


def test_the_same_message_through_another_hop_is_accepted(net):
    """A message can reach a node twice by right: handed back to a relay on its path (the
    next node's only way on), it comes the second time from another hop."""
    alice, via_bob, via_dave, _ = net
    p = pl.send(SESSIONS["carol"], CustomMessage(BODY), next_hop=SESSIONS["bob"].wallet, destination=alice.me,
                now=NOW, tx_id=uuid.uuid4())
    accepted(alice, via_bob, pl.forward(SESSIONS["bob"], p, next_hop=alice.me, now=NOW))
    accepted(alice, via_dave, pl.forward(SESSIONS["dave"], p, next_hop=alice.me, now=NOW))
    rejected(alice, via_dave, pl.forward(SESSIONS["dave"], p, next_hop=alice.me, now=NOW + 1), ReplayError)


# -- wrong path, wrong origin -----------------------------------------------------------------------
def test_wrong_next_hop_and_looping_path_are_rejected(net):
    alice, via_bob, _, _ = net
    elsewhere = Did(99)
    p = pl.send(SESSIONS["bob"], CustomMessage(BODY), next_hop=Did(5), destination=elsewhere, now=NOW,
                tx_id=uuid.uuid4())
    rejected(alice, via_bob, p, RelayError, match="next_hop")
    bob, carol = SESSIONS["bob"].wallet, SESSIONS["carol"].wallet
    q = pl.send(SESSIONS["bob"], CustomMessage(BODY), next_hop=alice.me, destination=elsewhere, now=NOW,
                tx_id=uuid.uuid4())
    looping = replace(q, relay=MessageRelay((bob, carol, bob, carol, bob), alice.me, elsewhere))
    rejected(alice, via_bob, looping, RelayError, match="loops")


def test_a_path_that_does_not_start_at_the_origin_is_rejected(net):
    alice, via_bob, _, _ = net
    p = relayed("carol", "bob", alice)
    for first in (SESSIONS["bob"].wallet, Did(1)):
        rejected(alice, via_bob, replace(p, relay=replace(p.relay, path=(first, *p.relay.path[1:]))), OriginMismatch)
    accepted(alice, via_bob, p)


# -- forged report ----------------------------------------------------------------------------------
def sent(actions: list) -> list:
    out = []
    for action in actions:
        if isinstance(action, SendFrames):
            ra = Reassembler()
            for frame in action.frames:
                if (whole := ra.receive(frame, decode_frame(frame).meta.ts_ms)) is not None:
                    out.append(pl.decode_payload(whole))
    return out


def test_a_forged_connect_report_does_not_make_the_node_connect(net):
    alice, via_bob, _, first_sends = net
    newcomer = alice.me + 1  # our successor-to-be if it existed: a report naming it is acted on
    forged = pl.direct(SESSIONS["bob"], FindSuccessorReport(newcomer, Handler.Connect), destination=alice.me,
                       now=NOW, tx_id=uuid.uuid4())
    rejected(alice, via_bob, forged, RemoteError, match="did not make")
    # the same report answering alice's own lookup (her join lookup to bob) makes her offer a link
    (lookup,) = [p for p in sent(first_sends) if isinstance(p.data, FindSuccessorSend)]
    answer = pl.report(SESSIONS["bob"], lookup, FindSuccessorReport(newcomer, Handler.Connect), now=NOW)
    actions, events = deliver(alice, via_bob, answer, NOW)
    assert not [e for e in events if isinstance(e, PayloadRejected)]
    assert [a for a in actions if isinstance(a, CreateOffer)] and len(alice.pending_transport_ids) == 1
