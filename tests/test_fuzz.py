"""Property tests: every decoder either decodes or raises DecodeError, on any input.

The ``ci`` hypothesis profile (``HYPOTHESIS_PROFILE=ci``, set by .ci/run) runs 10 000
examples per test; the default profile runs fewer for quick local runs.
"""

from __future__ import annotations

import os
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _vectors import VECTORS
from rings_web.did import Did
from rings_web.errors import DecodeError
from rings_web.message import backend
from rings_web.message.payload import decode_payload, encode_payload, payload_from_json, payload_to_json
from rings_web.wire import base58
from rings_web.wire import json as wire_json
from rings_web.wire.buffer import Reader, Writer
from rings_web.wire.chunk import Reassembler, decode_frame
from rings_web.wire.types import (
    MESSAGE, AlreadyConnected, ConnectNodeReport, ConnectNodeSend, CustomCallback, CustomMessage, Extend,
    FindSuccessorReport, FindSuccessorSend, FoundVNode, Handler, HandshakeInfo, IceCandidate, JoinDHT,
    JoinSubring, LeaveDHT, MultiCall, NotifyPredecessorReport, NotifyPredecessorSend, OperateVNode,
    Overwrite, SearchVNode, SyncVNodeWithSuccessor, Touch, VirtualNode, VNodeType,
)

settings.register_profile("ci", max_examples=10_000, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("dev", max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
settings.register_profile("pyodide", max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))

FRAME = bytes.fromhex(VECTORS["data_channel_frames"][0]["frames_hex"][0])
PAYLOAD = FRAME[24:-48]
HANDSHAKE = VECTORS["manual_handshake"]["offer_from_A"]["string"]

# -- strategies for every Message variant -------------------------------------------------------
dids = st.integers(0, 2**160 - 1).map(Did)
text = st.text(max_size=20)
u16 = st.integers(0, 0xFFFF)
handlers = st.sampled_from(list(Handler)) | st.integers(0, 255).map(CustomCallback)
candidates = st.builds(IceCandidate, text, st.none() | text, st.none() | u16, st.none() | text)
handshakes = st.builds(HandshakeInfo, text, st.lists(candidates, max_size=3).map(tuple))
vnodes = st.builds(VirtualNode, dids, st.lists(text, max_size=3).map(tuple), st.sampled_from(list(VNodeType)))
operations = st.one_of(st.builds(Overwrite, vnodes), st.builds(Extend, vnodes), st.builds(Touch, vnodes),
                       st.builds(JoinSubring, text, dids))
leaf_messages = st.one_of(
    st.builds(JoinDHT, dids), st.builds(LeaveDHT, dids), st.builds(ConnectNodeSend, text, handshakes),
    st.just(AlreadyConnected()), st.builds(ConnectNodeReport, text, handshakes),
    st.builds(FindSuccessorSend, dids, st.booleans(), handlers), st.builds(FindSuccessorReport, dids, handlers),
    st.builds(NotifyPredecessorSend, dids), st.builds(NotifyPredecessorReport, dids), st.builds(SearchVNode, dids),
    st.builds(FoundVNode, st.lists(vnodes, max_size=2).map(tuple)), st.builds(OperateVNode, operations),
    st.builds(SyncVNodeWithSuccessor, st.lists(vnodes, max_size=2).map(tuple)),
    st.builds(CustomMessage, st.binary(max_size=64), st.booleans()),
)
messages = st.recursive(leaf_messages, lambda inner: st.lists(inner, max_size=3).map(lambda m: MultiCall(tuple(m))), max_leaves=6)


def mutate(data: bytes, edits: list[tuple[int, int, int]]) -> bytes:
    """Apply (kind, position, byte) edits: 0 flip, 1 insert, 2 delete."""
    buf = bytearray(data)
    for kind, pos, byte in edits:
        if not buf:
            break
        pos %= len(buf)
        if kind == 0:
            buf[pos] ^= byte or 1
        elif kind == 1:
            buf.insert(pos, byte)
        else:
            del buf[pos]
    return bytes(buf)


edits = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4)


# -- round trips ---------------------------------------------------------------------------------
@given(messages)
def test_message_roundtrip_bincode_and_json(msg):
    w = Writer()
    MESSAGE.push(w, msg)
    assert MESSAGE.pull(Reader(w.getvalue())) == msg
    assert MESSAGE.from_json(wire_json.loads(wire_json.dumps(MESSAGE.to_json(msg)))) == msg


@given(st.binary(max_size=64))
def test_base58_check_roundtrip(data):
    assert base58.decode_check(base58.encode_check(data)) == data


# -- any bytes: decode or DecodeError --------------------------------------------------------------
def decodes_or_decode_error(fn, data):
    try:
        fn(data)
    except DecodeError:
        pass


@given(st.binary(max_size=400))
def test_payload_decoder_on_arbitrary_bytes(data):
    decodes_or_decode_error(decode_payload, data)


@given(edits)
def test_payload_decoder_on_mutated_payload(e):
    data = mutate(PAYLOAD, e)
    try:
        p = decode_payload(data)
    except DecodeError:
        return
    assert decode_payload(encode_payload(p)) == p


@given(st.binary(max_size=200) | edits.map(lambda e: mutate(FRAME, e)))
def test_frame_decoder(data):
    decodes_or_decode_error(decode_frame, data)
    try:
        Reassembler().receive(data, 1_795_338_553_907)
    except DecodeError:
        pass


@given(st.binary(max_size=200) | edits.map(lambda e: mutate(FRAME, e)),
       st.sampled_from([-3001, -3000, -2999, 0, 299_999, 300_000, 300_001]) | st.integers(-10**7, 10**7))
def test_reassembler_fast_path_agrees_with_field_by_field_decoding(data, offset):
    now = 1_795_338_553_907 + offset
    try:
        chunk = decode_frame(data)
    except DecodeError:
        expected = DecodeError
    else:
        m = chunk.meta
        now = m.ts_ms + offset
        fresh = m.ttl_ms <= 3_000_000 and m.ts_ms - 3_000 <= now < m.ts_ms + m.ttl_ms
        expected = chunk.data if fresh and chunk.count == 1 else (DecodeError if fresh and chunk.count > 4096 else None)
    try:
        got = Reassembler().receive(data, now)
    except DecodeError:
        got = DecodeError
    assert got == expected


@given(messages, st.lists(dids, min_size=1, max_size=4))
def test_forwarded_payload_reuses_remembered_bytes_exactly(msg, hops):
    """Encodings remembered by identity (message, origin signature) give the bytes a fresh
    encoding gives: a forwarded payload decodes to what was forwarded."""
    p = decode_payload(PAYLOAD)
    p = type(p)(msg, p.tx_id, p.addr, type(p.relay)(tuple(hops), hops[-1], hops[0]), p.verification, p.origin_verification)
    once = encode_payload(p)
    again = decode_payload(once)
    assert again == p and encode_payload(again) == once
    forwarded = type(p)(again.data, again.tx_id, hops[0], type(p.relay)(again.relay.path + (hops[0],), hops[0], hops[-1]),
                        p.verification, again.origin_verification)
    assert decode_payload(encode_payload(forwarded)) == forwarded


@given(st.text(max_size=200) | st.binary(max_size=200))
def test_handshake_json_on_arbitrary_text(data):
    decodes_or_decode_error(payload_from_json, data)


@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 10**6), st.integers(32, 126)), min_size=1, max_size=3))
def test_handshake_json_on_mutated_string(e):
    data = mutate(HANDSHAKE.encode(), e)
    try:
        p = payload_from_json(data)
    except DecodeError:
        return
    assert payload_from_json(payload_to_json(p)) == p


@given(st.text(max_size=60))
def test_base58_and_did_parsers(data):
    decodes_or_decode_error(base58.decode_check, data)
    decodes_or_decode_error(base58.b58decode, data)
    decodes_or_decode_error(Did.parse, data)


@given(st.binary(max_size=120))
def test_backend_layer_decoders(data):
    decodes_or_decode_error(backend.parse_body, data)
    decodes_or_decode_error(backend.BackendMessage.decode, data)
    decodes_or_decode_error(backend.decode_http_request, data)
    decodes_or_decode_error(backend.gzip_decompress, data)
    decodes_or_decode_error(backend.decode_http_response, backend.gzip_compress(data))


def test_uuid_json_forms():
    u = uuid.UUID("5d21e59d-b095-47ba-9cc0-2b7f39b4035c")
    from rings_web.wire.fast import UUID

    assert UUID.from_json(str(u)) == UUID.from_json(u.hex) == UUID.from_json("urn:uuid:" + str(u)) == u
