"""Did: 160-bit ring arithmetic and text forms (SPEC §5.1)."""

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rings_web.did import RING_SIZE, Did
from rings_web.errors import DecodeError, InvalidArgument

A = "0x11e807fcc88dd319270493fb2e822e388fe36ab0"


def test_text_forms():
    d = Did.parse(A)
    assert d.hex() == str(d) == A and d.bare() == A[2:]
    assert Did.parse(A[2:].upper()) == Did.parse("0X" + A[2:]) == d
    assert Did.from_bytes20(d.to_bytes20()) == d
    assert repr(d) == f"Did({A})"


@pytest.mark.parametrize(
    "bad",
    ["", "0x", A[:-1], A + "0", "0x" + "g" * 40, " " + A, A + "\n", "\u0661" * 40, "0x" + "_1" * 20, A.encode(), None, 5],
)
def test_parse_rejects(bad):
    with pytest.raises(DecodeError):
        Did.parse(bad)


def test_serde_form_requires_0x():
    with pytest.raises(DecodeError):
        Did.from_serde(A[2:])
    assert Did.from_serde(A.upper().replace("0X", "0x")) == Did.parse(A)


def test_ring_arithmetic_wraps():
    assert Did(0) - Did(1) == Did.MAX == Did(-1)
    assert Did.MAX + 1 == Did(0) and isinstance(Did.MAX + 1, Did)
    assert -Did(1) == Did.MAX and Did(RING_SIZE + 5) == Did(5)
    assert 3 - Did(5) == Did(RING_SIZE - 2)
    with pytest.raises(InvalidArgument):
        Did("1")
    with pytest.raises(InvalidArgument):
        Did(True)


def test_bias_and_ranges():
    a, b = Did(10), Did(2)
    assert b.bias(a) == RING_SIZE - 8 and a.bias(b) == 8 and a.bias(a) == 0
    assert Did(5).in_range(Did(2), Did(10)) and Did(10).in_range(Did(2), Did(10))
    assert not Did(2).in_range(Did(2), Did(10)) and not Did(11).in_range(Did(2), Did(10))
    assert Did(1).in_range(Did.MAX - 5, Did(3))  # wraps through zero
    assert Did(7).in_range(Did(3), Did(3))  # start == end: whole ring


def test_bytes20_length_is_checked():
    with pytest.raises(InvalidArgument):
        Did.from_bytes20(bytes(19))


def test_topic_id():
    # vector: sha1("rings-oracle-topic-0"), as the genuine 0.2.5 node names that topic's vnode
    vector = "9cfe98d07fc4eea155eaf22ee4711d4d90511697"
    assert hashlib.sha1(b"rings-oracle-topic-0").hexdigest() == vector
    assert Did.from_topic("rings-oracle-topic-0").bare() == vector
    assert Did.from_topic("rings-oracle-topic-0").hex() == "0x" + vector
    assert Did.from_topic(b"rings-oracle-topic-0") == Did.from_topic("rings-oracle-topic-0") == Did.parse(vector)


dids = st.integers(0, RING_SIZE - 1).map(Did)


@given(dids, dids, dids)
def test_text_forms_and_arc_agree_with_bias(d, start, end):
    assert Did.parse(d.hex()) == Did.parse(d.bare()) == Did.from_bytes20(d.to_bytes20()) == d
    assert start + d.bias(start) == d and 0 <= d.bias(start) < RING_SIZE
    if start != end:
        assert d.in_range(start, end) == (0 < d.bias(start) <= end.bias(start))
