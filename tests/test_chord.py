"""Chord state machine (SPEC §7.6, §7.7): finger table, successor list, PeerRing decisions."""

from __future__ import annotations

import math
import random
from bisect import bisect_left

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rings_web.did import RING_SIZE, Did
from rings_web.dht import FingerTable, FixFinger, Local, PeerRing, Remote, SuccessorList
from rings_web.errors import InvalidArgument

TOP = Did(2**159)


def fingers_of(*nodes: int, me: int = 0) -> FingerTable:
    table = FingerTable(Did(me))
    for n in nodes:
        table.join(Did(n))
    return table


def ring_of(me: int, *nodes: int, successors: int = 3) -> PeerRing:
    ring = PeerRing(Did(me), successors)
    for n in nodes:
        ring.join(Did(n))
    return ring


# -- FingerTable ----------------------------------------------------------------------------------
def test_finger_join_exact_slots():
    # slot k = first node at or after 0 + 2^k: 1 | 2 | 5 (>= 4) | 2^159 for 8 .. 2^159
    expected = [Did(1), Did(2), Did(5)] + [TOP] * 157
    for order in ([1, 2, 5, 2**159], [2**159, 5, 2, 1], [5, 2**159, 1, 2]):
        assert list(fingers_of(*order).slots) == expected
    assert list(fingers_of(1, 2, 5, 2**159)) == [Did(1), Did(2), Did(5), TOP]


def test_finger_join_only_closer_and_ignores_self():
    table = fingers_of(6)
    assert table.slots[:3] == (Did(6),) * 3 and table.slots[3:] == (None,) * 157
    assert not table.join(Did(7)) and not table.join(Did(0)) and not table.join(Did(6))
    assert table.join(Did(4))  # 4 >= 2^2: takes slots 0..2
    assert table.slots[:3] == (Did(4),) * 3


def test_finger_join_wraps():
    me = RING_SIZE - 2  # biases: Did(1) -> 3, TOP -> 2^159 + 2
    table = fingers_of(2**159, 1, me=me)
    assert list(table.slots) == [Did(1)] * 2 + [TOP] * 158
    assert table[0] == Did(1) and Did(1) in table and TOP in table and Did(me) not in table


def test_finger_remove_takes_following_entry():
    table = fingers_of(1, 2, 3, 5, 2**159)  # 3 is shadowed by 2 (slot 1)
    assert table.remove(Did(2)) and table.slots[:3] == (Did(1), Did(5), Did(5))
    assert not table.remove(Did(2)) and not table.remove(Did(3)) and not table.remove(Did(0))
    assert table.remove(TOP) and table.slots[2:] == (Did(5),) + (None,) * 157
    assert table.remove(Did(1)) and table.remove(Did(5)) and table.slots == (None,) * 160
    assert table[0] is None and list(table) == []
    assert table.first_slot(Did(1)) is None


def test_finger_first_slot_is_the_start_of_a_run():
    table = fingers_of(1, 2, 5, 2**159)
    assert [table.first_slot(Did(d)) for d in (1, 2, 5, 2**159)] == [0, 1, 2, 3]
    assert table.first_slot(Did(3)) is None and table.first_slot(Did(0)) is None


# -- SuccessorList --------------------------------------------------------------------------------
def test_successor_list_sorted_bounded():
    succ = SuccessorList(Did(10))
    assert succ.first() is None and succ.max() is None and not succ.is_full and len(succ) == 0
    assert succ.update(Did(5))  # bias 2^160 - 5: farthest
    assert succ.update(Did(30)) and succ.update(Did(11))
    assert succ.list() == [Did(11), Did(30), Did(5)] and succ.is_full
    assert succ.update(Did(20)) and succ.list() == [Did(11), Did(20), Did(30)]
    assert not succ.update(Did(40)) and not succ.update(Did(20)) and not succ.update(Did(10))
    assert succ.first() == Did(11) and succ.max() == Did(30) and Did(20) in succ
    assert succ.remove(Did(20)) and not succ.remove(Did(20)) and succ.list() == [Did(11), Did(30)]
    assert not succ.is_full and succ.update(Did(5)) and succ.max() == Did(5)


def test_successor_list_size():
    succ = SuccessorList(Did(0), 1)
    assert succ.update(Did(9)) and succ.update(Did(3)) and succ.list() == [Did(3)]
    for bad in (0, -1, True, 2.0):
        with pytest.raises(InvalidArgument):
            SuccessorList(Did(0), bad)


# -- PeerRing: routing ----------------------------------------------------------------------------
SPREAD = (2**100, 2**101, 2**102, 2**150, 2**159)  # successors 2^100..2^102: a gap of about 2^100


def test_find_successor_local_and_remote():
    ring = ring_of(0, 1, 2, 5, 2**159)
    assert ring.find_successor(Did(1)) == Local(Did(1))
    assert ring.find_successor(Did(0)) == Local(Did(1))  # target == self: bias 0 (0.2.5)
    ring = ring_of(0, *SPREAD)
    assert ring.find_successor(Did(2**149)) == Remote(Did(2**102))  # 0.2.5: the closest preceding
    assert ring.find_successor(Did(2**150)) == Remote(Did(2**102))  # the target itself is not past it
    assert ring.find_successor(Did.MAX) == Remote(TOP)


def test_find_successor_prefers_a_known_node_just_past_the_target():
    ring = ring_of(0, *SPREAD)
    assert ring.find_successor(Did(2**150 - 2**101)) == Remote(Did(2**150))  # within 4 gaps past
    assert ring.find_successor(Did(2**150 - 2**103)) == Remote(Did(2**102))  # too far: 0.2.5's way
    assert ring.find_successor(Did(2**150 - 1), avoid=(Did(2**150),)) == Remote(Did(2**102))


def test_find_successor_routes_through_every_known_node():
    ring = ring_of(0, 2**159, 2**159 + 2**100)  # the second is no finger: 2^159 shadows it
    assert 2**159 + 2**100 not in ring.fingers
    assert ring.find_successor(Did.MAX) == Remote(Did(2**159 + 2**100))  # 0.2.5: TOP
    assert ring.closest_preceding(Did.MAX, avoid=(Did(2**159 + 2**100),)) == TOP
    assert ring.closest_preceding(Did(1)) is None


def test_find_successor_wraps():
    me = RING_SIZE - 2**100
    ring = ring_of(me, 2**50, 2**60, 2**70, 2**158)
    assert ring.find_successor(Did(2**40)) == Local(Did(2**50))
    assert ring.find_successor(Did(2**155)) == Remote(Did(2**70))
    assert ring.find_successor(Did(me - 1)) == Remote(Did(2**158))


def test_find_successor_alone_and_fallback():
    ring = PeerRing(Did(7))
    assert ring.find_successor(Did(3)) == Local(Did(7))
    ring.successors.update(Did(9))  # a successor the ring never joined
    assert ring.find_successor(Did(8)) == Local(Did(9))
    assert ring.find_successor(Did(100)) == Remote(Did(9))  # never Remote(self)


def test_successor_of_own_range_and_successor_range():
    ring = ring_of(1000, 2000, 3000)
    assert ring.successor_of(Did(1500)) == Did(2000) and ring.successor_of(Did(1000)) == Did(2000)
    assert ring.successor_of(Did(500)) is None  # no predecessor yet
    ring.notify(Did(400))
    assert ring.successor_of(Did(500)) == Did(1000) and ring.successor_of(Did(1000 - 1)) == Did(1000)
    assert ring.successor_of(Did(400)) is None and ring.successor_of(Did(2500)) is None
    assert PeerRing(Did(5)).successor_of(Did(9)) == Did(5)  # alone: every id is ours


def test_stores_here_is_025_placement():
    ring = ring_of(100, 200, 50)
    assert ring.stores_here(Did(150)) and ring.stores_here(Did(200)) and ring.stores_here(Did(100))
    assert not ring.stores_here(Did(201)) and not ring.stores_here(Did(99))
    assert PeerRing(Did(1)).stores_here(Did(12345))
    for key in (99, 100, 150, 200, 201):
        assert ring.stores_here(Did(key)) == isinstance(ring.find_successor(Did(key)), Local)


# -- PeerRing: stabilization ----------------------------------------------------------------------
def test_notify_ordering():
    ring = PeerRing(Did(100))
    assert ring.notify(Did(50)) is None and ring.predecessor == Did(50)
    assert ring.notify(Did(10)) == Did(50) and ring.predecessor == Did(50)  # before the predecessor
    assert ring.notify(Did(150)) == Did(50) and ring.predecessor == Did(50)  # after self
    assert ring.notify(Did(70)) == Did(50) and ring.predecessor == Did(70)
    assert ring.notify(Did(100)) == Did(70) and ring.predecessor == Did(70)  # self ignored
    wrap = PeerRing(Did(5))
    wrap.notify(Did(RING_SIZE - 10))
    assert wrap.notify(Did(2)) == Did(RING_SIZE - 10) and wrap.predecessor == Did(2)


def test_remove_clears_and_refills():
    ring = ring_of(0, 1, 2, 3, 5, 2**159)
    ring.notify(Did(2**159))
    ring.remove(Did(2))
    assert ring.successors.list() == [Did(1), Did(3), Did(5)]
    assert ring.fingers.slots[:3] == (Did(1), Did(3), Did(5))  # 0.2.5 would put 5 in slot 1
    ring.remove(TOP)
    assert ring.predecessor is None and TOP not in ring.fingers and ring.fingers[3] is None
    ring.remove(Did(1))
    assert ring.successors.list() == [Did(3), Did(5)] and ring.fingers.slots[:3] == (Did(3), Did(3), Did(5))
    ring.remove(Did(42))  # unknown: no change
    assert ring.successors.list() == [Did(3), Did(5)]


def test_remove_refills_empty_successors_from_fingers():
    ring = ring_of(0, 1, 5, 2**159, successors=1)
    assert ring.successors.list() == [Did(1)]
    ring.remove(Did(1))
    assert ring.successors.list() == [Did(5)] and ring.find_successor(Did(3)) == Local(Did(5))
    ring.remove(Did(5))
    ring.remove(TOP)
    assert ring.successors.list() == [] and ring.find_successor(Did(3)) == Local(Did(0))


def test_next_finger_check_walks_the_slots_that_need_a_question():
    me = Did(RING_SIZE - 3)
    ring = PeerRing(me)
    assert ring.next_finger_check() is None  # no successor: nothing to ask
    ring = ring_of(0, 2**100, 2**150, 2**155, 2**159)
    ring.notify(Did(2**159))
    steps = [ring.next_finger_check() for _ in range(5)]
    # slots 0..100 are the first successor's; 101..150 hold 2^150 (checked at 101); then 151,
    # 156 (2^159, whose run starts there); 159's target is past the predecessor: ours, empty
    assert [s.index for s in steps] == [101, 151, 156, 101, 151]
    assert all(s.target == Did(1 << s.index) for s in steps)
    wrap = ring_of(RING_SIZE - 3, 2**158)
    assert wrap.next_finger_check() == FixFinger(159, Did(2**159 - 3))


def test_verified_fingers_are_left_out_of_the_unverified_walk():
    ring = ring_of(0, 2**100, 2**150, 2**155, 2**159)
    ring.notify(Did(2**159))
    ring.verify(101, Did(2**150))  # a lookup of 2^101 named 2^150: slots 101..150 are right
    ring.verify(155, Did(2**155))  # not its slot (2^155 holds 151..155): ignored, as is a
    ring.verify(156, Did(2**150))  # slot that holds another node
    assert [ring.next_finger_check(unverified=True).index for _ in range(3)] == [151, 156, 151]
    ring.verify_top(Did(2**155))  # named for a target before it: its last slot (155) only
    ring.verify(156, Did(2**159))
    assert [ring.next_finger_check(unverified=True).index for _ in range(2)] == [151, 151]
    ring.verify(151, Did(2**155))
    assert ring.next_finger_check(unverified=True) is None  # all confirmed
    assert sorted(ring.next_finger_check().index for _ in range(3)) == [101, 151, 156]  # the plain walk
    ring.remove(Did(2**150))  # its slots go to 2^155, confirmed from 151 only
    assert ring.next_finger_check(unverified=True).index == 101
    ring.join(Did(2**150))  # a node back: not confirmed
    assert ring.next_finger_check(unverified=True).index == 101


def test_check_for_a_new_finger():
    ring = ring_of(0, 2**100, 2**159)
    ring.join(Did(2**150 + 5))  # takes slots 101..150 (2^159 keeps 151..159: their targets lie past it)
    assert ring.check_for(Did(2**150 + 5)).index == 101
    assert ring.check_for(Did(2**100)) is None  # its own slots are local
    assert ring.check_for(Did(12345)) is None  # not a finger


def test_would_improve_counts_links_under_way():
    ring = ring_of(0, 10, 20, 30, 2**150)
    assert ring.would_improve(Did(25)) and ring.would_improve(Did(35))  # successor | finger 5
    assert not ring.would_improve(Did(20)) and not ring.would_improve(Did(2**150 + 1))
    assert ring.would_improve(Did(2**149 + 1))  # a closer finger for slot 149
    assert not ring.would_improve(Did(25), coming=(Did(22),))  # a successor candidate on its way
    assert not ring.would_improve(Did(2**149 + 9), coming=(Did(2**149 + 1),))
    assert ring.would_improve(Did(2**149 + 9), coming=(Did(2**148),))  # another slot


def test_boundary_rejects_non_did():
    ring = PeerRing(Did(0))
    for call in (ring.join, ring.remove, ring.notify, ring.find_successor, ring.stores_here):
        with pytest.raises(InvalidArgument):
            call(5)
    with pytest.raises(InvalidArgument):
        PeerRing(0)


# -- global oracle --------------------------------------------------------------------------------
MASK = RING_SIZE - 1
ids = (st.integers(0, MASK) | st.integers(0, 40) | st.integers(RING_SIZE - 40, MASK)
       | st.integers(0, 159).map(lambda k: 1 << k) | st.integers(0, 159).map(lambda k: (1 << k) - 1))
node_sets = st.integers(1, 64).flatmap(lambda n: st.lists(ids, min_size=n, max_size=n, unique=True))


def full_rings(order: list[int]) -> dict[int, PeerRing]:
    rings = {n: PeerRing(Did(n)) for n in order}
    for n, ring in rings.items():
        for m in order:
            if m != n:
                ring.join(Did(m))
                ring.notify(Did(m))
    return rings


def lookup(rings: dict[int, PeerRing], start: int, target: Did) -> tuple[int, Did, int]:
    node, hops, visited = start, 0, (Did(start),)
    while True:
        step = rings[node].find_successor(target, avoid=visited)  # as the engine: the relay path
        if isinstance(step, Local):
            return node, step.did, hops
        assert step.next_hop not in visited and step.next_hop in rings
        node, hops, visited = step.next_hop, hops + 1, visited + (step.next_hop,)
        assert hops < len(rings), "lookup did not terminate within N hops"


def check_lookup(rings: dict[int, PeerRing], nodes: list[int], start: int, target: Did) -> None:
    """The route ends at the 0.2.5 owner: the node preceding ``target`` (SPEC §7.7)."""
    at, answer, _ = lookup(rings, start, target)
    i = bisect_left(nodes, target) % len(nodes)  # nodes[i]: the target's Chord successor
    if target == start:  # bias 0: answered by the start node itself with its successor
        assert (at, answer) == (start, nodes[(nodes.index(start) + 1) % len(nodes)])
    else:
        assert (at, answer) == (nodes[i - 1], nodes[i])


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_oracle_full_knowledge(data):
    order = data.draw(node_sets)
    nodes = sorted(order)
    rings = full_rings(order)
    for n, ring in rings.items():
        biases = sorted((m - n) & MASK for m in nodes if m != n)
        for k in range(160):
            j = bisect_left(biases, 1 << k)
            assert ring.fingers[k] == (Did(n + biases[j]) if j < len(biases) else None), (n, k)
        assert ring.successors.list() == [Did(n + b) for b in biases[:3]]
        assert ring.predecessor == (Did(n + biases[-1]) if biases else None)
    extra = data.draw(st.lists(ids, max_size=16))
    targets = [Did(t + d) for t in nodes for d in (-1, 0, 1)] + [Did(t) for t in extra]
    for i, target in enumerate(targets):
        for j in (i, 7 * i + 3):
            check_lookup(rings, nodes, nodes[j % len(nodes)], target)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_oracle_after_removals(data):
    order = data.draw(node_sets)
    gone = data.draw(st.lists(st.sampled_from(order), unique=True, max_size=len(order) - 1))
    rings = full_rings(order)
    for g in gone:
        del rings[g]
    for ring in rings.values():
        for g in gone:
            ring.remove(Did(g))
    nodes = sorted(rings)
    for n, ring in rings.items():
        slots = ring.fingers.slots
        assert not set(gone) & {*slots, *ring.successors, ring.predecessor}
        for k, f in enumerate(slots):  # sound: a live node at or after n + 2^k, monotone
            assert f is None or (f in rings and (f - n) & MASK >= 1 << k)
            assert k == 0 or slots[k - 1] is not None or f is None
        biases = [(s - n) & MASK for s in ring.successors]
        assert biases == sorted(biases) and 0 not in biases and set(ring.successors) <= set(rings)
    exact = all(r.successors.first() == Did(nodes[(i + 1) % len(nodes)]) or len(nodes) == 1
                for i, r in enumerate(rings[n] for n in nodes))
    for i, target in enumerate([Did(t + d) for t in order for d in (-1, 0, 1)]):
        start = nodes[i % len(nodes)]
        if exact:
            check_lookup(rings, nodes, start, target)
        else:
            lookup(rings, start, target)  # terminates: a lookup never revisits a node


def test_lookup_hops_logarithmic():
    rnd = random.Random(2001)
    order = [rnd.getrandbits(160) for _ in range(256)]
    rings, nodes = full_rings(order), sorted(order)
    hops = []
    for _ in range(500):
        target = Did(rnd.getrandbits(160))
        hops.append(lookup(rings, rnd.choice(order), target)[2])
        check_lookup(rings, nodes, order[0], target)
    assert max(hops) <= 2 * math.log2(256) and sum(hops) / len(hops) <= math.log2(256)
