"""Every available crypto backend against the same vectors (cpython, pure; pyodide in Pyodide)."""

from __future__ import annotations

import hashlib
import random

import pytest

from _vectors import VECTORS
from rings_web.crypto import available_backends, default_backend, get_backend, is_low_s
from rings_web.crypto._checks import SECP256K1_N
from rings_web.crypto.hashing import bip137_digest, ecies_decrypt, ecies_encrypt, eip191_digest, eth_address
from rings_web.dissect import dissect
from rings_web.errors import CryptoError, InvalidSignature

BACKENDS = list(available_backends())
KEYS = VECTORS["test_keys"]


@pytest.fixture(params=BACKENDS, ids=lambda b: b.name)
def crypto(request):
    return request.param


def test_selection():
    assert BACKENDS[-1].name == "pure" and default_backend() is BACKENDS[0]
    assert get_backend("pure").name == "pure"
    with pytest.raises(CryptoError):
        get_backend("no-such-backend")


@pytest.mark.parametrize("data,digest", [
    (b"", "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    (b"abc", "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
    (b"a" * 200, None),  # crosses the 136-byte rate: compared across backends
])
def test_keccak256(crypto, data, digest):
    assert crypto.keccak256(data).hex() == (digest or BACKENDS[0].keccak256(data).hex())


def test_addresses_of_test_keys(crypto):
    for k in KEYS.values():
        pub = crypto.secp256k1_public_key(bytes.fromhex(k["priv"]))
        assert "0x" + eth_address(crypto, pub).hex() == k["address"]


def test_eip191_signature_reproduced_byte_exact(crypto):
    s = VECTORS["session_A"]
    digest = eip191_digest(crypto, s["unsigned_info_auth"].encode())
    assert crypto.keccak256(bytes.fromhex(s["eip191_hashed_message_hex"])) == digest
    sig = crypto.secp256k1_sign(digest, bytes.fromhex(KEYS["A"]["priv"]))
    assert (sig[:64] + bytes([sig[64] + 27])).hex() == s["eip191_personal_sign_hex"]


@pytest.mark.parametrize("i", range(0, 37, 4))
def test_recover_session_signatures_of_captured_frames(crypto, i):
    f = VECTORS["data_channel_frames"][i]
    if "omitted" in f["session_key_signed_text"]:
        pytest.skip("signed text not in the vectors")
    v = f["decoded"]["verification"]
    pub = crypto.secp256k1_recover(crypto.keccak256(f["session_key_signed_text"].encode()), bytes.fromhex(v["sig_hex"]))
    assert "0x" + eth_address(crypto, pub).hex() == v["session"]["auth"]["session_id"]


def test_ed25519_address_and_rfc8032_vectors(crypto):
    e = VECTORS["ed25519_address_path"]
    assert crypto.keccak256(bytes.fromhex(e["raw_pubkey_hex"]))[12:].hex() == e["get_address_result"]
    # RFC 8032 §7.1 TEST 1 and TEST 2
    pub1 = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    sig1 = bytes.fromhex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    pub2 = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
    sig2 = bytes.fromhex("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
    assert crypto.ed25519_verify(pub1, b"", sig1)
    assert crypto.ed25519_verify(pub2, b"\x72", sig2)
    assert not crypto.ed25519_verify(pub2, b"\x73", sig2)
    assert not crypto.ed25519_verify(pub1, b"", sig1[:63] + b"\x0c")  # S >= L


def test_eddsa_session_frame_verifies(crypto):
    frame = next(f for f in VECTORS["independent_encoder_accepted_by_wasm"]["frames"] if f["name"] == "eddsa_session")
    from rings_web.session.auth import verify_session

    p = dissect(frame["frames_hex"]).payload
    assert verify_session(p.verification.session, crypto) == p.relay.path[0]


def test_aes256_gcm_roundtrip_and_agreement(crypto):
    # ecies uses 16-byte IVs (GHASH-derived J0): every backend must agree with pycryptodome
    key, iv = bytes(range(32)), bytes(range(16))
    ct, tag = crypto.aes256_gcm_encrypt(key, iv, b"rings-web")
    assert crypto.aes256_gcm_decrypt(key, iv, ct, tag) == b"rings-web"
    for other in BACKENDS:
        assert other.aes256_gcm_encrypt(key, iv, b"rings-web" * 5) == crypto.aes256_gcm_encrypt(key, iv, b"rings-web" * 5)
    with pytest.raises(CryptoError, match="tag"):
        crypto.aes256_gcm_decrypt(key, iv, ct, bytes(16))


def test_ecies_roundtrip_across_backends(crypto):
    secret = bytes.fromhex(KEYS["B"]["priv"])
    pub = crypto.secp256k1_public_key(secret)
    rng = random.Random(7)
    blob = ecies_encrypt(crypto, pub, b"encrypted custom message", rng.randbytes(32), rng.randbytes(16))
    for other in BACKENDS:
        assert ecies_decrypt(other, secret, blob) == b"encrypted custom message"
    with pytest.raises(CryptoError):
        ecies_decrypt(crypto, secret, blob[:-1] + bytes([blob[-1] ^ 1]))


def test_sign_recover_decompress_ecdh_agree_across_backends(crypto):
    rng = random.Random(11)
    for _ in range(3):
        secret, digest = rng.randbytes(32), rng.randbytes(32)
        sig = crypto.secp256k1_sign(digest, secret)
        assert int.from_bytes(sig[32:64], "big") <= 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0  # low-S
        pub = crypto.secp256k1_public_key(secret)
        compressed = bytes([2 + (pub[63] & 1)]) + pub[:32]
        other_secret = rng.randbytes(32)
        for other in BACKENDS:
            assert other.secp256k1_sign(digest, secret) == sig
            assert other.secp256k1_recover(digest, sig) == pub
            assert other.secp256k1_decompress(compressed) == pub
            assert other.secp256k1_ecdh(other_secret, pub) == crypto.secp256k1_ecdh(other_secret, pub)


def test_signatures_are_low_s_and_recovery_takes_the_high_s_twin_too(crypto):
    """Every backend signs low-S (16 of 16: a backend that did not would fail with
    probability 1 - 2**-16); each also recovers the same key from the twin (r, n - s, v ^ 1),
    so the payload verifier refuses high-S itself (tests/test_engine_rejections.py)."""
    rng = random.Random(12)
    for _ in range(16):
        secret, digest = rng.randbytes(32), rng.randbytes(32)
        sig = crypto.secp256k1_sign(digest, secret)
        assert is_low_s(sig)
        twin = sig[:32] + (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([sig[64] ^ 1])
        assert not is_low_s(twin)
        assert crypto.secp256k1_recover(digest, twin) == crypto.secp256k1_public_key(secret)
    assert is_low_s(bytes(32) + (SECP256K1_N // 2).to_bytes(32, "big") + b"\0")
    assert not is_low_s(bytes(32) + (SECP256K1_N // 2 + 1).to_bytes(32, "big") + b"\0")


def test_bip137_digest():
    # double sha256 of varint(24) "Bitcoin Signed Message:\n" varint(len) m
    m = b"hello"
    expected = hashlib.sha256(hashlib.sha256(b"\x18Bitcoin Signed Message:\n\x05hello").digest()).digest()
    assert bip137_digest(m) == expected
    assert bip137_digest(b"x" * 300)[:4] == hashlib.sha256(hashlib.sha256(b"\x18Bitcoin Signed Message:\n\xfd\x2c\x01" + b"x" * 300).digest()).digest()[:4]


def test_bad_inputs_raise_typed_errors(crypto):
    with pytest.raises(CryptoError, match="length 32"):
        crypto.secp256k1_sign(b"\0" * 31, b"\1" * 32)
    with pytest.raises(CryptoError):
        crypto.secp256k1_public_key(bytes(32))  # zero is not a key
    with pytest.raises(InvalidSignature):
        crypto.secp256k1_recover(bytes(32), bytes(64) + b"\x04")  # recid 4
    with pytest.raises(InvalidSignature):
        crypto.secp256k1_recover(bytes(32), bytes(65))  # r = s = 0
    with pytest.raises(CryptoError):
        crypto.secp256k1_decompress(b"\x02" + b"\xff" * 32)  # x >= p
    with pytest.raises(CryptoError):
        crypto.secp256k1_ecdh(b"\1" * 32, bytes(64))  # not on the curve
    with pytest.raises(CryptoError, match="length 64"):
        crypto.ed25519_verify(bytes(32), b"", bytes(10))
    assert crypto.ed25519_verify(b"\xff" * 32, b"", bytes(64)) is False  # not a point


@pytest.mark.parametrize("size", [0, 1, 255, 1024, 50 * 1024])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_message_digest_of_a_custom_message_is_keccak_of_pack_msg(crypto, size, encrypted):
    from rings_web.message.payload import message_digest, pack_msg
    from rings_web.wire.types import CustomMessage

    data = CustomMessage(random.Random(size).randbytes(size), encrypted=encrypted)
    assert message_digest(crypto, data, 1_795_338_556_944, 300_000) == crypto.keccak256(pack_msg(data, 1_795_338_556_944, 300_000))


def test_message_digest_matches_every_captured_signed_text(crypto):
    from rings_web.message.payload import decode_payload, message_digest
    from rings_web.wire.chunk import decode_frame

    for f in VECTORS["data_channel_frames"]:
        if "omitted" in f["session_key_signed_text"] or len(f["frames_hex"]) != 1:
            continue
        p = decode_payload(decode_frame(bytes.fromhex(f["frames_hex"][0])).data)
        v = p.verification
        assert message_digest(crypto, p.data, v.ts_ms, v.ttl_ms) == crypto.keccak256(f["session_key_signed_text"].encode())


class _OneCall:
    """``crypto`` with a ``secp256k1_recover_byte_list`` that hashes and recovers what it is
    given, as Pyodide's one call into JS does: the parts :func:`signer_key` hands over."""

    def __init__(self, crypto) -> None:
        self.crypto, self.calls = crypto, 0

    def __getattr__(self, name):
        return getattr(self.crypto, name)

    def secp256k1_recover_byte_list(self, prefix, data, suffix, signature):
        from rings_web.crypto.hashing import keccak256_byte_list

        self.calls += 1
        return self.crypto.secp256k1_recover(keccak256_byte_list(self.crypto, prefix, data, suffix), signature)


@pytest.mark.parametrize("one_call", [False, True], ids=["backend", "one-call"])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
def test_signer_key_is_the_key_that_signed_the_message_text(crypto, encrypted, one_call):
    from dataclasses import replace

    from rings_web.message.payload import check_message_signature, message_digest, signer_key
    from rings_web.wire.types import CustomMessage, MessageVerification

    backend = _OneCall(crypto) if one_call else crypto
    secret = random.Random(7).randbytes(32)
    data = CustomMessage(random.Random(3).randbytes(1024), encrypted=encrypted)
    sig = crypto.secp256k1_sign(message_digest(crypto, data, 1_795_338_556_944, 300_000), secret)
    v = MessageVerification(None, 300_000, 1_795_338_556_944, sig)
    assert signer_key(backend, data, v) == crypto.secp256k1_public_key(secret)
    assert signer_key(backend, data, replace(v, ts_ms=v.ts_ms + 1)) != crypto.secp256k1_public_key(secret)
    assert getattr(backend, "calls", 2) == 2
    for bad in (sig[:64] + b"\x04", bytes(65)):  # a recovery id beyond 3; r = s = 0
        with pytest.raises(InvalidSignature):
            check_message_signature(backend, replace(v, sig=bad), data)
