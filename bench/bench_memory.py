"""Memory a peer's large messages leave behind: N received 800 KB messages (real signatures,
through the engine's receive path on the simulator's links), drained as they arrive.

Prints the process's resident memory before, after every 100 messages and at the end
(figures, no assertions; tests/test_memory.py asserts a bound with tracemalloc).

    .venv/bin/python bench/bench_memory.py [--messages 400] [--size 800000]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import time

from rings_web.engine.config import Config
from rings_web.engine.events import MessageReceived
from rings_web.sim.simulator import Simulator


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=400)
    ap.add_argument("--size", type=int, default=800_000)
    ns = ap.parse_args(argv)
    sim = Simulator(seed=1, config=Config(stabilize_interval_ms=10**9))
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_until_idle()
    rng = random.Random(2)
    gc.collect()
    out = {"messages": ns.messages, "size": ns.size, "rss_start_mb": round(rss_mb(), 1)}
    received, started = 0, time.perf_counter()
    for i in range(1, ns.messages + 1):
        body = rng.randbytes(ns.size)
        sim.call(a, lambda n: n.send_message(b.me, body, sim.now))
        sim.run_until_idle()
        received += sum(isinstance(e, MessageReceived) for e in sim.events[b.me])
        for events in sim.events.values():  # drained, as pollMessage or the page's listener does
            events.clear()
        if i % 100 == 0:
            print(f"{i} messages: {rss_mb():.1f} MB", flush=True)
    del body
    gc.collect()
    out.update(received=received, rss_end_mb=round(rss_mb(), 1), seconds=round(time.perf_counter() - started, 1))
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
