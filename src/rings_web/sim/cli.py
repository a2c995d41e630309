"""``python -m rings_web.sim``: a Chord ring of N rings-web engines on the discrete-event simulator.

Phases, all on a virtual clock (frames really encoded, chunked and decoded):

1. *join*: nodes join at a rate (``--join-rate``: a fraction of the ring's size per
   stabilization round, at most one a second), each by a manual handshake with a random
   member that joined at least a second before, while the ring stabilizes;
2. *settle*: counted from the last join, stabilization rounds until every successor and
   predecessor is right (``ring_rounds``) and every finger slot k holds the first node at or
   after ``self + 2^k`` (``finger_rounds``), at most ``--max-rounds``;
3. *store*: ``--items`` VNodes stored from random nodes;
4. *churn*: a fraction ``--churn`` of the nodes fail at once, then 3 rounds pass;
5. *lookups*: at once, ``--lookups`` lookups of random keys from random live nodes (hops:
   nodes passed; a lookup succeeds if it names the key's live successor) and a fetch of
   every stored item from a random live node.

Prints one JSON object.  ``--workers N`` spreads the nodes over N processes (same seed and
N, same run; see :mod:`rings_web.sim.parallel`).  ``--mode fast`` (the default above 100 nodes) replaces signatures
with zeros and trusts every payload: an insecure simulation-only mode, clearly not the wire
protocol's security, that keeps the real codec.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import json
import math
import statistics
import time

from ..did import Did
from ..engine.config import Config
from ..engine.events import RequestDone
from ..wire import base58
from ..wire.types import Overwrite, VirtualNode
from .checks import engines_ring_correct, fingers_correct, peer_counts
from .parallel import ParallelSimulator

__all__ = ["main", "run"]


def run(nodes: int, lookups: int, churn: float, seed: int, items: int | None = None, mode: str | None = None,
        interval_ms: int = 3000, join_rate: float = 0.25, bootstrap_age_ms: int = 1000,
        max_rounds: int | None = None, successors: int = 3, workers: int = 1) -> dict:
    # the simulator raises the collector's thresholds while it runs and restores them after;
    # restored between two steps they made it collect everything it had put off (a full
    # collection of millions of objects per step: 5 % of a 400-node run)
    thresholds = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    mode = mode or ("real" if nodes <= 100 else "fast")
    config = Config(stabilize_interval_ms=interval_ms, successors=successors)
    try:
        with ParallelSimulator(seed=seed, config=config, insecure_fast=mode == "fast", workers=workers) as sim:
            return {**_run(sim, nodes, lookups, churn, seed, items, interval_ms, join_rate, bootstrap_age_ms,
                           max_rounds), "mode": mode, "successors": successors, "workers": workers}
    finally:
        gc.set_threshold(*thresholds)


def _run(sim: ParallelSimulator, nodes: int, lookups: int, churn: float, seed: int, items: int | None,
         interval_ms: int, join_rate: float, bootstrap_age_ms: int, max_rounds: int | None) -> dict:
    started = time.perf_counter()
    items = min(nodes, 200) if items is None else items
    max_rounds = max_rounds or int(2 * math.log2(max(nodes, 2))) + 10
    members = [sim.add_node()]
    joined_at = [sim.now]
    for i in range(1, nodes):
        node = sim.add_node()
        # bootstrap from a node that has had time to find its place
        settled = bisect.bisect_right(joined_at, sim.now - bootstrap_age_ms) or 1
        sim.link(node, members[sim.rng.randrange(settled)], wait=i == nodes - 1)
        members.append(node)
        joined_at.append(sim.now)
        if i < nodes - 1:  # the ring grows by join_rate of its size per stabilization round
            sim.run_for(max(1, min(1000, round(interval_ms / (join_rate * len(members))))))
    join_s = time.perf_counter() - started

    ids = sorted(members)
    ring_rounds = finger_rounds = None
    for rnd in range(max_rounds + 1):
        if ring_rounds is None and all(sim.gather(engines_ring_correct, ids)):
            ring_rounds = rnd
        if finger_rounds is None and all(sim.gather(fingers_correct, ids)):
            finger_rounds = rnd
        if ring_rounds is not None and finger_rounds is not None:
            break
        sim.run_for(interval_ms)

    stored, stores = [], []
    sim.collect(True)
    for i in range(items):
        topic = f"sim-item-{seed}-{i}"
        vnode = VirtualNode(Did.from_topic(topic), (base58.encode_check(topic.encode()),))
        writer = sim.rng.choice(members)
        stores.append((int(writer), sim.call(writer, "store", Overwrite(vnode))))
        stored.append(vnode)
        sim.run_for(2)
    sim.run_for(interval_ms)
    # only the stores finish requests now; one may be read back, sent again and read back
    config = Config()
    timeout = 2 * (config.store_ack_ms + config.request_timeout_ms)
    sim.run_until(lambda: len(sim.finished) >= len(stores), max_ms=timeout)
    stores_failed = sum(not isinstance(sim.finished.get(key), RequestDone) for key in stores)
    sim.collect(False)
    sim.finished.clear()

    failed = set(sim.rng.sample(range(len(members)), int(churn * len(members)))) if churn else set()
    for i in failed:
        sim.fail(members[i])
    alive = [n for i, n in enumerate(members) if i not in failed]
    if failed:
        sim.run_for(3 * interval_ms)

    # measured where the churn left the ring: every lookup and fetch starts now, concurrently
    lookup_started = time.perf_counter()
    sim.collect(True)
    live = sorted(alive)
    pending: dict[tuple[int, int], object] = {}  # (asker, request id) -> true answer
    for _ in range(lookups):
        src, key = sim.rng.choice(alive), Did(sim.rng.getrandbits(160))
        pending[(int(src), sim.call(src, "lookup", key))] = live[bisect.bisect_left(live, key) % len(live)]
    fetches = {}
    for vnode in stored:
        asker = sim.rng.choice(alive)
        fetches[(int(asker), sim.call(asker, "fetch", vnode.did))] = vnode
    outcome = sim.finished
    sim.run_until(lambda: len(outcome) >= len(pending) + len(fetches), max_ms=config.request_timeout_ms + 1000)
    results = [(outcome.get(key), want) for key, want in pending.items()]
    hops = [e.value.hops for e, want in results if isinstance(e, RequestDone) and e.value.successor == want]
    found = sum(isinstance(outcome.get(key), RequestDone) and outcome[key].value == v for key, v in fetches.items())
    hops_sorted = sorted(hops) or [0]
    links, counted = map(sum, zip(*sim.gather(peer_counts)))
    return {
        "nodes": nodes,
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
        "stores_failed": stores_failed,
        "failed_nodes": len(failed),
        "peers_mean": round(links / max(1, counted), 2),
        "frames": sim.frames_sent,
        "cpu_s": round(sim.cpu_s, 2),
        "cpu_us_per_frame": round(1e6 * sim.cpu_s / max(1, sim.frames_sent), 1),
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
    ap.add_argument("--join-rate", type=float, default=0.25, help="nodes joining per round, as a fraction of the ring")
    ap.add_argument("--max-rounds", type=int, help="give up settling after this many rounds")
    ap.add_argument("--successors", type=int, default=3,
                    help="successor list length; a stored VNode has copies at the predecessor and every successor")
    ap.add_argument("--workers", type=int, default=1, help="processes sharing the nodes (windows of the lowest latency)")
    ns = ap.parse_args(argv)
    if ns.nodes < 2 or not 0 <= ns.churn < 1 or ns.lookups < 0 or ns.join_rate <= 0 or ns.successors < 1 \
            or ns.workers < 1:
        ap.error("need --nodes >= 2, 0 <= --churn < 1, --lookups >= 0, --join-rate > 0, --successors >= 1, "
                 "--workers >= 1")
    print(json.dumps(run(ns.nodes, ns.lookups, ns.churn, ns.seed, ns.items, ns.mode, ns.interval, ns.join_rate,
                         max_rounds=ns.max_rounds, successors=ns.successors, workers=ns.workers)))
    return 0
