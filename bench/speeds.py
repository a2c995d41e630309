"""Every speed figure of issue 17 in one command: runs each bench in turn and prints one table.

    .venv/bin/python bench/speeds.py [--quick]

Runs bench_interop.py (messages, handshake, against the genuine 0.2.5 node), bench_boot.py (boot),
bench_browser.mjs (bulk vs a raw RTCDataChannel), bench_sim.py (10 000 joins + 10 000 lookups;
256 + 256 with --quick) and bench_relay.py (a native seed relaying between two pages), with
RINGS_WEB_SPEED_ROWS naming one file that gathers every SPEED row (bench/_report.py), then prints
them as one markdown table.  Pages open only on loopback: run as root, it re-executes itself
inside a new loopback-only network namespace (``unshare -n``) when not already in one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
INSIDE = "RINGS_WEB_SPEEDS_NS"  # set once re-executed inside the namespace: never unshare twice

# (bench file, command, extra arguments, extra arguments with --quick, time limit in s)
BENCHES = [
    ("bench_interop.py", [PYTHON], [], ["--small", "100", "--bulk", "5"], 1800),
    ("bench_boot.py", [PYTHON], [], ["--runs", "2"], 1800),
    ("bench_browser.mjs", ["node"], [], ["--messages", "500"], 1800),  # bulk stays 16 MB: 4 MB swings 2x
    ("bench_sim.py", [PYTHON], ["--sizes", "10000", "--lookups", "10000"], ["--sizes", "256", "--lookups", "256"], 3600),
    ("bench_relay.py", [PYTHON], [], ["--messages", "100"], 900),
]


def only_loopback() -> bool:
    """No network interface but ``lo`` (the namespace every page-opening bench runs in)."""
    return sorted(os.listdir("/sys/class/net")) == ["lo"]


def into_namespace(argv: list[str]) -> None:
    """Re-execute this command inside a new loopback-only network namespace (needs root)."""
    if os.environ.get(INSIDE) or only_loopback():
        return
    if os.geteuid() != 0 or not shutil.which("unshare"):
        sys.exit("speeds.py: pages open only in a loopback-only network namespace: run as root (unshare -n)")
    os.environ[INSIDE] = "1"
    os.execvp("unshare", ["unshare", "-n", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", PYTHON, __file__, *argv])


def run(name: str, command: list[str], timeout: int, rows_file: Path) -> str:
    """Run one bench, echoing its output; a one-word outcome."""
    print(f"\n== {name}: {' '.join(command[1:])}", flush=True)
    env = {**os.environ, "RINGS_WEB_SPEED_ROWS": str(rows_file), "PYTHONUNBUFFERED": "1"}
    t = time.monotonic()
    proc = subprocess.Popen(command, cwd=REPO, env=env)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return f"stopped after {timeout} s"
    print(f"== {name}: exit {code} after {time.monotonic() - t:.0f} s", flush=True)
    return "ok" if code == 0 else f"failed (exit {code})"


def table(rows: list[dict], outcomes: dict[str, str]) -> str:
    lines = ["| figure | rings-web | reference | ratio | target | met |", "| --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        ratio = "" if r["ratio"] is None or math.isnan(r["ratio"]) else f"{r['ratio']:.2f}"
        lines.append(f"| {r['figure']} | {_num(r['ours'])} {r['unit']} | {r['reference']}: {_num(r['ref'])} {r['unit']} "
                     f"| {ratio} | {r['target']} | {'met' if r['met'] else 'missed'} |")
    for name, outcome in outcomes.items():
        if outcome != "ok":
            lines.append(f"| {name} | {outcome} | | | | |")
    return "\n".join(lines)


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}".replace(",", " ")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller runs (simulator 256 + 256, fewer messages)")
    args = ap.parse_args()
    into_namespace(sys.argv[1:])
    outcomes: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="rings-web-speeds-") as tmp:
        rows_file = Path(tmp) / "rows.jsonl"
        rows_file.touch()
        for name, command, full, quick, timeout in BENCHES:
            if not (HERE / name).exists():
                outcomes[name] = "not present"
                print(f"\n== {name}: not present", flush=True)
                continue
            before = len(rows_file.read_text().splitlines())
            outcomes[name] = run(name, [*command, str(HERE / name), *(quick if args.quick else full)], timeout, rows_file)
            if outcomes[name] == "ok" and len(rows_file.read_text().splitlines()) == before:
                outcomes[name] = "ran, printed no SPEED row"
        rows = [json.loads(line) for line in rows_file.read_text().splitlines() if line.strip()]
    print("\n" + table(rows, outcomes))
    return 1 if any(o.startswith(("failed", "stopped")) for o in outcomes.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
