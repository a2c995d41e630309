"""A peer's large messages do not stay in memory once handled and drained (issue 14 item 9):
the codec's memos keep only small entries (and hold only the last few small values decoded)."""

import gc
import random
import tracemalloc

import pytest

from rings_web.engine.config import Config
from rings_web.engine.events import MessageReceived
from rings_web.sim.simulator import Simulator

pytestmark = pytest.mark.cpython_only(reason="signs and verifies 8 MB of messages: minutes with Pyodide's crypto")

SIZE = 800_000


def test_received_large_messages_are_freed_once_drained():
    sim = Simulator(seed=31, config=Config(stabilize_interval_ms=10**9))  # real signatures
    a, b = sim.add_node(), sim.add_node()
    sim.link(a, b)
    sim.run_until_idle()
    rng = random.Random(3)

    def send_and_drain() -> int:
        body = rng.randbytes(SIZE)
        sim.call(a, lambda n: n.send_message(b.me, body, sim.now))
        sim.run_until_idle()
        got = [e for e in sim.events[b.me] if isinstance(e, MessageReceived)]
        assert [e.body for e in got] == [body]
        for events in sim.events.values():
            events.clear()
        return len(got)

    send_and_drain()  # the first message sets up what every later one reuses
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        assert sum(send_and_drain() for _ in range(10)) == 10
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    assert grown < SIZE  # not one message stays (before: each stayed four times over, 3.2 MB)
