"""Wire codec against the 37 captured frames and the two handshake strings (vectors.json)."""

from __future__ import annotations

import uuid

import pytest

from _vectors import VECTORS
from rings_web.did import Did
from rings_web.errors import DecodeError
from rings_web.message.payload import decode_payload, encode_payload, pack_msg, payload_from_json, payload_to_json
from rings_web.wire import json as wire_json
from rings_web.wire.buffer import Reader, Writer
from rings_web.wire.chunk import Reassembler, decode_frame, split
from rings_web.wire.types import (
    AUTHORIZED_INFO, CHUNK, MESSAGE, PAYLOAD, AlreadyConnected, CustomCallback, CustomMessage,
    FindSuccessorSend, Handler, JoinSubring, MultiCall, OperateVNode, Touch, VirtualNode,
    VNodeType,
)

FRAMES = VECTORS["data_channel_frames"]
HANDSHAKES = VECTORS["manual_handshake"]


def reassemble(frame_hexes: list[str]) -> bytes:
    ra = Reassembler()
    now = decode_frame(bytes.fromhex(frame_hexes[0])).meta.ts_ms
    out = [ra.receive(bytes.fromhex(h), now) for h in frame_hexes]
    assert all(o is None for o in out[:-1]) and out[-1] is not None
    return out[-1]


def sig_hex_form(obj):
    """vectors.json writes byte fields as ``<name>_hex``; canonical JSON has byte arrays."""
    if isinstance(obj, dict):
        return {k.removesuffix("_hex"): (list(bytes.fromhex(v)) if k.endswith("_hex") else sig_hex_form(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [sig_hex_form(x) for x in obj]
    return obj


@pytest.mark.parametrize("i", range(len(FRAMES)), ids=lambda i: f"{i}-{FRAMES[i]['message']}")
def test_frame_decodes_and_reencodes_byte_for_byte(i):
    f = FRAMES[i]
    payload_bytes = reassemble(f["frames_hex"])
    p = decode_payload(payload_bytes)
    assert encode_payload(p) == payload_bytes
    assert type(p.data).__name__ == f["message"]
    # the same frames come back out of split() with the captured chunk id and time
    meta = f["chunk_headers"][0]["meta"]
    assert [x.hex() for x in split(payload_bytes, uuid.UUID(meta["id"]), meta["ts_ms"])] == f["frames_hex"]
    # decoded fields as listed
    decoded = f["decoded"]
    assert str(p.tx_id) == decoded["tx_id"] and p.addr.hex() == decoded["addr"]
    assert PAYLOAD.to_json(p)["relay"] == decoded["relay"]
    if "omitted" not in f["session_key_signed_text"]:
        assert PAYLOAD.to_json(p)["data"] == sig_hex_form(decoded["data"])
        assert pack_msg(p.data, p.verification.ts_ms, p.verification.ttl_ms).decode() == f["session_key_signed_text"]
    for name in ("verification", "origin_verification"):
        assert PAYLOAD.to_json(p)[name] == sig_hex_form(decoded[name])


@pytest.mark.parametrize("which", ["offer_from_A", "answer_from_B"])
def test_handshake_strings_parse_and_reserialise_identically(which):
    h = HANDSHAKES[which]
    p = payload_from_json(h["string"])
    assert payload_to_json(p) == h["string"]
    assert encode_payload(p).hex() == h["bincode_of_same_payload_hex"]
    assert wire_json.dumps(AUTHORIZED_INFO.to_json(p.verification.session.auth)) == h["signed_auth_string"]
    assert pack_msg(p.data, p.verification.ts_ms, p.verification.ttl_ms).decode() == h["session_key_signed_text"]
    assert wire_json.loads(p.data.__getattribute__("offer" if which == "offer_from_A" else "answer").sdp) == h["sdp_field_parsed"]


def test_handshake_json_accepts_reordered_keys_and_unknown_fields():
    obj = wire_json.loads(HANDSHAKES["offer_from_A"]["string"])
    shuffled = {"extra": 1, **{k: obj[k] for k in reversed(list(obj))}}
    p = payload_from_json(wire_json.dumps(shuffled))
    assert payload_to_json(p) == HANDSHAKES["offer_from_A"]["string"]


def roundtrip(msg):
    w = Writer()
    MESSAGE.push(w, msg)
    r = Reader(w.getvalue())
    assert MESSAGE.pull(r) == msg and r.remaining() == 0
    assert MESSAGE.from_json(wire_json.loads(wire_json.dumps(MESSAGE.to_json(msg)))) == msg
    return w.getvalue(), wire_json.dumps(MESSAGE.to_json(msg))


def test_source_only_variants_roundtrip_with_serde_shapes():
    did = Did.parse("11e807fcc88dd319270493fb2e822e388fe36ab0")
    raw, text = roundtrip(AlreadyConnected())
    assert raw == (4).to_bytes(4, "little") and text == '{"AlreadyConnected":null}'
    _, text = roundtrip(FindSuccessorSend(did, True, CustomCallback(5)))
    assert text.endswith('"strict":true,"then":{"Report":{"CustomCallback":5}}}}')
    _, text = roundtrip(OperateVNode(JoinSubring("sub", did)))
    assert text == '{"OperateVNode":{"JoinSubring":["sub","%s"]}}' % did.hex()
    vnode = VirtualNode(did, ("a", "b"), VNodeType.Subring)
    _, text = roundtrip(OperateVNode(Touch(vnode)))
    assert text == '{"OperateVNode":{"Touch":{"did":"%s","data":["a","b"],"kind":"Subring"}}}' % did.hex()
    _, text = roundtrip(MultiCall((AlreadyConnected(), CustomMessage(b"\x01", encrypted=True))))
    assert text == '{"MultiCall":{"messages":[{"AlreadyConnected":null},{"CustomMessage":{"Encrypted":[1]}}]}}'
    _, text = roundtrip(FindSuccessorSend(did, False, Handler.None_))
    assert '"then":{"Report":"None"}' in text


def test_multicall_nesting_is_bounded():
    msg = AlreadyConnected()
    for _ in range(20):
        msg = MultiCall((msg,))
    w = Writer()
    MESSAGE.push(w, msg)
    with pytest.raises(DecodeError, match="nested"):
        MESSAGE.pull(Reader(w.getvalue()))
    with pytest.raises(DecodeError, match="nested"):
        MESSAGE.from_json(wire_json.loads(wire_json.dumps(MESSAGE.to_json(msg))))


def test_session_ttl_over_u32_is_rejected_at_parse():
    obj = wire_json.loads(HANDSHAKES["offer_from_A"]["string"])
    obj["verification"]["session"]["auth"]["ttl_ms"] = {"Some": 2**32}
    with pytest.raises(DecodeError, match="usize"):
        payload_from_json(wire_json.dumps(obj))
    p = payload_from_json(HANDSHAKES["offer_from_A"]["string"])
    raw = bytearray(encode_payload(p))
    # bincode: Ttl::Some tag (0u32) then the usize; patch the first occurrence of 2592000000
    at = raw.index((2592000000).to_bytes(8, "little"))
    raw[at : at + 8] = (2**32).to_bytes(8, "little")
    with pytest.raises(DecodeError, match="usize"):
        decode_payload(bytes(raw))


@pytest.mark.parametrize("cut", [0, 1, 7, 8, 30, 100, 500, -1])
def test_truncated_payloads_raise_decode_error(cut):
    raw = reassemble(FRAMES[0]["frames_hex"])
    with pytest.raises(DecodeError):
        decode_payload(raw[:cut] if cut >= 0 else raw[:-1])


def test_oversized_length_prefix_is_refused_before_allocating():
    raw = bytearray(reassemble(FRAMES[0]["frames_hex"]))
    bad = bytearray(raw)
    bad[4:12] = (2**62).to_bytes(8, "little")  # length of FindSuccessorSend.did
    with pytest.raises(DecodeError, match="42-character"):
        decode_payload(bytes(bad))
    at = 4 + 50 + 1 + 4 + 4 + 24 + 50  # relay.path count: after data, tx_id and addr
    assert raw[at : at + 8] == (1).to_bytes(8, "little")
    raw[at : at + 8] = (2**62).to_bytes(8, "little")
    with pytest.raises(DecodeError, match="exceeds"):
        decode_payload(bytes(raw))
    frame = bytearray(bytes.fromhex(FRAMES[0]["frames_hex"][0]))
    frame[16:24] = (2**40).to_bytes(8, "little")
    with pytest.raises(DecodeError):
        decode_frame(bytes(frame))


def test_bad_enum_bool_option_utf8_and_did():
    raw = bytearray(reassemble(FRAMES[0]["frames_hex"]))
    bad = bytearray(raw)
    bad[0:4] = (15).to_bytes(4, "little")
    with pytest.raises(DecodeError, match="variant index 15"):
        decode_payload(bytes(bad))
    bad = bytearray(raw)
    bad[54] = 2  # FindSuccessorSend.strict
    with pytest.raises(DecodeError, match="bool"):
        decode_payload(bytes(bad))
    bad = bytearray(raw)
    bad[14] = 0xFF  # inside the did string
    with pytest.raises(DecodeError):
        decode_payload(bytes(bad))
    bad = bytearray(raw)
    bad[14] = ord("g")
    with pytest.raises(DecodeError, match="hex"):
        decode_payload(bytes(bad))


@pytest.mark.parametrize("text", ["", "{", "[]", "null", '{"data":1}', '{"a":1,"a":2}', "NaN", "1.5", b"\xff"])
def test_bad_json_raises_decode_error(text):
    with pytest.raises(DecodeError):
        payload_from_json(text)


def test_json_did_requires_0x_and_40_hex():
    obj = wire_json.loads(HANDSHAKES["offer_from_A"]["string"])
    for bad in ["11e807fcc88dd319270493fb2e822e388fe36ab0", "0x11e8", "0x" + "z" * 40, 5]:
        obj["addr"] = bad
        with pytest.raises(DecodeError):
            payload_from_json(wire_json.dumps(obj))
    obj["addr"] = "0x11E807FCC88DD319270493FB2E822E388FE36AB0"  # either case parses
    assert payload_from_json(wire_json.dumps(obj)).addr == Did.parse("0x11e807fcc88dd319270493fb2e822e388fe36ab0")


def test_chunk_reassembly_rules():
    payload = bytes(range(256)) * 600  # 153 600 bytes → 3 pieces
    cid, now = uuid.uuid4(), 1_800_000_000_000
    frames = split(payload, cid, now)
    assert len(frames) == 3 and [len(f) for f in frames] == [60072, 60072, 33672]
    ra = Reassembler()
    assert ra.receive(frames[2], now) is None
    assert ra.receive(frames[2], now) is None  # duplicate, wherever it comes
    assert ra.receive(frames[0], now) is None and ra.pending == 1
    assert ra.receive(frames[1], now) == payload and ra.pending == 0
    # expired, future and over-long-ttl pieces are dropped as 0.2.5 does
    assert Reassembler().receive(split(b"x", cid, now)[0], now + 300_000) is None
    assert Reassembler().receive(split(b"x", cid, now + 3001)[0], now) is None
    assert Reassembler().receive(split(b"x", cid, now + 3000)[0], now) == b"x"
    ra = Reassembler()
    ra.receive(frames[0], now)
    ra.expire(now + 300_000)
    assert ra.pending == 0


def test_reassembler_bounds_pending_memory():
    ra = Reassembler(max_pending_bytes=200_000)
    now = 1_800_000_000_000
    for _ in range(10):
        ra.receive(split(bytes(150_000), uuid.uuid4(), now)[0], now)
    assert ra._pending_bytes <= 200_000


def test_chunk_count_mismatch_is_an_error():
    now = 1_800_000_000_000
    cid = uuid.uuid4()
    a = split(bytes(120_001), cid, now)
    b = split(bytes(180_001), cid, now)
    ra = Reassembler()
    ra.receive(a[0], now)
    with pytest.raises(DecodeError, match="count"):
        ra.receive(b[1], now)
    w = Writer()
    CHUNK.push(w, decode_frame(a[0]).__class__(5, 3, b"", decode_frame(a[0]).meta))
    with pytest.raises(DecodeError, match="index"):
        decode_frame(w.getvalue())


def test_quick_init_keeps_a_frozen_dataclass_frozen():
    import dataclasses

    from rings_web.wire.compiled import quick_init

    @quick_init
    @dataclasses.dataclass(frozen=True, slots=True)
    class Point:
        x: int
        y: int = 7

    p = Point(1)
    assert (p.x, p.y) == (1, 7) and p == Point(1, 7) and hash(p) == hash(Point(x=1, y=7))
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2
    with pytest.raises(TypeError):
        Point()

    with pytest.raises(TypeError, match="plain fields"):
        @quick_init
        @dataclasses.dataclass(frozen=True, slots=True)
        class Checked:
            x: int

            def __post_init__(self) -> None:
                pass


def test_identity_memo_keeps_small_values_only_while_they_live():
    """What the codec remembers by identity: small values, their bytes copied when encoded
    again, and gone with the value (a rejected payload leaves nothing)."""
    from rings_web.wire.fast import ByIdentity
    from rings_web.wire.types import MESSAGE, CustomMessage

    memo = ByIdentity(1 << 16, largest=100)
    small, large = CustomMessage(b"s" * 10), CustomMessage(b"L" * 1000)
    w = Writer()
    memo.push(w, small, MESSAGE.push)
    memo.push(w, large, MESSAGE.push)
    assert set(memo.new) == {id(small)}
    calls = []
    memo.push(w, small, lambda w, v: calls.append(v))  # kept: copied, not encoded
    assert calls == [] and w.getvalue().count(b"s" * 10) == 2
    del small
    assert memo.new == {}


def test_remembered_copies_the_bytes_of_the_last_values_decoded():
    """A value decoded lately encodes as the very bytes it came from; only the last few
    small ones are held."""
    from rings_web.wire.fast import Remembered
    from rings_web.wire.types import MESSAGE, CustomMessage

    calls = []

    class Counting:
        min_size = MESSAGE.min_size
        pull = staticmethod(MESSAGE.pull)

        @staticmethod
        def push(w, v):
            calls.append(v)
            MESSAGE.push(w, v)

    memo = Remembered(Counting(), size=1, largest=100)  # two generations of one
    encoded = []
    for body in (b"a" * 10, b"b" * 10, b"c" * 10, b"L" * 1000):
        w = Writer()
        MESSAGE.push(w, CustomMessage(body))
        encoded.append(w.getvalue())
    values = [memo.pull(Reader(raw)) for raw in encoded]
    for value, raw in zip(values, encoded):
        w = Writer()
        memo.push(w, value)
        assert w.getvalue() == raw
    # the first was pushed out by the later two; the large one is never kept
    assert calls == [values[0], values[3]]
    memo.push(Writer(), CustomMessage(b"c" * 10))  # an equal value, not the same one
    assert len(calls) == 3


def test_memos_are_bounded_by_bytes():
    from rings_web.wire.fast import ENTRY_BYTES, Weighed

    memo = Weighed(budget=8 * (ENTRY_BYTES + 100), largest=100)
    for i in range(100):
        memo.put(i, None, bytes(100))
    memo.put("large", None, bytes(101))
    kept = [*memo.new.values(), *memo.old.values()]
    assert "large" not in memo.new and 0 < len(kept) <= 8 and memo.get(99) == (None, bytes(100))
