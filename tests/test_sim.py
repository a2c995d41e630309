"""The simulator CLI: a ring of 128 engines meets the Chord bounds, survives 20 % churn."""

import json
import math

import pytest

from rings_web.sim.cli import main, run

pytestmark = pytest.mark.cpython_only(reason="the simulator is CPython tooling; its engine runs in Pyodide via test_engine")


@pytest.fixture(scope="module")
def report():
    return run(nodes=128, lookups=500, churn=0.2, seed=4, items=100)


def test_ring_and_fingers_settle_within_2_log2_n_rounds(report):
    bound = 2 * math.log2(128)
    assert report["ring_rounds"] is not None and report["ring_rounds"] <= bound
    assert report["finger_rounds"] is not None and report["finger_rounds"] <= bound


def test_hops_and_lookups_after_churn(report):
    assert report["mean_hops"] <= 0.5 * math.log2(128) + 0.5
    assert report["lookup_success"] >= 0.99
    assert report["failed_nodes"] == 25


def test_no_stored_item_is_lost(report):
    assert report["items_stored"] == 100 and report["items_lost"] == 0


def test_cli_prints_one_json_object(capsys):
    assert main(["--nodes", "12", "--lookups", "20", "--seed", "2", "--mode", "real", "--items", "5"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("nodes", "mean_hops", "p50_hops", "p99_hops", "lookup_success", "ring_rounds", "finger_rounds",
                "items_stored", "items_lost", "wall_s"):
        assert key in out
    assert out["mode"] == "real" and out["lookup_success"] == 1.0


def test_cli_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--nodes", "1"])
    assert e.value.code == 2


def test_two_processes_settle_the_same_ring():
    """The nodes split over two processes (windows of the lowest latency): the ring still
    settles, every lookup and fetch still succeeds, and the same seed gives the same run."""
    first = run(nodes=60, lookups=200, churn=0.1, seed=3, items=30, mode="fast", workers=2)
    again = run(nodes=60, lookups=200, churn=0.1, seed=3, items=30, mode="fast", workers=2)
    assert first["workers"] == 2 and first["mode"] == "fast"
    assert first["ring_rounds"] is not None and first["finger_rounds"] is not None
    assert first["lookup_success"] >= 0.99 and first["items_lost"] == 0
    # CPU time is counted in both processes, never more than both cores for the whole run
    assert 0 < first["cpu_s"] <= 2 * first["wall_s"] + 1 and first["cpu_us_per_frame"] > 0
    untimed = lambda r: {k: v for k, v in r.items() if not k.endswith("_s") and not k.startswith("cpu")}  # noqa: E731
    assert untimed(first) == untimed(again)


def test_two_processes_with_real_signatures():
    out = run(nodes=12, lookups=30, churn=0.0, seed=5, items=6, mode="real", workers=2)
    assert out["mode"] == "real" and out["lookup_success"] == 1.0 and out["items_lost"] == 0
    assert out["ring_rounds"] is not None and out["finger_rounds"] is not None


def test_a_failing_worker_names_its_error():
    from rings_web.sim.parallel import ParallelSimulator

    with ParallelSimulator(seed=1, insecure_fast=True, workers=2) as sim:
        dids = [sim.add_node() for _ in range(6)]
        theirs = next(d for d in dids if int(d) % 2 == 1)
        with pytest.raises(RuntimeError, match="(?s)partition 1 failed.*no_such_method"):
            sim.call(theirs, "no_such_method")


def test_polling_for_another_process_is_not_counted_as_work():
    """A process that spins while it waits for another leaves that time out of its CPU count,
    and counts the CPU time it polled, not the wall time (preempted, it would count below 0)."""
    import multiprocessing
    import threading

    from rings_web.sim.parallel import Partition, _receive
    from rings_web.engine.config import Config

    part = Partition(0, 1, 1, (5, 30), Config(), insecure_fast=True)
    mine, theirs = multiprocessing.Pipe()
    threading.Timer(0.2, theirs.send, ("go",)).start()
    message, spun = _receive(mine, spin=True)
    part.idle += spun
    *_, cpu = part.handle("run", (part.sim.now + 5,), [])
    assert message == "go" and 0 <= cpu < 0.05 < spun <= 0.2 + 0.05
    threading.Timer(0.05, theirs.send, ("again",)).start()
    assert _receive(mine, spin=False) == ("again", 0.0)
