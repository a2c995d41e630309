"""Items lost under fast churn: 25 of 40 nodes fail, one every GAP ms, over many seeds.

Runs the scenario of tests/test_churn.py (40 nodes, 40 items, the default replica count)
for each gap and prints, per gap, the seeds that lost items and how: an item no live node
fetches either has no copy left on any live node (beside it, the estimate of
``lost_share_estimate``), or its copies sit only on nodes past the owner's successor, where
neither the owner nor a fetch looks (figures, no assertions).

    .venv/bin/python bench/bench_churn.py --gaps 1008,600,300,150 --seeds 100
"""

from __future__ import annotations

import argparse
import sys
import time
from multiprocessing import Pool
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_churn import R, REPAIR_MS, lost_share_estimate, no_copy_left  # noqa: E402
from test_engine import fail_one_by_one  # noqa: E402


def one(job: tuple[int, int, int]) -> tuple[int, int, int, int, float]:
    """One seed: (gap, seed, items lost, of them with no live copy, CPU seconds)."""
    gap, seed, failures = job
    cpu = time.process_time()
    sim, lost = fail_one_by_one(seed, failures=failures, gap_ms=gap)
    return gap, seed, len(lost), len(no_copy_left(sim, lost)), time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gaps", default="1008,600,300,150", help="ms between failures")
    ap.add_argument("--seeds", type=int, default=100)
    ap.add_argument("--failures", type=int, default=25, help="of the 40 nodes")
    ap.add_argument("--workers", type=int, default=2)
    ns = ap.parse_args()
    jobs = [(int(g), s, ns.failures) for g in ns.gaps.split(",") for s in range(ns.seeds)]
    with Pool(ns.workers) as pool:
        runs = pool.map(one, jobs, chunksize=1)
    print(f"R = {R} copies, repair time up to {REPAIR_MS} ms; {ns.failures} of 40 nodes fail")
    print("gap ms | R failures span | seeds losing | items lost | no copy left (estimate at most) | "
          "copies only past the successor | CPU s/seed")
    for gap in (int(g) for g in ns.gaps.split(",")):
        rows = [r for r in runs if r[0] == gap]
        losing = [r for r in rows if r[2]]
        lost, gone = sum(r[2] for r in rows), sum(r[3] for r in rows)
        estimate = lost_share_estimate(40, ns.failures, gap, REPAIR_MS) * 40 * len(rows)
        print(f"{gap} | {(R - 1) * gap} | {len(losing)} of {len(rows)} | {lost} of {40 * len(rows)} | "
              f"{gone} ({estimate:.1f}) | {lost - gone} | {sum(r[4] for r in rows) / len(rows):.2f}")
        print("    seeds:", " ".join(f"{r[1]}:{r[2]}" for r in losing) or "-")


if __name__ == "__main__":
    main()
