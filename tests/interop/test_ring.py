"""A mixed ring: two genuine 0.2.5 nodes and three rings-web nodes (two in Chromium, one native).

The tests build on each other and run in file order on one ring (module fixture):

    manual links     G1 - B,  G2 - B,  B - N,  G2 - B2        (B: rings-web in Chromium, the hub)
    relays           G1 -> B -> G2 and back;  B2 -> G2 -> B and back (text, custom, raw bodies)
    through the ring N -> G2 (via B);  G1 -> N (via B);  G1 -> B2 (two relays: rings-web, genuine)
    stabilization    one 25-s round of everyone: NotifyPredecessor and FixFingerTable traffic
                     both ways, each request answered, nothing rejected by rings-web

The keys are public test keys picked for the order of their DIDs on the ring,
B < G1 < G2 < B2 < N, so that the joins above create no other links before the explicit
steps run (each step first checks that the pair it links is not linked yet) and that the
genuine nodes' first fix_fingers target (2^1) is looked up at a rings-web node (N, the
largest DID).  Everything runs inside the first 25 s of the genuine clients' life, before
their first stabilization round, which the last test waits for.
"""

from __future__ import annotations

import time

import pytest

from _native import NativeNode
from _peers import OBSERVED, GenuinePeer, NativePeer, PagePeer, connect_to_genuine, link
from _support import wait_until
from rings_web.did import RING_SIZE, Did
from rings_web.message.custom import BackendType, backend_body, raw_body
from rings_web.wire.types import (
    ConnectNodeReport, ConnectNodeSend, CustomMessage, FindSuccessorReport, FindSuccessorSend, Handler,
    NotifyPredecessorReport, NotifyPredecessorSend,
)

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]

KEYS = {
    "B": "9736ed15f638dce5ea25dc0a2f20d9c4353afacf01b640de816850980dea31ca",   # 0x44eda70b…
    "G1": "589343dc40cfc0cfc471374d256ef77cf21dbee1200acdcac494e29b42fcf6ac",  # 0x7a2b113e…
    "G2": "993c412cdc1e88253caf9943cc65d13b0598e5f1203b3286823cd37ff4a109bd",  # 0xa12a6b16…
    "B2": "5ddfe51b7b91288b45f8b0d9df4fbda852c2119cef8cb2c9dafbf85d78e73975",  # 0xaf19647c…
    "N": "3bea9d823d5665c1e86d8f08661d0ff612d97b8113274c070adfa7ab5b9d9ab7",   # 0xdf2e8861…
}
ROUND_S = 25  # the genuine browser's stabilization period (hard-coded, SPEC §10 item 16)


def bias(base: str, did: str) -> int:
    """Clockwise distance from ``base`` to ``did`` on the ring."""
    return (int(Did.parse(did)) - int(Did.parse(base))) % RING_SIZE


class Ring:
    def __init__(self, genuine, nodes: dict) -> None:
        self.genuine, self.nodes = genuine, nodes
        self.names = {p.did: k for k, p in nodes.items()}
        for k, p in nodes.items():
            setattr(self, k.lower(), p)

    def links(self) -> str:
        """Who is linked to whom, and how long after the genuine clients started."""
        age = time.monotonic() - max(g.started for g in self.nodes.values() if g.kind == "genuine")
        return f"{age:.1f} s after the genuine start: " + "; ".join(
            f"{k}-{'/'.join(sorted(self.name(d) for d in p.peers()))}" for k, p in self.nodes.items())

    def rings_web(self):
        return [p for p in self.nodes.values() if p.kind == "rings-web"]

    def name(self, did) -> str:
        return self.names.get(did if isinstance(did, str) else did.hex(), str(did)[:10])

    def traffic(self, g: GenuinePeer) -> list[tuple[str, object]]:
        """``(direction, payload)`` of every message on the genuine node's data channels."""
        return self.genuine.payloads(g.name)

    def nothing_rejected(self) -> None:
        """rings-web refused nothing it received (PayloadRejected) and no genuine page raised."""
        assert {k: p.rejected() for k, p in self.nodes.items() if p.kind == "rings-web" and p.rejected()} == {}
        assert not self.genuine.request("errors"), "a genuine page raised"


@pytest.fixture(scope="module")
def ring(genuine, native_loop, open_module_node):
    b = PagePeer(open_module_node(KEYS["B"], stabilize_ms=ROUND_S * 1000))
    b2 = PagePeer(open_module_node(KEYS["B2"], stabilize_ms=ROUND_S * 1000))
    native = NativeNode(native_loop, KEYS["N"], stabilize_ms=ROUND_S * 1000)
    g1, g2 = GenuinePeer(genuine, "ring-G1", KEYS["G1"]), GenuinePeer(genuine, "ring-G2", KEYS["G2"])
    g1.start(), g2.start()  # their stabilization clocks start now: the topology steps fit in one period
    r = Ring(genuine, {"B": b, "G1": g1, "G2": g2, "B2": b2, "N": NativePeer(native)})
    # the genuine side offers, so its answerer race (SPEC §10 item 2) cannot strike
    for a, c in [("G1", "B"), ("G2", "B"), ("B", "N"), ("G2", "B2")]:
        assert link(r.nodes[a], r.nodes[c]) == 1
    yield r
    native.close()
    g1.close(), g2.close()


def relayed(r: Ring, g: GenuinePeer, tx_id: str, kind: type) -> list[tuple[str, tuple[str, ...], str, str]]:
    """``(direction, path, next_hop, destination)`` of each copy of message ``tx_id`` at ``g``."""
    return [(d, tuple(r.name(x) for x in p.relay.path), r.name(p.relay.next_hop), r.name(p.relay.destination))
            for d, p in r.traffic(g) if str(p.tx_id) == tx_id and isinstance(p.data, kind)]


def test_genuine_to_genuine_through_a_rings_web_relay(ring):
    r = ring
    assert not r.g1.linked(r.g2.did), r.links()
    tx = r.g1.send_text(r.g2.did, "G1 to G2 through rings-web")
    assert wait_until(lambda: (r.g1.did, "G1 to G2 through rings-web") in r.g2.texts(), 10)
    assert relayed(r, r.g2, tx, CustomMessage) == [("in", ("G1", "B"), "G2", "G2")]  # B forwarded it
    tx = r.g2.send_text(r.g1.did, "G2 to G1 through rings-web")
    assert wait_until(lambda: (r.g2.did, "G2 to G1 through rings-web") in r.g1.texts(), 10)
    assert relayed(r, r.g1, tx, CustomMessage) == [("in", ("G2", "B"), "G1", "G1")]
    r.nothing_rejected()


def test_rings_web_to_rings_web_through_a_genuine_relay(ring):
    r = ring
    assert r.b.did not in r.b2.peers(), r.links()
    bodies = [backend_body(BackendType.SimpleText, "B2 to B through genuine".encode()),
              backend_body(7, bytes(range(256))), raw_body(b"\x00\x01raw bytes, no BackendMessage header")]
    txs = [r.b2.send(r.b.did, body) for body in bodies]
    assert wait_until(lambda: all((r.b2.did, body) in r.b.inbox() for body in bodies), 10), r.b.inbox()
    for tx in txs:  # G2 forwarded each, straight to B
        assert relayed(r, r.g2, tx, CustomMessage) == [("in", ("B2",), "G2", "B"), ("out", ("B2", "G2"), "B", "B")]
    tx = r.b.send_text(r.b2.did, "B to B2 through genuine")
    assert wait_until(lambda: (r.b.did, "B to B2 through genuine") in r.b2.texts(), 10)
    assert relayed(r, r.g2, tx, CustomMessage) == [("in", ("B",), "G2", "B2"), ("out", ("B", "G2"), "B2", "B2")]
    r.nothing_rejected()


def test_rings_web_connects_to_genuine_through_the_ring(ring):
    r = ring
    assert not r.n.linked(r.g2.did), r.links()
    connect_to_genuine(r.n, r.g2)  # the genuine answerer's own faults are retried, counted
    connect = [(d, path, hop) for d, p in r.traffic(r.g2) if isinstance(p.data, (ConnectNodeSend, ConnectNodeReport))
               and r.n.did in (p.relay.path[0].hex(), p.relay.destination.hex())
               for path, hop in [(tuple(r.name(x) for x in p.relay.path), r.name(p.relay.next_hop))]]
    assert connect[-2:] == [("in", ("N", "B"), "G2"), ("out", ("G2",), "B")]  # offer relayed by B, answer back through B
    # text both ways; 0.2.5's send_message routes by fingers even to a linked peer, so G2's
    # may take a detour (it goes to B2, which hands it back: the way on it knows)
    tx = r.g2.send_text(r.n.did, "G2 to N")
    assert wait_until(lambda: (r.g2.did, "G2 to N") in r.n.texts(), 10)
    (got,) = [m for m in r.n.n.messages if str(m.tx_id) == tx]
    print("G2 -> N went", " -> ".join(r.name(x) for x in got.payload.relay.path), "-> N")
    r.n.send_text(r.g2.did, "N to G2")
    assert wait_until(lambda: (r.n.did, "N to G2") in r.g2.texts(), 10)
    r.nothing_rejected()


@pytest.mark.parametrize("target", ["N", "B2"])
def test_genuine_connects_to_rings_web_through_the_ring(ring, target):
    """G1 → N goes through B (G1's only peer then); G1 → B2 through the genuine G2, which G1
    linked to by itself after joining N (0.2.5 connects to every node a report names)."""
    r = ring
    t = r.nodes[target]
    assert not r.g1.linked(t.did), r.links()
    assert r.g1.connect(t.did) == t.did
    assert wait_until(lambda: t.linked(r.g1.did), 10)
    offers = [(tuple(r.name(x) for x in p.relay.path), r.name(p.relay.next_hop)) for d, p in r.traffic(r.g1)
              if d == "out" and isinstance(p.data, ConnectNodeSend) and p.relay.destination.hex() == t.did
              and len(p.relay.path) == 1]  # its own offer (not one it forwards)
    answers = [tuple(r.name(x) for x in p.relay.path) for d, p in r.traffic(r.g1)
               if d == "in" and isinstance(p.data, ConnectNodeReport) and p.relay.path[0].hex() == t.did]
    assert len(offers) == 1 and offers[0][0] == ("G1",) and offers[0][1] != target, offers  # sent via a third node
    assert len(answers) == 1 and answers[0][0] == target and len(answers[0]) >= 2, answers  # and relayed back
    if target == "N":
        assert offers[0][1] == "B" and answers[0] == ("N", "B")
    else:
        assert relayed_by(r, r.g2, ConnectNodeSend, r.g1.did, t.did), "G2 did not relay G1's offer to B2"
    outcome = r.g1.connect_outcome(t.did)
    OBSERVED.append(f"connect_with_address promise {outcome['state']} after the link came up")
    print(f"G1 -> {target}: link up; connect_with_address promise {outcome['state']}")
    t.send_text(r.g1.did, f"{target} to G1 over the new link")
    assert wait_until(lambda: (t.did, f"{target} to G1 over the new link") in r.g1.texts(), 10)
    r.nothing_rejected()


def relayed_by(r: Ring, g: GenuinePeer, kind: type, origin: str, destination: str) -> bool:
    """``g`` received and forwarded a ``kind`` from ``origin`` to ``destination``."""
    seen = {d for d, p in r.traffic(g) if isinstance(p.data, kind) and p.relay.path[0].hex() == origin
            and p.relay.destination.hex() == destination}
    return seen == {"in", "out"}


def test_one_stabilization_round_is_understood_both_ways(ring):
    """Wait for everyone's first round, then check each NotifyPredecessorSend and FixFingerTable
    lookup that crossed implementations was acted on by its receiver."""
    r = ring
    genuine = [r.g1, r.g2]
    deadline = max(g.started for g in genuine) + ROUND_S + 20

    def crossing():
        out = {"notify_g2r": [], "notify_r2g": [], "fix_g2r": [], "fix_r2g": []}
        for g in genuine:
            traffic = r.traffic(g)
            for d, p in traffic:
                peer = p.relay.next_hop.hex() if d == "out" else p.relay.path[0].hex()
                if r.nodes.get(r.name(peer)) is None or r.nodes[r.name(peer)].kind != "rings-web":
                    continue
                if isinstance(p.data, NotifyPredecessorSend):
                    out["notify_g2r" if d == "out" else "notify_r2g"].append((g, peer, p, traffic))
                if isinstance(p.data, FindSuccessorSend) and p.data.then == Handler.FixFingerTable and len(p.relay.path) == 1:
                    out["fix_g2r" if d == "out" else "fix_r2g"].append((g, peer, p, traffic))
        return out

    while time.monotonic() < deadline:
        seen = crossing()
        if all(seen.values()) and {g.name for g, *_ in seen["notify_g2r"]} == {g.name for g in genuine}:
            break
        time.sleep(1)
    seen = crossing()
    print({k: [(r.name(g.did), r.name(peer)) for g, peer, *_ in v] for k, v in seen.items()})
    assert {g.name for g, *_ in seen["notify_g2r"]} == {g.name for g in genuine}, "a genuine node sent no round"
    assert all(seen.values()), {k: len(v) for k, v in seen.items()}

    # genuine -> rings-web NotifyPredecessorSend: the receiver's predecessor is now the sender
    # or a node between the sender and itself (Chord notify)
    for g, peer, p, _ in seen["notify_g2r"]:
        pred = r.nodes[r.name(peer)].ring()["predecessor"]
        assert pred is not None and bias(pred, peer) <= bias(g.did, peer), (r.name(peer), r.name(pred))
    # rings-web -> genuine NotifyPredecessorSend: the same, read from the genuine DHT
    for g in {g for g, *_ in seen["notify_r2g"]}:
        pred = "0x" + g.node_info()["swarm"]["dht"]["predecessor"]
        for g_, peer, *_ in seen["notify_r2g"]:
            if g_ is g:
                assert bias(pred, g.did) <= bias(peer, g.did), (r.name(g.did), r.name(pred), r.name(peer))
    # FixFingerTable lookups either way: each answered by a FindSuccessorReport with its tx_id
    for g, peer, p, traffic in seen["fix_g2r"]:
        assert [q for d, q in traffic if d == "in" and q.tx_id == p.tx_id and isinstance(q.data, FindSuccessorReport)
                and q.data.handler == Handler.FixFingerTable], f"{r.name(peer)} left {r.name(g.did)}'s lookup unanswered"
    for g, peer, p, _ in seen["fix_r2g"]:
        traffic = r.traffic(g)
        answered = [q for d, q in traffic if d == "out" and q.tx_id == p.tx_id
                    and (isinstance(q.data, FindSuccessorReport) or isinstance(q.data, FindSuccessorSend))]
        assert answered, f"{r.name(g.did)} neither answered nor forwarded {r.name(peer)}'s lookup"
    # and the reports of NotifyPredecessorSend, where there were any, were taken too
    for g in genuine:
        reports = [p for d, p in r.traffic(g) if isinstance(p.data, NotifyPredecessorReport)]
        print(r.name(g.did), "NotifyPredecessorReports", [(r.name(p.relay.path[0]), r.name(p.data.did)) for p in reports])
    r.nothing_rejected()
