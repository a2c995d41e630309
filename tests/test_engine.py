"""The node engine over the in-memory simulator: handshakes, ring, relay, storage, hostile input."""

from __future__ import annotations

import random
import uuid
from bisect import bisect_left
from dataclasses import replace

import pytest

from rings_web.did import Did
from rings_web.engine.config import Config
from rings_web.engine.events import (
    LookupResult, MessageReceived, PayloadRejected, PeerConnected, PeerDisconnected, RequestDone, RequestFailed,
    SendFrames,
)
from rings_web.engine.core import Engine
from rings_web.engine.routing import Router
from rings_web.errors import ConnectionFailed, NotFound, RelayError, RemoteError, ReplayError
from rings_web.message import payload as pl
from rings_web.message.custom import BackendType, backend_body
from rings_web.sim.checks import engines_ring_correct as ring_correct
from rings_web.sim.simulator import Simulator
from rings_web.wire import base58
from rings_web.wire.chunk import Reassembler, decode_frame, split
from rings_web.wire.types import (
    CustomMessage, Extend, FindSuccessorReport, FindSuccessorSend, Handler, HandshakeInfo, LeaveDHT, MessageRelay,
    MultiCall, NotifyPredecessorReport, NotifyPredecessorSend, OperateVNode, Overwrite, SyncVNodeWithSuccessor, Touch,
    VirtualNode,
)

CONFIG = Config(stabilize_interval_ms=3000)


def build_ring(n: int, seed: int = 1, fast: bool = False, rounds: int = 8) -> tuple[Simulator, list]:
    sim = Simulator(seed=seed, config=CONFIG, insecure_fast=fast)
    nodes = [sim.add_node()]
    for _ in range(n - 1):
        node = sim.add_node()
        sim.link(node, sim.rng.choice(nodes))
        nodes.append(node)
        sim.run_for(200)
    sim.run_for(rounds * CONFIG.stabilize_interval_ms)
    return sim, nodes


def result(sim: Simulator, node, rid: int):
    sim.run_until(lambda: any(getattr(e, "request_id", None) == rid for e in sim.events[node.me]), max_ms=30_000)
    for e in sim.events[node.me]:
        if getattr(e, "request_id", None) == rid:
            return e
    raise AssertionError(f"request {rid} never finished")


def texts(sim: Simulator, node) -> list[tuple[Did, bytes]]:
    return [(e.origin, e.body) for e in sim.events[node.me] if isinstance(e, MessageReceived)]


HEAVY = pytest.mark.cpython_only  # a 50-node ring with real signatures: minutes at @noble speed in Pyodide


@pytest.fixture(scope="module")
def ring50():
    return build_ring(50, seed=7)


def test_manual_handshake_strings_are_signed_0_2_5_payloads():
    sim = Simulator(seed=3, config=CONFIG)
    a, b = sim.add_node(), sim.add_node()
    offer = result(sim, a, sim.call(a, lambda n: n.create_offer(sim.now))).value
    p = pl.payload_from_json(offer)
    assert type(p.data).__name__ == "ConnectNodeSend" and p.relay == MessageRelay((a.me,), a.me, a.me)
    answer = result(sim, b, sim.call(b, lambda n: n.answer_offer(offer, sim.now))).value
    assert pl.payload_from_json(answer).data.transport_uuid == p.data.transport_uuid
    assert result(sim, a, sim.call(a, lambda n: n.accept_answer(answer, sim.now))).value == b.me
    sim.run_for(1000)
    assert a.peers == [b.me] and b.peers == [a.me]
    assert PeerConnected(b.me) in sim.events[a.me]
    # the same offer again is a replay; a fresh one is answered though a link exists (0.2.5
    # refuses it: "Found existing transport"): a reloaded page offers so (tests/test_rejoin.py)
    again = result(sim, b, sim.call(b, lambda n: n.answer_offer(offer, sim.now)))
    assert isinstance(again, RequestFailed) and isinstance(again.error, ReplayError)
    fresh = result(sim, a, sim.call(a, lambda n: n.create_offer(sim.now))).value
    again = result(sim, b, sim.call(b, lambda n: n.answer_offer(fresh, sim.now)))
    assert pl.payload_from_json(again.value).data.transport_uuid == pl.payload_from_json(fresh).data.transport_uuid
    bad = result(sim, b, sim.call(b, lambda n: n.answer_offer("{not json", sim.now)))
    assert isinstance(bad, RequestFailed) and isinstance(bad.error, RemoteError)


@HEAVY
def test_ring_of_50_with_real_signatures_is_correct(ring50):
    sim, nodes = ring50
    assert ring_correct(nodes)


@HEAVY
def test_every_node_reaches_every_other_by_did(ring50):
    sim, nodes = ring50
    for a in nodes:
        for b in nodes:
            if a is not b:
                sim.call(a, lambda n, d=b.me: n.send_message(d, backend_body(BackendType.SimpleText, n.me.to_bytes20()), sim.now))
    sim.run_for(5000)
    for b in nodes:
        got = {origin for origin, body in texts(sim, b) if body[36:] == origin.to_bytes20()}
        assert got == {a.me for a in nodes if a is not b}, f"{b.me.hex()} missed {len(nodes) - 1 - len(got)}"


@HEAVY
def test_storage_written_at_one_node_is_fetched_from_every_other(ring50):
    sim, nodes = ring50
    topic = "rings-web-test-topic"
    vnode = VirtualNode(Did.from_topic(topic), (base58.encode_check(topic.encode()),))
    stored = result(sim, nodes[3], sim.call(nodes[3], lambda n: n.store(Overwrite(vnode), sim.now)))
    assert isinstance(stored, RequestDone) and stored.value == vnode
    for node in nodes:
        got = result(sim, node, sim.call(node, lambda n: n.fetch(vnode.did, sim.now)))
        assert isinstance(got, RequestDone) and got.value == vnode, node.me.hex()
    missing = result(sim, nodes[5], sim.call(nodes[5], lambda n: n.fetch(Did.from_topic("nothing here"), sim.now)))
    assert isinstance(missing, RequestFailed) and isinstance(missing.error, NotFound)


@HEAVY
def test_extend_and_touch_keep_order_and_cap(ring50):
    sim, nodes = ring50
    vid = Did.from_topic("a list")
    for i, op in enumerate([Extend(VirtualNode(vid, ("a", "b"))), Extend(VirtualNode(vid, ("c",))), Touch(VirtualNode(vid, ("a",)))]):
        assert isinstance(result(sim, nodes[i], sim.call(nodes[i], lambda n, o=op: n.store(o, sim.now))), RequestDone)
    got = result(sim, nodes[9], sim.call(nodes[9], lambda n: n.fetch(vid, sim.now)))
    assert got.value.data == ("b", "c", "a")


@HEAVY
def test_connect_through_the_ring(ring50):
    sim, nodes = ring50
    a = nodes[0]
    target = next(n for n in nodes if n.me not in a.peers and n is not a)
    done = result(sim, a, sim.call(a, lambda n: n.connect(target.me, sim.now)))
    sim.run_for(100)  # the far end registers the link at the same virtual moment
    assert isinstance(done, RequestDone) and target.me in a.peers and a.me in target.peers


def test_relayed_message_over_three_hops_and_reports_back(monkeypatch):
    sim = Simulator(seed=5, config=Config(stabilize_interval_ms=10**9))  # no stabilization rounds
    a, b, c, d = sorted((sim.add_node() for _ in range(4)), key=lambda n: n.me)
    for node in (a, b, c, d):  # keep the chain a-b-c-d: no connect-through-the-ring
        monkeypatch.setattr(node.links, "offer", lambda *args, **kwargs: None)
    for x, y in [(a, b), (b, c), (c, d)]:
        sim.link(x, y)
    sim.run_for(2000)
    assert d.me not in a.peers and d.me not in b.peers
    tx = sim.call(a, lambda n: n.send_message(d.me, backend_body(2, b"far"), sim.now))
    sim.run_for(2000)
    got = [e for e in sim.events[d.me] if isinstance(e, MessageReceived)]
    assert got and got[0].tx_id == tx and got[0].payload.relay.path == (a.me, b.me, c.me)
    # a fetch that d answers: its FoundVNode report travels back d -> c -> b -> a
    vid = d.me + 1  # stored by d (0.2.5 placement: (d, successor])
    d.storage.owned[vid] = VirtualNode(vid, ("x",))
    done = result(sim, a, sim.call(a, lambda n: n.fetch(vid, sim.now)))
    assert isinstance(done, RequestDone) and done.value.data == ("x",)
    assert any(isinstance(e, MessageReceived) for e in sim.events[d.me])


def inject(sim, node, payload, peer_tid=None):
    tid = peer_tid or next(iter(node.links.peers.values()))
    frames = split(pl.encode_payload(payload), uuid.uuid4(), sim.now)
    for f in frames:
        sim.call(node, lambda n, f=f: n.receive(tid, f, sim.now))
    return [e for e in sim.events[node.me] if isinstance(e, PayloadRejected)]


@HEAVY
def test_hostile_input_never_crashes_the_engine(ring50):
    sim, nodes = ring50
    a, b = nodes[0], nodes[1]
    evil = b.session
    peers_before = list(a.peers)
    # LeaveDHT from the wire is refused and drops no link
    p = pl.direct(evil, LeaveDHT(peers_before[0]), destination=a.me, now=sim.now, tx_id=uuid.uuid4())
    assert isinstance(inject(sim, a, p)[-1].error, RemoteError) and a.peers == peers_before
    # a forged report for a request nobody made is refused: it finishes no request and, though
    # it names a node the ring would link to (a's successor-to-be), starts no connect
    p = pl.direct(evil, FindSuccessorReport(a.me + 1, Handler.Connect), destination=a.me, now=sim.now, tx_id=uuid.uuid4())
    n_events, pending = len(sim.events[a.me]), set(a.pending_transport_ids)
    assert "did not make" in str(inject(sim, a, p)[-1].error)
    assert not any(isinstance(e, RequestDone) for e in sim.events[a.me][n_events:])
    assert set(a.pending_transport_ids) == pending and a.peers == peers_before
    # NotifyPredecessorSend naming someone else
    p = pl.direct(evil, NotifyPredecessorSend(Did(1)), destination=a.me, now=sim.now, tx_id=uuid.uuid4())
    assert "origin" in str(inject(sim, a, p)[-1].error)
    # a message for a DID nobody has, with a looping path and a wrong next hop
    p = pl.send(evil, CustomMessage(b"x"), next_hop=a.me, destination=Did(99), now=sim.now, tx_id=uuid.uuid4())
    looped = pl.MessagePayload(p.data, p.tx_id, p.addr, MessageRelay((b.me, a.me, b.me, a.me, b.me), a.me, Did(99)),
                               p.verification, p.origin_verification)
    errors = inject(sim, a, looped)
    assert isinstance(errors[-1].error, RemoteError)
    wrong_hop = pl.send(evil, CustomMessage(b"x"), next_hop=Did(5), destination=Did(99), now=sim.now, tx_id=uuid.uuid4())
    assert isinstance(inject(sim, a, wrong_hop)[-1].error, RelayError)
    # garbage bytes
    sim.call(a, lambda n: n.receive(a.links.peers[peers_before[0]], b"\x00" * 40, sim.now))
    assert isinstance(sim.events[a.me][-1], PayloadRejected)
    # and the node still works
    rid = sim.call(a, lambda n: n.fetch(Did.from_topic("rings-web-test-topic"), sim.now))
    assert isinstance(result(sim, a, rid), (RequestDone, RequestFailed))
    assert a.peers



def test_a_hand_over_that_misses_its_owner_goes_on_to_it():
    """A node hands its successor a VNode it no longer owns, for an id the successor does not
    own either (the owner is further on, a node the sender did not know): the successor keeps
    a copy and passes it on to the owner. A copy of an id that lies between its sender and
    the receiver is a replica: kept, not passed on."""
    sim, nodes = build_ring(8, seed=4, fast=True, rounds=3)
    ring = sorted(nodes, key=lambda n: n.me)
    assert ring_correct(nodes)
    a, b, owner = ring[0], ring[1], ring[4]
    handed = VirtualNode(owner.me + 1, ("handed over",))  # owner stores (owner, its successor]
    copy = VirtualNode(a.me + 1, ("a's copy",))  # a stores it: b gets a replica
    frames_before = sim.frames_sent
    for vnode in (handed, copy):
        p = pl.direct(a.session, SyncVNodeWithSuccessor((vnode,)), destination=b.me, now=sim.now, tx_id=uuid.uuid4())
        assert not inject(sim, b, p, peer_tid=b.links.peers[a.me])
        sim.run_for(1000)
    assert owner.storage.owned.get(handed.did) == handed and b.storage.replicas.get(handed.did) == handed
    assert b.storage.replicas.get(copy.did) == copy
    assert not any(copy.did in n.storage.owned for n in nodes)
    assert sim.frames_sent > frames_before


def test_same_seed_same_run():
    def trace(seed):
        sim, nodes = build_ring(8, seed=seed, fast=True, rounds=3)
        return sim.frames_sent, [(n.me, tuple(n.ring.successors)) for n in nodes]

    assert trace(11) == trace(11)
    assert trace(11) != trace(12)


def sent_messages(node) -> list:
    """Decode what ``node`` wants to send right now (bypassing the simulator)."""
    out = []
    for action in node.actions_to_perform():
        if isinstance(action, SendFrames):
            ra = Reassembler()
            for f in action.frames:
                whole = ra.receive(f, decode_frame(f).meta.ts_ms)
                if whole is not None:
                    out.append((action.peer, pl.decode_payload(whole)))
    return out


def feed(node, payload, now):
    tid = next(iter(node.links.peers.values()))
    for f in split(pl.encode_payload(payload), uuid.uuid4(), now):
        node.receive(tid, f, now)


def test_already_connected_multicall_and_encrypted_custom_message():
    from rings_web.crypto.hashing import ecies_encrypt
    from rings_web.wire.types import AlreadyConnected, ConnectNodeSend, HandshakeInfo, MultiCall

    sim = Simulator(seed=9, config=Config(stabilize_interval_ms=10**9))
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_for(1000)
    now = sim.now
    # a ConnectNodeSend from a peer we are linked to is answered AlreadyConnected
    p = pl.direct(a.session, ConnectNodeSend("t-1", HandshakeInfo('{"sdp":"x","type":"offer"}')), destination=b.me,
                  now=now, tx_id=uuid.uuid4())
    b.actions_to_perform()
    feed(b, p, now)
    (peer, reply), = sent_messages(b)
    assert peer == a.me and isinstance(reply.data, AlreadyConnected) and reply.tx_id == p.tx_id
    # MultiCall: every inner message is handled
    multi = MultiCall((CustomMessage(b"\0\0\0\0one"), CustomMessage(b"\0\0\0\0two")))
    feed(b, pl.direct(a.session, multi, destination=b.me, now=now, tx_id=uuid.uuid4()), now)
    # an encrypted custom message (SPEC §5.7) to b's session key
    inner = (8).to_bytes(8, "little") + b"secret!!"
    blob = ecies_encrypt(a.session.crypto, b.session.key.public_key, inner, bytes(range(1, 33)), bytes(16))
    feed(b, pl.direct(a.session, CustomMessage(blob, encrypted=True), destination=b.me, now=now, tx_id=uuid.uuid4()), now)
    bodies = []
    while (e := b.next_event()) is not None:
        if isinstance(e, MessageReceived):
            bodies.append(e.body)
    assert bodies == [b"\0\0\0\0one", b"\0\0\0\0two", b"secret!!"]


@HEAVY
def test_stored_vnodes_are_replicated_to_the_neighbours(ring50):
    sim, nodes = ring50
    vnode = VirtualNode(Did.from_topic("replicated"), ("r",))
    assert isinstance(result(sim, nodes[0], sim.call(nodes[0], lambda n: n.store(Overwrite(vnode), sim.now))), RequestDone)
    sim.run_for(500)
    owner = next(n for n in nodes if vnode.did in n.storage.owned)
    holders = {n.me for n in nodes if vnode.did in n.storage.replicas}
    assert owner.ring.predecessor in holders and set(owner.ring.successors) <= holders


def test_driver_inputs_never_raise_when_the_way_back_is_gone(monkeypatch):
    from rings_web.engine.events import AcceptOffer
    from rings_web.wire.types import ConnectNodeSend, HandshakeInfo

    sim = Simulator(seed=12, config=Config(stabilize_interval_ms=10**9))
    a, b, c = (sim.add_node() for _ in range(3))
    for node in (a, b, c):
        monkeypatch.setattr(node.links, "offer", lambda *args, **kwargs: None)
    sim.link(a, b)
    sim.link(b, c)
    sim.run_for(1000)
    now = sim.now
    offer = pl.send(a.session, ConnectNodeSend("t-9", HandshakeInfo('{"sdp":"x","type":"offer"}')), next_hop=b.me,
                    destination=c.me, now=now, tx_id=uuid.uuid4())
    relayed = pl.forward(b.session, offer, next_hop=c.me, now=now)
    c.actions_to_perform()
    tid_b = c.links.peers[b.me]
    for f in split(pl.encode_payload(relayed), uuid.uuid4(), now):
        c.receive(tid_b, f, now)
    (accept,) = [x for x in c.actions_to_perform() if isinstance(x, AcceptOffer)]
    c.transport_closed(tid_b, now)  # the hop the answer must go back through is gone
    c.answer_ready(accept.transport_id, HandshakeInfo('{"sdp":"y","type":"answer"}'), now)  # must not raise
    events = []
    while (e := c.next_event()) is not None:
        events.append(e)
    assert isinstance(events[-1], PayloadRejected) and "next hop" in str(events[-1].error)


@pytest.fixture(scope="module")
def pair_for_fuzz():
    sim = Simulator(seed=13, config=Config(stabilize_interval_ms=10**9), insecure_fast=True)
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_for(1000)
    samples = [pl.encode_payload(pl.direct(a.session, m, destination=b.me, now=sim.now, tx_id=uuid.UUID(int=i)))
               for i, m in enumerate([CustomMessage(b"\0\0\0\0x"), NotifyPredecessorSend(a.me),
                                      FindSuccessorReport(Did(3), Handler.Connect)])]
    return sim, b, samples


def test_engine_receive_never_raises_on_mutated_frames(pair_for_fuzz):
    from hypothesis import given, settings
    from hypothesis import strategies as st

    sim, b, samples = pair_for_fuzz
    tid = next(iter(b.links.peers.values()))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(samples), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
           st.binary(max_size=64))
    def check(payload, flips, tail):
        data = bytearray(payload)
        for pos, byte in flips:
            data[pos % len(data)] ^= byte
        for frame in split(bytes(data) + tail, uuid.uuid4(), sim.now):
            b.receive(tid, frame, sim.now)  # must never raise
        b.handle_timer(sim.now)
        b.actions_to_perform()
        while b.next_event() is not None:
            pass

    check()


# -- joining and keeping the ring (beyond 0.2.5, every message a 0.2.5 one) -------------------------
@pytest.fixture(scope="module")
def ring24():
    return build_ring(24, seed=21, fast=True, rounds=6)


def sent_payloads(monkeypatch) -> list[tuple[Did, object]]:
    """Every payload any node emits from now on, as (sender, payload)."""
    log = []
    emit = Router.emit

    def recording(self, p, now):
        log.append((self.me, p))
        return emit(self, p, now)

    monkeypatch.setattr(Router, "emit", recording)
    return log


def test_lookup_names_the_successor_of_any_key(ring24):
    sim, nodes = ring24
    ids = sorted(n.me for n in nodes)
    rnd = random.Random(3)
    for _ in range(40):
        asker, key = rnd.choice(nodes), Did(rnd.getrandbits(160))
        done = result(sim, asker, sim.call(asker, lambda n, k=key: n.lookup(k, sim.now)))
        assert isinstance(done, RequestDone) and done.value.successor == ids[bisect_left(ids, key) % len(ids)]
        assert 0 <= done.value.hops <= 4
    own = nodes[0]
    done = result(sim, own, sim.call(own, lambda n: n.lookup(n.me + 1, sim.now)))
    assert done.value == LookupResult(own.ring.successors.first(), 0)  # in its own range: no message


def test_a_multicall_of_lookups_gets_each_answer_once(monkeypatch):
    """Lookups in one MultiCall share its tx_id, so two with the same answer would be two
    byte-identical reports (a replay to the asker): each answer is reported once."""
    sim = Simulator(seed=26, config=Config(stabilize_interval_ms=10**9))
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_for(1000)
    log = sent_payloads(monkeypatch)
    lookups = tuple(FindSuccessorSend(b.me + k, False, Handler.FixFingerTable) for k in (1, 2, 3))  # all: a
    sim.call(a, lambda n: n.router.send_direct(MultiCall(lookups), b.me, sim.now))
    sim.run_for(1000)
    reports = [p for sender, p in log if sender == b.me and isinstance(p.data, FindSuccessorReport)]
    assert [r.data for r in reports] == [FindSuccessorReport(a.me, Handler.FixFingerTable)]
    assert not [e for e in sim.events[a.me] if isinstance(e, PayloadRejected)]


def test_a_newcomer_asks_on_its_bootstrap_link_only_and_borrows_fingers_from_its_successor(ring24, monkeypatch):
    sim, nodes = ring24
    log = sent_payloads(monkeypatch)
    rounds = []  # payloads sent in stabilization rounds: a periodic self-check may pass the newcomer
    stabilize = Engine.stabilize

    def recording_round(self, now):
        start = len(log)
        stabilize(self, now)
        rounds.extend(id(p) for _, p in log[start:])

    monkeypatch.setattr(Engine, "stabilize", recording_round)
    newcomer = sim.add_node()
    sim.link(newcomer, nodes[5])
    sim.run_for(2000)
    ids = sorted([n.me for n in nodes] + [newcomer.me])
    successor = ids[(ids.index(newcomer.me) + 1) % len(ids)]
    assert newcomer.ring.successors.first() == successor and newcomer.ring.predecessor == ids[ids.index(newcomer.me) - 1]
    mine = [p for sender, p in log if sender == newcomer.me and p.relay.path == (newcomer.me,)]
    assert isinstance(mine[0].data, FindSuccessorSend) and mine[0].data.did == newcomer.me  # 0.2.5's JoinDHT
    assert mine[0].relay.next_hop == nodes[5].me  # lookup, on the bootstrap link: not on the ring's links
    assert not [p for sender, p in log if p.relay.path == (sender,) and p.relay.next_hop == newcomer.me
                and isinstance(p.data, FindSuccessorSend) and p.data.did == sender and sender != nodes[5].me
                and id(p) not in rounds]
    borrow = [p for p in mine if isinstance(p.data, MultiCall)]
    assert len(borrow) == 1 and borrow[0].relay.next_hop == successor
    targets = {m.did for m in borrow[0].data.messages}
    assert all(isinstance(m, FindSuccessorSend) and m.then == Handler.FixFingerTable for m in borrow[0].data.messages)
    assert newcomer.me + (1 << 159) in targets
    sim.run_for(3 * CONFIG.stabilize_interval_ms)
    for k in range(160):
        want = ids[bisect_left(ids, newcomer.me + (1 << k)) % len(ids)]
        assert newcomer.ring.fingers[k] == (None if want == newcomer.me else want), k


def test_a_new_predecessor_is_announced_to_the_peers_with_a_finger_target_it_now_owns(ring24, monkeypatch):
    sim, nodes = ring24
    ids = sorted(sim.nodes)  # the ring's nodes, with the newcomers of earlier tests
    log = sent_payloads(monkeypatch)
    newcomer = sim.add_node()
    sim.link(newcomer, nodes[2])
    sim.run_for(2000)
    successor = sim.nodes[newcomer.ring.successors.first()]
    old = ids[bisect_left(ids, newcomer.me) - 1]  # the old predecessor
    told = {p.relay.next_hop for sender, p in log
            if sender == successor.me and isinstance(p.data, NotifyPredecessorReport) and p.data.did == newcomer.me}
    assert old in told
    for peer in told - {newcomer.me}:  # a target peer + 2^k in (old, newcomer]: the newcomer's now
        assert any(Did(peer + (1 << k)).in_range(old, newcomer.me) for k in range(160)), peer
    assert sim.nodes[old].ring.successors.first() == newcomer.me  # it linked to it


def test_a_finger_check_goes_to_the_finger_which_answers_for_its_own_range(ring24, monkeypatch):
    sim, nodes = ring24
    sim.run_for(8 * CONFIG.stabilize_interval_ms)  # settle after the newcomers of the tests above
    log = sent_payloads(monkeypatch)
    sim.run_for(2 * CONFIG.stabilize_interval_ms)
    sent = len(log)
    sim.run_for(1000)  # the answers to checks sent at the end
    checks = [p for _, p in log[:sent] if isinstance(p.data, FindSuccessorSend) and p.data.then == Handler.FixFingerTable]
    answers = {p.tx_id: p for _, p in log if isinstance(p.data, FindSuccessorReport) and p.data.handler == Handler.FixFingerTable}
    assert checks
    for check in checks:  # settled: sent straight to the finger, answered by it, one hop each way
        assert len(check.relay.path) == 1 and check.relay.next_hop == check.relay.destination
        answer = answers[check.tx_id]
        assert answer.relay.path == (check.relay.next_hop,) and answer.data.did == check.relay.next_hop


def test_every_eighth_round_a_node_asks_where_it_belongs_outside_its_neighbourhood(ring24, monkeypatch):
    """Concurrent joins can leave a chain of nodes whose successors and predecessors agree
    with each other but skip part of the ring, which notifications never leave: every 8th
    round (and rounds 2 and 4) a node looks itself up through a peer that is not its
    predecessor or a successor."""
    sim, nodes = ring24
    log = sent_payloads(monkeypatch)
    sim.run_for(8 * CONFIG.stabilize_interval_ms)
    asked = {}
    for sender, p in log:
        if (isinstance(p.data, FindSuccessorSend) and p.data.did == sender and p.relay.path == (sender,)
                and p.data.then == Handler.Connect):
            asked.setdefault(sender, set()).add(p.relay.next_hop)
    for node in nodes:
        outside = set(node.peers) - {node.ring.predecessor, *node.ring.successors}
        if outside:
            assert asked.get(node.me, set()) & outside, node.me


def test_confirmed_fingers_are_rechecked_one_a_round(ring24, monkeypatch):
    """A settled node has had every finger confirmed by a lookup: a round rechecks one, in
    turn (fingers_per_round is for the slots no lookup has confirmed)."""
    sim, nodes = ring24
    sim.run_for(8 * CONFIG.stabilize_interval_ms)
    log = sent_payloads(monkeypatch)
    per_round = []
    stabilize = Engine.stabilize

    def recording_round(self, now):
        start = len(log)
        stabilize(self, now)
        per_round.append(sum(isinstance(p.data, FindSuccessorSend) and p.data.then == Handler.FixFingerTable
                             for _, p in log[start:]))

    monkeypatch.setattr(Engine, "stabilize", recording_round)
    sim.run_for(2 * CONFIG.stabilize_interval_ms)
    assert len(per_round) >= 2 * len(nodes) - 2 and max(per_round) == 1


def test_ring_links_close_after_a_round_unused(ring24):
    sim, nodes = ring24
    a = nodes[0]
    spare = next(n for n in nodes if n.me not in a.peers and n is not a)
    sim.call(a, lambda n: n.links.offer(spare.me, sim.now))  # a ring link the ring does not need
    sim.run_for(500)
    assert spare.me in a.peers
    sim.run_for(CONFIG.stabilize_interval_ms)  # first round: marked unused
    assert spare.me in a.peers
    sim.run_for(CONFIG.stabilize_interval_ms + 100)  # second round: closed, at both ends
    assert spare.me not in a.peers and a.me not in spare.peers


@pytest.mark.parametrize("linked", [False, True])
def test_a_ring_link_asked_for_by_connect_is_kept(ring24, linked):
    """connect() to a peer the ring is linking (or has linked) for itself pins that link:
    the ring must not close it later as one it does not need."""
    sim, nodes = ring24
    a = nodes[1]
    spare = next(n for n in nodes if n.me not in a.peers and n is not a)
    sim.call(a, lambda n: n.links.offer(spare.me, sim.now))
    if linked:
        sim.run_for(500)
        assert spare.me in a.peers
    rid = sim.call(a, lambda n: n.connect(spare.me, sim.now))
    assert isinstance(result(sim, a, rid), RequestDone)
    sim.run_for(3 * CONFIG.stabilize_interval_ms)  # rounds prune the ring links it does not use
    assert spare.me in a.peers and a.me in spare.peers


@pytest.mark.parametrize("seed", range(6))
def test_nodes_joining_through_a_slow_hub_find_their_places_before_its_first_round(seed):
    """A page (25-s rounds) that native nodes (3-s rounds) join one after the other, as the
    interop tests do: two seconds after the last join, before the page's first round, every
    successor and predecessor is right and what the page stores the newest node fetches.
    (A newcomer whose join lookup named its bootstrap as its successor used to wait a round
    to tell it, and a node with a join lookup pending told no new successor at once.)
    Real signatures, and none rejected: the lookups in a newcomer's borrowing MultiCall are
    answered by its successor, never forwarded (their origin signed the MultiCall)."""
    sim = Simulator(seed=seed, config=CONFIG)
    hub = sim.add_node()
    hub.config = Config(stabilize_interval_ms=25_000)
    hub.start(sim.now)
    nodes = [hub]
    for _ in range(4):
        nodes.append(sim.add_node())
        sim.link(hub, nodes[-1])
        sim.run_for(2000)
    ids = sorted(n.me for n in nodes)
    for n in nodes:
        i = ids.index(n.me)
        assert (n.ring.successors.first(), n.ring.predecessor) == (ids[(i + 1) % len(ids)], ids[i - 1])
    for i in range(4):
        vnode = VirtualNode(Did.from_topic(f"hub item {seed} {i}"), (f"item {i}",))
        assert isinstance(result(sim, hub, sim.call(hub, lambda n: n.store(Overwrite(vnode), sim.now))), RequestDone)
        found = result(sim, nodes[-1], sim.call(nodes[-1], lambda n: n.fetch(vnode.did, sim.now)))
        assert isinstance(found, RequestDone) and found.value == vnode
    assert [e for n in nodes for e in sim.events[n.me] if isinstance(e, PayloadRejected)] == []


def _owner_of(nodes, vid: Did):
    """The 0.2.5 owner of ``vid``: the node it follows on the ring (SPEC §7.7)."""
    ids = sorted(n.me for n in nodes)
    owner = ids[bisect_left(ids, vid) - 1]
    return next(n for n in nodes if n.me == owner)


def test_when_an_owner_and_its_predecessor_fail_the_new_owner_gets_the_vnode_back():
    """Their successors kept copies; the one that gets the new owner as its predecessor
    hands it what it now owns (before, only the successors held it, one hop further)."""
    sim, nodes = build_ring(10, seed=3, fast=True)
    vnode = VirtualNode(Did.from_topic("orphan"), ("kept",))
    assert isinstance(result(sim, nodes[0], sim.call(nodes[0], lambda n: n.store(Overwrite(vnode), sim.now))), RequestDone)
    sim.run_for(1000)
    owner = _owner_of(nodes, vnode.did)
    pred = next(n for n in nodes if n.me == owner.ring.predecessor)
    sim.fail(owner.me), sim.fail(pred.me)
    alive = [n for n in nodes if n not in (owner, pred)]
    sim.run_for(3 * CONFIG.stabilize_interval_ms)
    heir = _owner_of(alive, vnode.did)
    assert heir.storage.owned.get(vnode.did) == vnode


def test_a_fetch_the_owner_cannot_answer_is_answered_by_the_askers_own_copy():
    """The asker is the owner's successor and keeps the only copy (the old owner left): the
    owner, which would ask its successor, answers empty, and the asker's copy is the answer."""
    sim, nodes = build_ring(3, seed=4)
    vid = next(v for v in (Did.from_topic(f"copy {i}") for i in range(64)) if nodes[0].vnodes.owns(v))
    successor = next(n for n in nodes if n.me == nodes[0].ring.successors.first())
    successor.storage.keep_replica(VirtualNode(vid, ("only copy",)))
    found = result(sim, successor, sim.call(successor, lambda n: n.fetch(vid, sim.now)))
    assert isinstance(found, RequestDone) and found.value.data == ("only copy",)


def test_a_store_lost_on_the_way_is_sent_again(monkeypatch):
    """The first OperateVNode vanishes (sent on a link its far end was closing): the read-back
    finds nothing, so the store is sent once more and acknowledged."""
    sim, nodes = build_ring(6, seed=5)
    vnode = VirtualNode(Did.from_topic("sent twice"), ("twice",))
    writer = next(n for n in nodes if not n.vnodes.owns(vnode.did))
    emit, dropped = Router.emit, []

    def lossy(self, p, now):
        if isinstance(p.data, OperateVNode) and not dropped:
            dropped.append(p)
            return None
        return emit(self, p, now)

    monkeypatch.setattr(Router, "emit", lossy)
    stored = result(sim, writer, sim.call(writer, lambda n: n.store(Overwrite(vnode), sim.now)))
    assert dropped and isinstance(stored, RequestDone) and stored.value == vnode
    assert _owner_of(nodes, vnode.did).storage.get(vnode.did) == vnode


@pytest.mark.parametrize("seed", [31, 32, 34, 36])
def test_a_lookup_with_every_way_on_visited_is_answered_not_dropped(seed):
    """A small ring that keeps being re-linked (pages 2 s, natives 3 s, one page unlinking
    another, as tests/browser/test_native_ring.py does): a lookup whose every way on was
    visited is answered with the best node known, not dropped with a RelayError (these
    seeds dropped 1-4 each)."""
    sim = Simulator(seed=seed, config=CONFIG, insecure_fast=True)
    seed_node, p1, p2 = sim.add_node(), sim.add_node(), sim.add_node()
    for page in (p1, p2):
        page.config = Config(stabilize_interval_ms=2000)
        page.start(sim.now)
        sim.link(page, seed_node)
        sim.run_for(1500)
    for _ in range(5):
        if p1.me in p2.peers:
            sim.call(p2, lambda n: n.disconnect(p1.me, sim.now))
        sim.run_for(1000)
    sim.call(p2, lambda n: n.connect(p1.me, sim.now))
    sim.run_for(2000)
    sim.link(sim.add_node(), seed_node)
    sim.run_for(30_000)
    assert [e.error for evs in sim.events.values() for e in evs if isinstance(e, PayloadRejected)] == []
    assert ring_correct(list(sim.nodes.values()))


def test_a_request_whose_link_closes_under_it_is_sent_again_another_way():
    """The far end closes the link just as a lookup goes out on it (a ring link it no longer
    needs): the lookup is lost with the link, so it is sent again by another way and
    answered, not left to time out."""
    sim, nodes = build_ring(8, seed=6, fast=True)
    asker = nodes[0]
    far = next(sim.nodes[d] for d in asker.peers if d != asker.ring.successors.first())
    start = sim.now
    key = Did(far.me - 1)  # its successor is far, and the lookup is routed to far
    rid = sim.call(asker, lambda n: n.lookup(key, sim.now))
    sim.call(far, lambda n: n.disconnect(asker.me, sim.now))
    done = result(sim, asker, rid)
    assert isinstance(done, RequestDone) and done.value.successor == far.me
    assert sim.now - start < CONFIG.request_timeout_ms


def test_two_owners_of_one_vnode_merge_their_entries():
    """While a ring settles, two nodes can each take a registration for the same id (each
    believing it owns it). When one hands its copy over, the other keeps both sides' entries
    (0.2.5 overwrites: the demo lost a page's service registration that way)."""
    sim = Simulator(seed=25, config=Config(stabilize_interval_ms=10**9))
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_for(1000)
    vid = next(v for v in (Did.from_topic(f"key {i}") for i in range(64)) if a.vnodes.owns(v))
    assert result(sim, a, sim.call(a, lambda n: n.store(Touch(VirtualNode(vid, ("at a",))), sim.now))).value
    sim.run_for(1000)  # its replica reaches b
    b.storage.owned[vid] = VirtualNode(vid, ("at b",))  # b took one while it believed it owned vid
    sim.call(b, lambda n: n.router.send_direct(SyncVNodeWithSuccessor((n.storage.owned.pop(vid),)), a.me, sim.now))
    sim.run_for(1000)
    assert a.storage.get(vid).data == ("at a", "at b")
    assert b.storage.get(vid).data == ("at a", "at b")  # and the merged copy is replicated back


def test_simultaneous_connects_make_one_link(monkeypatch):
    """Two nodes offering each other at once (0.2.5 quirk 17) end with one link, none dropped."""
    sim = Simulator(seed=11, config=Config(stabilize_interval_ms=10**9))  # no stabilization rounds
    hub, a, b = (sim.add_node() for _ in range(3))
    monkeypatch.setattr(type(a.ring), "would_improve", lambda self, did, coming=(): False)  # only the API links a and b
    sim.link(a, hub)
    sim.link(b, hub)
    sim.run_for(2000)
    assert b.me not in a.peers
    ra = sim.call(a, lambda n: n.connect(b.me, sim.now))
    rb = sim.call(b, lambda n: n.connect(a.me, sim.now))
    assert isinstance(result(sim, a, ra), RequestDone) and isinstance(result(sim, b, rb), RequestDone)
    sim.run_for(3000)
    assert b.me in a.peers and a.me in b.peers
    assert [t for t in a.links.transports.values() if t.remote == b.me] == [a.links.transports[a.transport_of(b.me)]]
    assert [t for t in b.links.transports.values() if t.remote == a.me] == [b.links.transports[b.transport_of(a.me)]]
    assert PeerDisconnected(b.me) not in sim.events[a.me] and PeerDisconnected(a.me) not in sim.events[b.me]
    sim.call(a, lambda n: n.send_message(b.me, backend_body(2, b"one link"), sim.now))
    sim.run_for(500)
    assert (a.me, backend_body(2, b"one link")) in texts(sim, b)


def test_frames_that_arrive_before_our_channel_opens_wait_for_the_link():
    """The peer's data channel can open before ours (seen with aiortc under Chromium): the
    frames it sends at once must be handled after transport_open, not answered into nowhere."""
    from rings_web.engine.events import AcceptOffer, ApplyAnswer, CreateOffer

    sim = Simulator(seed=21, config=Config(stabilize_interval_ms=10**9))
    a, b = sim.add_node(), sim.add_node()
    now = sim.now

    def one(node, kind):
        (action,) = [x for x in node.actions_to_perform() if isinstance(x, kind)]
        return action

    def value(node):
        events = []
        while (e := node.next_event()) is not None:
            events.append(e)
        return [e.value for e in events if isinstance(e, RequestDone)][-1]

    a.create_offer(now)
    tid_a = one(a, CreateOffer).transport_id
    a.offer_ready(tid_a, HandshakeInfo('{"sdp":"a","type":"offer"}'), now)
    b.answer_offer(value(a), now)
    tid_b = one(b, AcceptOffer).transport_id
    b.answer_ready(tid_b, HandshakeInfo('{"sdp":"b","type":"answer"}'), now)
    a.accept_answer(value(b), now)
    one(a, ApplyAnswer)
    b.transport_open(tid_b, now)  # b's side is up first and asks a where it belongs
    frames = [f for x in b.actions_to_perform() if isinstance(x, SendFrames) for f in x.frames]
    for frame in frames:
        a.receive(tid_a, frame, now)
    assert a.actions_to_perform() == []  # held: a has no link to answer on yet
    a.transport_open(tid_a, now)
    sent = [pl.decode_payload(decode_frame(f).data) for x in a.actions_to_perform() if isinstance(x, SendFrames)
            for f in x.frames]
    (request,) = [p for f in frames if isinstance((p := pl.decode_payload(decode_frame(f).data)).data, FindSuccessorSend)]
    assert [p.tx_id for p in sent if isinstance(p.data, FindSuccessorReport)] == [request.tx_id]
    rejected = []
    while (e := a.next_event()) is not None:
        rejected += [e] if isinstance(e, PayloadRejected) else []
    assert rejected == []


def test_a_message_whose_only_way_on_is_back_is_handed_back_once(monkeypatch):
    """A 0.2.5 origin sends by its fingers even when linked to the destination (its
    send_message ignores direct links): the relay it picked, knowing only that origin, hands
    the message back, and the origin delivers it.  A second bounce is still refused."""
    sim = Simulator(seed=22, config=Config(stabilize_interval_ms=10**9))
    x, g, d = (sim.add_node() for _ in range(3))
    for node in (x, g, d):
        monkeypatch.setattr(node.links, "offer", lambda *args, **kwargs: None)  # no links but these
    sim.link(x, g)
    sim.link(g, d)
    sim.run_for(1000)
    assert x.peers == [g.me]
    body = backend_body(BackendType.SimpleText, b"sent the 0.2.5 way")
    p = pl.send(g.session, CustomMessage(body), next_hop=x.me, destination=d.me, now=sim.now, tx_id=uuid.uuid4())
    for f in split(pl.encode_payload(p), uuid.uuid4(), sim.now):
        sim.call(x, lambda n, f=f: n.receive(n.links.peers[g.me], f, sim.now))
    sim.run_for(1000)
    assert (g.me, body) in texts(sim, d)
    assert not [e for e in sim.events[x.me] if isinstance(e, PayloadRejected)]
    # the same message after it went x -> g -> x: x took it from g already (a replay); under
    # a new tx_id, x is on its path already, so no second bounce
    hop_back = pl.forward(x.session, p, next_hop=g.me, now=sim.now)
    for tx_id in (p.tx_id, uuid.uuid4()):
        again = pl.forward(g.session, replace(hop_back, tx_id=tx_id), next_hop=x.me, now=sim.now)
        for f in split(pl.encode_payload(again), uuid.uuid4(), sim.now):
            sim.call(x, lambda n, f=f: n.receive(n.links.peers[g.me], f, sim.now))
        sim.run_for(1000)
    rejected = [type(e.error) for e in sim.events[x.me] if isinstance(e, PayloadRejected)]
    assert rejected == [ReplayError, RelayError]


def test_an_offer_to_a_node_no_peer_knows_comes_back_to_its_origin_and_fails_there(monkeypatch):
    """A ConnectNodeSend to a node that left (its peers' reports still name it) or that no node
    the offer reaches knows yet: each node hands it to an unvisited peer, else back to the node
    it first came from (depth first), until it is back at its origin, whose connect fails then
    with ConnectionFailed.  No node rejects it as a routing loop (in a ring of three, one did:
    'would revisit the path')."""
    sim = Simulator(seed=31, config=Config(stabilize_interval_ms=10**9), insecure_fast=True)
    nodes = [sim.add_node() for _ in range(3)]
    gone = sim.add_node()  # never linked: no node knows it
    for x, y in [(0, 1), (1, 2), (2, 0)]:
        sim.link(nodes[x], nodes[y])
    sim.run_for(1000)
    asking = []  # the origin of the connect under way: the only node that offers links
    for node in nodes:
        real = node.links.offer
        monkeypatch.setattr(node.links, "offer", lambda *a, real=real, node=node, **k: real(*a, **k) if node in asking else None)
    assert all(len(n.peers) == 2 for n in nodes)
    targets = [gone.me, gone.me + 1, nodes[0].me + 1, nodes[1].me - 1, Did(sim.rng.getrandbits(160))]
    for origin in nodes:
        asking[:] = [origin]
        for target in targets:
            done = result(sim, origin, sim.call(origin, lambda n, t=target: n.connect(t, sim.now)))
            assert [e for n in nodes for e in sim.events[n.me] if isinstance(e, PayloadRejected)] == []
            assert isinstance(done, RequestFailed) and isinstance(done.error, ConnectionFailed), done
            assert "no route" in str(done.error) and origin.pending_transport_ids == []


@pytest.mark.parametrize("owner_keeps_it", [True, False])
def test_a_store_the_owner_does_not_acknowledge_is_confirmed_by_reading_it_back(monkeypatch, owner_keeps_it):
    """A 0.2.5 owner stores an OperateVNode without answering: after ``store_ack_ms`` the
    store reads the VNode back and finishes by what the owner holds (when it holds nothing,
    the operation is sent and read back once more)."""
    config = Config(stabilize_interval_ms=10**9, store_ack_ms=500)
    sim = Simulator(seed=23, config=config)
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_for(1000)

    def silent_owner(p, now):  # 0.2.5's handler: operate (or, here, lose it) and say nothing
        if owner_keeps_it:
            b.vnodes.operate_local(p.data.op, now)

    monkeypatch.setitem(b.handlers, OperateVNode, silent_owner)
    text = next(t for i in range(500) if b.ring.stores_here(Did.from_topic(t := f"owned by b {i}")))
    vnode = VirtualNode(Did.from_topic(text), (base58.encode_check(text.encode()),))
    start = sim.now
    rid = sim.call(a, lambda n: n.store(Overwrite(vnode), sim.now))
    sim.run_for(400)
    assert not [e for e in sim.events[a.me] if getattr(e, "request_id", None) == rid]  # still waiting
    done = result(sim, a, rid)
    if owner_keeps_it:
        assert isinstance(done, RequestDone) and done.value == vnode
    else:
        assert isinstance(done, RequestFailed) and isinstance(done.error, NotFound)
    assert sim.now - start < config.store_ack_ms + 1000  # answered by the read-back, not by a time-out


def test_a_replica_on_the_way_does_not_answer_for_its_owner():
    """Three nodes join through a seed at once and each adds itself to one service VNode (the
    demo's registerService): every node's fetch sees all three, also when a stale replica
    lies on the way to the owner (seed 13 put one there: a node between the asker and the
    owner answered with a replica missing the last entry)."""
    topic = Did.from_topic("rings-web-demo")
    sim = Simulator(seed=13, config=Config(stabilize_interval_ms=3000), insecure_fast=True)
    hub, pages = sim.add_node(), [sim.add_node() for _ in range(3)]
    for page in pages:
        sim.link(page, hub, wait=False)
        sim.run_for(600)
    sim.run_until(lambda: all(p.peers for p in pages), max_ms=30_000)
    entries = {base58.encode_check(p.me.bare().encode()) for p in pages}
    for p in pages:
        sim.call(p, lambda n, p=p: n.store(Touch(VirtualNode(topic, (base58.encode_check(p.me.bare().encode()),))), sim.now))
    sim.run_for(10_000)
    for p in pages:
        done = result(sim, p, sim.call(p, lambda n: n.fetch(topic, sim.now)))
        assert isinstance(done, RequestDone) and set(done.value.data) == entries


@pytest.mark.parametrize("seed", range(8))
def test_pages_registering_while_the_ring_forms_are_all_kept(seed):
    """Five nodes link to a seed up to 3 s apart and each adds itself to one service VNode as
    soon as it has a link (the demo's registerService): every store succeeds and every node's
    fetch sees all five. Before, 30 of 100 such runs lost one: a node that owned the id in
    its first view handed it to its new successor, not the owner (now passed on to the
    owner); a store routed to the id's successor found no way back to its owner (now sent
    to the predecessor), or was dropped in the forming ring and failed instead of being sent
    again."""
    rng = random.Random(seed)
    topic = Did.from_topic("rings-web-demo")
    sim = Simulator(seed=seed, config=Config(stabilize_interval_ms=3000), insecure_fast=True)
    hub, pages = sim.add_node(), [sim.add_node() for _ in range(5)]
    entry = {p.me: base58.encode_check(p.me.bare().encode()) for p in pages}
    starts = dict(zip((p.me for p in pages), sorted(rng.randrange(3000) for _ in pages)))
    stores = {}
    for t in range(0, 10_000, 100):
        for p in pages:
            if starts[p.me] // 100 * 100 == t:
                sim.link(p, hub, wait=False)
            if p.me not in stores and p.peers:
                stores[p.me] = sim.call(p, lambda n, p=p: n.store(Touch(VirtualNode(topic, (entry[p.me],))), sim.now))
        sim.run_for(100)
    assert all(isinstance(result(sim, p, stores[p.me]), RequestDone) for p in pages)
    sim.run_for(10_000)
    for p in pages:
        done = result(sim, p, sim.call(p, lambda n: n.fetch(topic, sim.now)))
        assert isinstance(done, RequestDone) and set(done.value.data) == set(entry.values())


def fail_one_by_one(seed: int, failures: int, gap_ms: int) -> tuple[Simulator, list[VirtualNode]]:
    """40 nodes hold 40 items; ``failures`` of them fail, one every ``gap_ms``; then every
    item is fetched from a random node left.  Returns the simulator and the items not fetched."""
    rng = random.Random(seed)
    sim = Simulator(seed=seed, config=CONFIG, insecure_fast=True)
    nodes = [sim.add_node()]
    for _ in range(39):
        nodes.append(sim.add_node())
        sim.link(nodes[-1], rng.choice(nodes[:-1]), wait=False)
        sim.run_for(200)
    sim.run_for(30_000)
    items = []
    for i in range(40):
        text = f"item {seed} {i}"
        vnode = VirtualNode(Did.from_topic(text), (base58.encode_check(text.encode()),))
        node = rng.choice(nodes)
        items.append((vnode, node, sim.call(node, lambda n, v=vnode: n.store(Overwrite(v), sim.now))))
        sim.run_for(50)
    sim.run_for(5000)
    assert all(sim.result(node, rid) == vnode for vnode, node, rid in items)
    alive = list(nodes)
    for _ in range(failures):
        sim.fail(alive.pop(rng.randrange(len(alive))).me)
        sim.run_for(gap_ms)
    sim.run_for(20_000)
    lost = []
    for vnode, _, _ in items:
        asker = rng.choice(alive)
        done = result(sim, asker, sim.call(asker, lambda n, d=vnode.did: n.fetch(d, sim.now)))
        if not (isinstance(done, RequestDone) and done.value == vnode):
            lost.append(vnode)
    return sim, lost


@pytest.mark.parametrize("seed", [9, 13, 20])
def test_items_outlive_half_the_ring_failing_one_node_a_second(seed):
    """An owner keeps a copy with each new neighbour, and a node that takes over a range (its
    owner failed) adopts the replicas and copies them on; before, copies were sent only when
    an item changed and dwindled as their holders failed (these seeds lost 1-6 items; 4 of 30
    seeds did)."""
    assert fail_one_by_one(seed, failures=20, gap_ms=1000)[1] == []


@pytest.mark.parametrize("seed", [9, 11])
def test_items_outlive_a_node_failing_every_300_ms(seed):
    """25 of 40 nodes fail within 7.5 s: a node re-copies as soon as a neighbour that kept
    copies goes, not at its next round (with the round's check alone these seeds lost items,
    7 of 30 seeds did; 2 of 30 still do, 20 of 100: at 300 ms the copies cannot outrun the
    failures, see test_churn.py)."""
    assert fail_one_by_one(seed, failures=25, gap_ms=300)[1] == []
