"""``python -m rings_web.sim``: a Chord ring of N rings-web engines on the discrete-event simulator.

Phases, all on a virtual clock (frames really encoded, chunked and decoded):

1. *join*: nodes join one by one, each by a manual handshake with a random member;
2. *settle*: stabilization rounds until every successor/predecessor is right
   (``ring_rounds``) and every finger is right (``finger_rounds``), at most ``--max-rounds``;
3. *store*: ``--items`` VNodes stored from random nodes;
4. *churn*: a fraction ``--churn`` of the nodes fail at once, then 3 rounds pass;
5. *lookups*: ``--lookups`` messages from random live nodes to random live nodes' DIDs
   (hops = relay path length on arrival), and a fetch of every stored item.

Prints one JSON object.  ``--mode fast`` (the default above 100 nodes) replaces signatures
with zeros and trusts every payload: an insecure simulation-only mode, clearly not the wire
protocol's security, that keeps the real codec.
"""

from __future__ import annotations

import argparse
import bisect
import json
import math
import statistics
import sys
import time

from .did import Did
from .drivers.simulator import Simulator
from .engine.config import Config
from .engine.events import MessageReceived, RequestDone
from .message.backend import BackendType, backend_body
from .wire import base58
from .wire.types import Overwrite, VirtualNode

__all__ = ["main", "run"]


def ring_correct(nodes, ids: list[Did]) -> bool:
    n = len(ids)
    pos = {d: i for i, d in enumerate(ids)}
    return all(
        node.ring.successors.first() == ids[(pos[node.me] + 1) % n] and node.ring.predecessor == ids[pos[node.me] - 1]
        for node in nodes
    ) if n > 1 else True


def fingers_correct(nodes, ids: list[Did]) -> bool:
    """Every finger slot holds the first node at or after ``self + 2^k`` (None if that is self)."""
    for node in nodes:
        slots = node.ring.fingers.slots
        for k in range(160):
            want = ids[bisect.bisect_left(ids, node.me + (1 << k)) % len(ids)]
            if slots[k] != (None if want == node.me else want):
                return False
    return True


def run(nodes: int, lookups: int, churn: float, seed: int, items: int | None = None, mode: str | None = None,
        interval_ms: int = 3000, join_gap_ms: int = 5, max_rounds: int | None = None) -> dict:
    started = time.perf_counter()
    mode = mode or ("real" if nodes <= 100 else "fast")
    items = min(nodes, 200) if items is None else items
    max_rounds = max_rounds or int(2 * math.log2(max(nodes, 2))) + 10
    sim = Simulator(seed=seed, config=Config(stabilize_interval_ms=interval_ms), insecure_fast=mode == "fast")
    members = [sim.add_node()]
    for _ in range(nodes - 1):
        node = sim.add_node()
        sim.link(node, sim.rng.choice(members))
        members.append(node)
        sim.run_for(join_gap_ms)
    join_s = time.perf_counter() - started

    ids = sorted(n.me for n in members)
    ring_rounds = finger_rounds = None
    for rnd in range(max_rounds + 1):
        if ring_rounds is None and ring_correct(members, ids):
            ring_rounds = rnd
        if finger_rounds is None and fingers_correct(members, ids):
            finger_rounds = rnd
        if ring_rounds is not None and finger_rounds is not None:
            break
        sim.run_for(interval_ms)

    stored = []
    for i in range(items):
        topic = f"sim-item-{seed}-{i}"
        vnode = VirtualNode(Did.from_topic(topic), (base58.encode_check(topic.encode()),))
        sim.call(sim.rng.choice(members), lambda n, v=vnode: n.store(Overwrite(v), sim.now))
        stored.append(vnode)
        sim.run_for(2)
    sim.run_for(interval_ms)

    failed = set(sim.rng.sample(range(len(members)), int(churn * len(members)))) if churn else set()
    for i in failed:
        sim.fail(members[i].me)
    alive = [n for i, n in enumerate(members) if i not in failed]
    if failed:
        sim.run_for(3 * interval_ms)

    lookup_started = time.perf_counter()
    inbox_before = {n.me: len(sim.events[n.me]) for n in alive}
    sent = []
    for i in range(lookups):
        src, dst = sim.rng.sample(alive, 2)
        try:
            sim.call(src, lambda n, d=dst.me, i=i: n.send_message(d, backend_body(BackendType.SimpleText, b"%d" % i), sim.now))
            sent.append(dst.me)
        except Exception:  # no route: counted as a failed lookup
            sent.append(None)
        sim.run_for(1)
    sim.run_for(5000)
    hops = [len(e.payload.relay.path) for n in alive for e in sim.events[n.me][inbox_before[n.me]:]
            if isinstance(e, MessageReceived) and e.body[32 + 4:].isdigit()]

    found = 0
    for vnode in stored:
        asker = sim.rng.choice(alive)
        rid = sim.call(asker, lambda n, v=vnode.did: n.fetch(v, sim.now))
        sim.run_until(lambda: any(getattr(e, "request_id", None) == rid for e in sim.events[asker.me][-5:]), 20_000)
        found += any(isinstance(e, RequestDone) and e.request_id == rid and e.value == vnode for e in sim.events[asker.me])
    hops_sorted = sorted(hops) or [0]
    return {
        "nodes": nodes,
        "mode": mode,
        "mean_hops": round(statistics.fmean(hops_sorted), 3),
        "p50_hops": hops_sorted[len(hops_sorted) // 2],
        "p99_hops": hops_sorted[min(len(hops_sorted) - 1, int(0.99 * len(hops_sorted)))],
        "hops_bound": round(0.5 * math.log2(nodes) + 0.5, 3),
        "lookup_success": round(len(hops) / max(1, lookups), 4),
        "ring_rounds": ring_rounds,
        "finger_rounds": finger_rounds,
        "max_rounds": max_rounds,
        "items_stored": len(stored),
        "items_lost": len(stored) - found,
        "failed_nodes": len(failed),
        "peers_mean": round(statistics.fmean(len(n.peers) for n in alive), 2),
        "frames": sim.frames_sent,
        "join_s": round(join_s, 2),
        "lookups_s": round(time.perf_counter() - lookup_started, 2),
        "wall_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m rings_web.sim", description=__doc__.split("\n")[0])
    ap.add_argument("--nodes", type=int, default=100)
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--churn", type=float, default=0.0, help="fraction of nodes that fail at once (0..1)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--items", type=int, help="VNodes stored before churn (default min(nodes, 200))")
    ap.add_argument("--mode", choices=["real", "fast"], help="real signatures, or the insecure fast mode")
    ap.add_argument("--interval", type=int, default=3000, help="stabilization period, ms (virtual)")
    ap.add_argument("--max-rounds", type=int, help="give up settling after this many rounds")
    ns = ap.parse_args(argv)
    if ns.nodes < 2 or not 0 <= ns.churn < 1 or ns.lookups < 0:
        ap.error("need --nodes >= 2, 0 <= --churn < 1, --lookups >= 0")
    print(json.dumps(run(ns.nodes, ns.lookups, ns.churn, ns.seed, ns.items, ns.mode, ns.interval, max_rounds=ns.max_rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
