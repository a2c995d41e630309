"""Simulator figures for the README: Chord hops, settling rounds, churn, wall time.

Runs ``rings_web.sim`` for each size and writes bench/sim_results.json (figures, no
assertions).  ``--sizes 1000,10000`` takes a long time at 10 000 (see the README).
``--workers 1,2`` runs each size once per worker count, back to back, and records every
wall time beside the figures of the last run (the same seed and count give the same run).

    .venv/bin/python bench/bench_sim.py --sizes 128,1000
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import time
from pathlib import Path

from _report import speed
from rings_web.sim.cli import run

OUT = Path(__file__).with_name("sim_results.json")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="128,1000")
    ap.add_argument("--lookups", type=int, default=0, help="lookups per run (default: as many as nodes)")
    ap.add_argument("--churn", type=float, default=0.2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--successors", type=int, default=3, help="successor list length (copies of a VNode: this + 2)")
    ap.add_argument("--workers", default="2", help="processes sharing the nodes; a list compares counts")
    ns = ap.parse_args()
    results = json.loads(OUT.read_text()) if OUT.exists() else {}
    for n in (int(x) for x in ns.sizes.split(",")):
        walls = {}
        for workers in (int(x) for x in ns.workers.split(",")):
            r = run(nodes=n, lookups=ns.lookups or n, churn=ns.churn, seed=ns.seed, successors=ns.successors,
                    workers=workers)
            walls[str(workers)] = r["wall_s"]
            print(json.dumps(r), flush=True)
        if len(walls) > 1:
            r["wall_s_by_workers"] = walls
        # issue 17's target is < 120 s for 10 000 + 10 000 on this machine's two cores; the
        # reference is one worker in the same run when measured, else the target itself
        most = max(walls, key=int)
        ref, ref_name = (walls["1"], "1 worker, same run") if "1" in walls and most != "1" else (120.0, "target")
        speed(f"simulator, {n} joins + {ns.lookups or n} lookups, wall ({most} workers)", walls[most], "s",
              ref_name, ref, "< 120 s for 10 000 + 10 000", walls[most] < 120)
        r["bounds"] = {"mean_hops": round(0.5 * math.log2(n) + 0.5, 2), "rounds": round(2 * math.log2(n), 1)}
        r["measured_at"] = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
        r["machine"] = f"{platform.python_implementation()} {platform.python_version()}, {platform.machine()}"
        results[str(n)] = r
        OUT.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
