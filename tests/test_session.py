"""Sessions, wallet signatures and payload verification against the genuine node's vectors."""

from __future__ import annotations


import random
import uuid
from dataclasses import replace

import pytest

from _support import run_sync
from _vectors import VECTORS
from rings_web.crypto import default_backend
from rings_web.crypto._checks import SECP256K1_N
from rings_web.crypto.hashing import eip191_digest
from rings_web.did import Did
from rings_web.dissect import dissect
from rings_web.errors import (
    CryptoError, ExpiredError, InvalidArgument, InvalidSignature, OriginMismatch, RelayError, ReplayError, SignerError,
)
from rings_web.message.payload import (
    Verifier, decode_payload, direct, encode_payload, forward, is_expired, payload_from_json, report, send,
)
from rings_web.message.relay import check_relay, has_loop
from rings_web.session import (
    CallbackSigner, LocalKeySigner, SessionKey, SessionManager, auth_text, new_auth, public_key_address,
    verify_session,
)
from rings_web.wire import base58
from rings_web.wire import json as wire_json
from rings_web.wire.types import CustomMessage, MessageRelay, Signer

CRYPTO = default_backend()
KEYS = VECTORS["test_keys"]
NOW = 1_795_339_300_500  # within the capture window of vectors.json
FRAMES = VECTORS["data_channel_frames"]
INDEPENDENT = [f for f in VECTORS["independent_encoder_accepted_by_wasm"]["frames"] if not any("." in h for h in f["frames_hex"])]


def seeded(seed: int):
    rng = random.Random(seed)
    return lambda n: rng.randbytes(n)


def make_session(key_hex: str, mode: Signer = Signer.EIP191, now: int = NOW, ttl_ms=2_592_000_000) -> SessionManager:
    return run_sync(SessionManager.create(LocalKeySigner(key_hex, mode), crypto=CRYPTO, now=now, random_bytes=seeded(1), ttl_ms=ttl_ms))


def test_addresses_of_test_keys():
    for k in KEYS.values():
        assert LocalKeySigner(k["priv"]).address.hex() == k["address"]


def test_eip191_wallet_signature_is_reproduced_byte_exact():
    s = VECTORS["session_A"]
    signer = LocalKeySigner(KEYS["A"]["priv"], Signer.EIP191)
    assert signer.sign_sync(s["unsigned_info_auth"]).hex() == s["eip191_personal_sign_hex"]
    # the backend path (used in Pyodide, where eth-account is absent) gives the same bytes
    assert signer._raw(eip191_digest(CRYPTO, s["unsigned_info_auth"].encode()), 27).hex() == s["eip191_personal_sign_hex"]


@pytest.mark.parametrize("mode", ["DEFAULT", "EIP191", "EdDSA", "BIP137"])
def test_auth_strings_for_all_four_signer_modes(mode):
    want = VECTORS["auth_strings_per_signer"][mode]
    obj = wire_json.loads(want)
    key = SessionKey(b"", b"", Did.parse(obj["session_id"]))
    auth = new_auth(Did.parse(VECTORS["auth_strings_per_signer"]["address"]), key, obj["ts_ms"], Signer[mode],
                    pubkey=bytes(33) if mode == "EdDSA" else None)
    if mode == "EdDSA":  # UnsignedInfo.new_with_signer(addr, EdDSA) writes pubkey null (quirk 14)
        auth = replace(auth, authorizer=replace(auth.authorizer, pubkey=None))
    assert auth_text(auth) == want


def test_ed25519_auth_path():
    e = VECTORS["ed25519_address_path"]
    pubkey33 = bytes.fromhex(e["publickey_33_hex"])
    assert base58.b58decode(e["input_b58_bitcoin_alphabet_pubkey"]) == pubkey33[1:]
    assert base58.encode_check(pubkey33) == e["authorizer_pubkey_b58m_check"]
    wallet = public_key_address(pubkey33, CRYPTO)
    assert wallet.bare() == e["get_address_result"]
    obj = wire_json.loads(e["auth"])
    key = SessionKey(b"", b"", Did.parse(obj["session_id"]))
    assert auth_text(new_auth(wallet, key, obj["ts_ms"], Signer.EdDSA, pubkey=pubkey33)) == e["auth"]


@pytest.mark.parametrize("v", [b for b in VECTORS["base58_monero_check"]])
def test_base58_monero_check_vectors(v):
    raw = v["input_utf8"].encode() if "input_utf8" in v else bytes.fromhex(v["input_hex"])
    assert base58.encode_check(raw) == v["encoded"]
    assert base58.decode_check(v["encoded"]) == raw


@pytest.mark.parametrize("i", range(len(FRAMES)))
def test_every_captured_frame_verifies(i):
    p = dissect(FRAMES[i]["frames_hex"]).payload
    origin = Verifier(CRYPTO).verify(p, p.verification.ts_ms + 1)
    assert origin == p.relay.path[0]


@pytest.mark.parametrize("which", ["offer_from_A", "answer_from_B"])
def test_handshake_signatures_verify(which):
    p = payload_from_json(VECTORS["manual_handshake"][which]["string"])
    assert Verifier(CRYPTO).verify(p, p.verification.ts_ms) == p.addr


@pytest.mark.parametrize("f", INDEPENDENT, ids=lambda f: f["name"])
def test_independent_encoder_frames_accepted_exactly_as_the_genuine_node_did(f):
    p = dissect(f["frames_hex"]).payload
    accepted = bool(f["custom_message_callback_texts"])
    verifier = Verifier(CRYPTO)
    if accepted:
        verifier.verify(p, NOW)
    else:
        with pytest.raises((InvalidSignature, ExpiredError, OriginMismatch)):
            verifier.verify(p, NOW)


@pytest.mark.parametrize("mode", [Signer.DEFAULT, Signer.EIP191, Signer.BIP137])
def test_local_signer_modes_make_verifiable_sessions(mode):
    sm = make_session(KEYS["B"]["priv"], mode)
    assert verify_session(sm.session, CRYPTO) == Did.parse(KEYS["B"]["address"])
    p = direct(sm, CustomMessage(b"\0\0\0\0hi"), destination=Did(5), now=NOW, tx_id=uuid.UUID(int=1))
    assert Verifier(CRYPTO).verify(decode_payload(encode_payload(p)), NOW) == sm.wallet


def test_eddsa_wallet_signature_verifies():
    pytest.importorskip("Crypto.Signature.eddsa", reason="signing ed25519 needs pycryptodome (CPython)")
    from Crypto.PublicKey import ECC
    from Crypto.Signature import eddsa

    key = ECC.generate(curve="ed25519")
    pubkey33 = b"\0" + key.public_key().export_key(format="raw")
    signer = CallbackSigner(public_key_address(pubkey33, CRYPTO), lambda t: eddsa.new(key, "rfc8032").sign(t.encode()),
                            Signer.EdDSA, pubkey33)
    sm = run_sync(SessionManager.create(signer, crypto=CRYPTO, now=NOW, random_bytes=seeded(2)))
    assert verify_session(sm.session, CRYPTO) == signer.address


def test_callback_signer_normalises_v_and_rejects_garbage():
    local = LocalKeySigner(KEYS["A"]["priv"])

    def v01(text):
        sig = local.sign_sync(text)
        return "0x" + (sig[:64] + bytes([sig[64] - 27])).hex()

    run_sync(SessionManager.create(CallbackSigner(local.address, v01), crypto=CRYPTO, now=NOW, random_bytes=seeded(3)))
    for bad in [b"short", 42, "zz"]:
        with pytest.raises(SignerError):
            run_sync(SessionManager.create(CallbackSigner(local.address, lambda t, b=bad: b), crypto=CRYPTO, now=NOW, random_bytes=seeded(4)))
    other = LocalKeySigner(KEYS["B"]["priv"])  # signs, but is not the declared wallet
    with pytest.raises(SignerError, match="does not verify"):
        run_sync(SessionManager.create(CallbackSigner(local.address, other.sign), crypto=CRYPTO, now=NOW, random_bytes=seeded(5)))


def test_session_ttl_over_usize_is_refused():
    with pytest.raises(InvalidArgument):
        make_session(KEYS["A"]["priv"], ttl_ms=2**32)
    never = make_session(KEYS["A"]["priv"], Signer.DEFAULT, ttl_ms=None)
    assert '"ttl_ms":"Never"' in auth_text(never.session.auth)


def test_a_session_key_draws_again_only_for_an_out_of_range_secret():
    draws = iter([bytes(32), SECP256K1_N.to_bytes(32, "big"), b"\x01" * 32])
    key = SessionKey.generate(lambda n: next(draws), CRYPTO)
    assert key.secret == b"\x01" * 32

    class Broken:  # a backend that fails every call (a JS crypto that throws): asked once, not forever
        calls = 0

        def secp256k1_public_key(self, secret):
            self.calls += 1
            assert self.calls == 1, "drew again on the backend's error"
            raise CryptoError("TypeError: secp256k1PublicKey: a Uint8Array of another realm")

    with pytest.raises(CryptoError, match="another realm"):
        SessionKey.generate(random.Random(1).randbytes, Broken())


# -- rejections ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def alice():
    return make_session(KEYS["A"]["priv"])


def msg_from(sm, now=NOW, **kw):
    return direct(sm, CustomMessage(b"\0\0\0\0hello"), destination=Did(7), now=now, tx_id=uuid.uuid4(), **kw)


def test_tampered_signature_rejected(alice):
    p = msg_from(alice)
    sig = bytearray(p.verification.sig)
    sig[10] ^= 1
    v = replace(p.verification, sig=bytes(sig))
    with pytest.raises(InvalidSignature):
        Verifier(CRYPTO).verify(replace(p, verification=v, origin_verification=v), NOW)
    with pytest.raises(InvalidSignature):  # a changed body no longer matches the signature
        Verifier(CRYPTO).verify(replace(p, data=CustomMessage(b"\0\0\0\0hellO")), NOW)


def test_expiry_rules_of_0_2_5(alice):
    p = msg_from(alice, now=NOW)
    with pytest.raises(ExpiredError):
        Verifier(CRYPTO).verify(p, NOW + 300_001)
    Verifier(CRYPTO).verify(p, NOW + 300_000)
    assert not is_expired(msg_from(alice, now=NOW + 600_000), NOW)  # future ts: accepted (quirk 4)
    assert is_expired(msg_from(alice, now=NOW - 301_000), NOW)
    huge = replace(p.verification, ttl_ms=3_000_001)
    assert not is_expired(replace(p, verification=huge, origin_verification=huge), NOW + 10**9)
    tiny = replace(p.verification, ts_ms=1)  # u128 wrap of ts - 3000
    assert not is_expired(replace(p, verification=tiny, origin_verification=tiny), NOW)


def test_expired_session_rejected():
    old = make_session(KEYS["A"]["priv"], now=NOW - 2_592_000_001)
    with pytest.raises(ExpiredError, match="session"):
        Verifier(CRYPTO).verify(msg_from(old), NOW)


def test_wrong_path0_rejected(alice):
    p = msg_from(alice)
    with pytest.raises(OriginMismatch):
        Verifier(CRYPTO).verify(replace(p, relay=replace(p.relay, path=(Did(1),))), NOW)
    with pytest.raises(RelayError):
        Verifier(CRYPTO).verify(replace(p, relay=replace(p.relay, path=())), NOW)


def test_eip191_with_v_0_rejected(alice):
    sess = alice.session
    bad = replace(sess, sig=sess.sig[:64] + bytes([sess.sig[64] - 27]))
    with pytest.raises(InvalidSignature, match="27"):
        verify_session(bad, CRYPTO)


def test_replay_rejected(alice):
    p = msg_from(alice)
    verifier = Verifier(CRYPTO)
    verifier.verify(p, NOW)
    with pytest.raises(ReplayError):
        verifier.verify(decode_payload(encode_payload(p)), NOW + 5)


def twin(sig: bytes, v_offset: int = 0) -> bytes:
    """The high-S twin (r, n - s, v ^ 1) of an r||s||v signature: it recovers the same key."""
    s = int.from_bytes(sig[32:64], "big")
    return sig[:32] + (SECP256K1_N - s).to_bytes(32, "big") + bytes([((sig[64] - v_offset) ^ 1) + v_offset])


def test_replays_are_keyed_on_what_the_origin_signed_and_on_the_hop(alice):
    bob, carol = make_session(KEYS["B"]["priv"]), make_session(KEYS["C"]["priv"])
    p = send(alice, CustomMessage(b"x"), next_hop=bob.wallet, destination=Did(7), now=NOW, tx_id=uuid.uuid4())
    verifier = Verifier(CRYPTO)
    verifier.verify(forward(bob, p, next_hop=Did(7), now=NOW), NOW)
    with pytest.raises(ReplayError):  # bob signs his hop again: a new signature, the same hop
        verifier.verify(forward(bob, p, next_hop=Did(7), now=NOW + 1), NOW + 1)
    verifier.verify(forward(carol, p, next_hop=Did(7), now=NOW + 1), NOW + 1)  # handed on by another hop
    high = replace(p.verification, sig=twin(p.verification.sig))
    with pytest.raises(InvalidSignature, match="high-S"):
        Verifier(CRYPTO).verify(replace(p, verification=high, origin_verification=high), NOW)
    with pytest.raises(InvalidSignature, match="high-S"):
        Verifier(CRYPTO).verify(replace(forward(bob, p, next_hop=Did(7), now=NOW), origin_verification=high), NOW)


@pytest.mark.parametrize("mode", [Signer.EIP191, Signer.DEFAULT])
def test_the_high_s_twin_of_a_wallet_signature_is_accepted_and_replays_nothing(mode):
    """personal_sign has no low-S rule (EIP-2 covers transactions; MetaMask signs low-S all
    the same) and 0.2.5 was never seen to refuse one: a twin wallet signature passes.  It opens
    no replay: the cache keys on the message signatures, not on the session's."""
    sm = make_session(KEYS["A"]["priv"], mode)
    other = replace(sm.session, sig=twin(sm.session.sig, 27 if mode == Signer.EIP191 else 0))
    assert other != sm.session and verify_session(other, CRYPTO) == sm.wallet
    p = msg_from(sm)
    verifier = Verifier(CRYPTO)
    verifier.verify(p, NOW)
    v, ov = (replace(x, session=other) for x in (p.verification, p.origin_verification))
    with pytest.raises(ReplayError):
        verifier.verify(replace(p, verification=v, origin_verification=ov), NOW)


def test_relay_operations_and_multi_hop_verification(alice):
    bob, carol = make_session(KEYS["B"]["priv"]), make_session(KEYS["C"]["priv"])
    p = send(alice, CustomMessage(b"x"), next_hop=bob.wallet, destination=carol.wallet, now=NOW, tx_id=uuid.uuid4())
    check_relay(p.relay, bob.wallet)
    fwd = forward(bob, p, next_hop=carol.wallet, now=NOW + 1)
    assert fwd.relay == MessageRelay((alice.wallet, bob.wallet), carol.wallet, carol.wallet)
    assert fwd.origin_verification == p.origin_verification and fwd.tx_id == p.tx_id
    assert Verifier(CRYPTO).verify(fwd, NOW + 2) == alice.wallet
    rep = report(carol, fwd, CustomMessage(b"y"), now=NOW + 3)
    assert rep.relay == MessageRelay((carol.wallet,), bob.wallet, alice.wallet) and rep.tx_id == p.tx_id
    with pytest.raises(RelayError, match="next_hop"):
        check_relay(fwd.relay, bob.wallet)


def test_loop_detection():
    a, b, c = Did(1), Did(2), Did(3)
    assert not has_loop([a, b, c])
    assert not has_loop([a, b, a, b])
    assert has_loop([a, b, a, b, a, b])
    assert has_loop([c, a, b, a, b, a, b])
    assert not has_loop([a, b, c, a, b, a])  # unequal gaps
    assert has_loop([a, b, c, a, c, b, a])  # equal gaps and the span min(3, 3, 1) = 1 agrees
    with pytest.raises(RelayError, match="back to back"):
        check_relay(MessageRelay((a, a), c, c), c)
    with pytest.raises(RelayError, match="loops"):
        check_relay(MessageRelay((a, b, a, b, a, b), c, c), c)


# -- the verifier's caches -------------------------------------------------------------------
def test_a_session_checked_before_is_still_refused_once_expired_or_changed():
    short = make_session(KEYS["A"]["priv"], ttl_ms=1_000)
    verifier = Verifier(CRYPTO)
    first = decode_payload(encode_payload(msg_from(short)))
    second = decode_payload(encode_payload(msg_from(short, now=NOW + 1)))
    assert second.verification.session is first.verification.session  # the codec's memo: the same object
    verifier.verify(first, NOW)
    with pytest.raises(ExpiredError, match="session"):  # the session checked last, by identity
        verifier.verify(second, NOW + 1_001)
    sess = short.session
    sig = bytearray(sess.sig)
    sig[5] ^= 1  # the same delegation, another wallet signature: checked again, and refused
    forged = replace(first, verification=replace(first.verification, session=replace(sess, sig=bytes(sig))))
    with pytest.raises(InvalidSignature):
        verifier.verify(replace(forged, origin_verification=forged.verification), NOW)


def test_a_hop_signature_other_than_the_origins_is_checked_on_its_own(alice):
    bob = make_session(KEYS["B"]["priv"])
    p = send(alice, CustomMessage(b"\0\0\0\0hello"), next_hop=bob.wallet, destination=Did(7), now=NOW, tx_id=uuid.uuid4())
    hop = forward(bob, p, next_hop=Did(7), now=NOW)
    other = direct(alice, CustomMessage(b"\0\0\0\0other"), destination=Did(7), now=NOW,
                   tx_id=uuid.uuid4()).origin_verification  # alice's valid signature of another body
    with pytest.raises(InvalidSignature):  # origin signature swapped: the hop's still checks out
        Verifier(CRYPTO).verify(replace(hop, origin_verification=other), NOW)
    bad = bytearray(hop.verification.sig)
    bad[3] ^= 1
    with pytest.raises(InvalidSignature):  # hop signature broken: the origin's still checks out
        Verifier(CRYPTO).verify(replace(hop, verification=replace(hop.verification, sig=bytes(bad))), NOW)
    assert Verifier(CRYPTO).verify(hop, NOW) == alice.wallet
