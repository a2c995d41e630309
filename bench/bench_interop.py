"""The same workload for genuine 0.2.5 <-> genuine, rings-web <-> rings-web (Chromium pages) and
rings-web <-> genuine, in one Chromium (tests/interop/genuine.mjs), with the ratios printed.

Workload per pair: boot (page load to a started node), manual handshake (offer to both sides
linked), 1 KB text messages (signed, sent one after another by an in-page loop; rate at the
receiver), 50 KB text messages (throughput at the receiver).  Figures only: nothing here is an
assertion.  Runs only inside a loopback-only network namespace:

    unshare -n sh -c 'ip link set lo up && exec "$@"' sh .venv/bin/python bench/bench_interop.py [--small N] [--bulk N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(REPO / "tests" / "interop")]

from _support import wait_until  # noqa: E402
from _genuine import Genuine, missing_requirement  # noqa: E402
from rings_web.session import LocalKeySigner  # noqa: E402

STUN = "stun://127.0.0.1:3478"
ROUND_MS = 25_000  # both kinds stabilize on the genuine browser's period


class Node:
    """One node in a page of the shared Chromium: ``kind`` is "genuine" or "rings-web"."""

    def __init__(self, g: Genuine, name: str, kind: str) -> None:
        self.g, self.name, self.kind = g, name, kind
        self.key = os.urandom(32).hex()
        self.did = LocalKeySigner(self.key).address.hex()
        t = time.perf_counter()
        if kind == "genuine":
            g.request("open", name)
            g.call(name, "start", self.key, STUN, f"bench-{name}")
        else:
            g.request("openRingsWeb", name, self.key, ROUND_MS, {"events": "0"}, timeout=150)
            self.js("() => { window.bench = {count: 0}; node.on('message', () => { bench.count += 1; }); }")
        self.boot_s = time.perf_counter() - t

    def js(self, source: str, *args, timeout: float = 300):
        """Evaluate the JS function ``source`` in the page with ``args``."""
        return self.g.request("evaluate", self.name, source, list(args), timeout=timeout)

    def api(self, fn: str, *args, timeout: float = 120):
        if self.kind == "genuine":
            return self.g.call(self.name, fn, *args, timeout=timeout)
        r = self.js("([f, a]) => window.rings.call(f, ...a)", fn, list(args), timeout=timeout)
        if not r["ok"]:
            raise RuntimeError(f"{self.name} {fn}: {r['error']}")
        return r["value"]

    def create_offer(self) -> str:
        return self.api("createOffer")

    def answer_offer(self, offer: str) -> str:
        return self.api("answerOffer", offer)

    def accept_answer(self, answer: str) -> None:
        self.api("acceptAnswer", answer)

    def linked(self, did: str) -> bool:
        if self.kind == "genuine":
            return any("0x" + p["address"].removeprefix("0x") == did and p["state"] == "connected"
                       for p in self.api("listPeers"))
        return any(p["did"] == did for p in self.api("listPeers"))

    def received(self) -> int:
        """Text messages handed to the application so far."""
        if self.kind == "genuine":
            return self.js("() => window.oracle.events.filter((e) => e.type === 'custom_message').length")
        return self.js("() => window.bench.count")

    def send_texts(self, did: str, text: str, n: int) -> float:
        """Send ``n`` copies of ``text`` one after another from inside the page; seconds taken."""
        if self.kind == "genuine":
            return self.js("""async ([did, text, n]) => { const t0 = performance.now();
                for (let i = 0; i < n; i++) await window.oracle.sendSimpleText(did, text);
                return (performance.now() - t0) / 1000; }""", did, text, n)
        return self.js("""async ([did, text, n]) => { const t0 = performance.now();
            for (let i = 0; i < n; i++) await window.node.sendSimpleTextMessage(did, text);
            return (performance.now() - t0) / 1000; }""", did, text, n)


HANDSHAKES = 5  # per pair; the median is the figure (a browser's first handshake takes ~2x longer)


def handshake(a: Node, b: Node) -> tuple[float, int]:
    """Seconds from a's offer to both sides linked, timed inside the pages (bench/_handshake.py):
    the median of HANDSHAKES, and the tries they took (a genuine answerer can lose its
    registration race, SPEC §10 item 2).  Prints every time and the median one's phases
    (every mark too with RINGS_WEB_HS_MARKS=1)."""
    import _handshake

    got, failed = _handshake.samples(a, b, HANDSHAKES)
    mid = sorted(got, key=lambda s: s["ms"])[len(got) // 2]
    times = " ".join(f"{s['ms']:.0f}" for s in got)
    print(f"handshake {a.name}->{b.name} (ms): {times}; "
          f"median's phases: {_handshake.phases(mid)}", flush=True)
    if os.environ.get("RINGS_WEB_HS_MARKS"):
        print(_handshake.breakdown(mid))
    return mid["ms"] / 1000, len(got) + failed


def handshake_speed(rows: dict) -> None:
    """The SPEED line of issue 17 target 2: rings-web's handshake beside genuine's."""
    from _report import speed

    ours, ref = (rows[k]["handshake s"] * 1000 for k in ("rings-web<->rings-web", "genuine<->genuine"))
    speed(f"manual handshake, offer to both linked (median of {HANDSHAKES})", ours, "ms", "genuine 0.2.5", ref,
          "<= 0.5x genuine", ours <= 0.5 * ref)


def stream(a: Node, b: Node, size: int, n: int) -> tuple[float, float]:
    """``n`` texts of ``size`` bytes a -> b: (messages/s, KB/s) at the receiver."""
    text = ("x" * size)
    before = b.received()
    t = time.perf_counter()
    a.send_texts(b.did, text, n)
    if not wait_until(lambda: b.received() - before >= n, 300, 0.02):
        raise RuntimeError(f"{a.name} -> {b.name}: {b.received() - before} of {n} messages arrived")
    s = time.perf_counter() - t
    return n / s, n * size / 1024 / s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=200, help="1 KB messages per pair (default 200)")
    ap.add_argument("--bulk", type=int, default=20, help="50 KB messages per pair (default 20)")
    args = ap.parse_args()
    reason = missing_requirement()
    if not reason and not (REPO / "dist" / "pyodide-lock.json").exists():
        reason = "dist/ is not built (npm run build)"
    if reason:
        print(f"bench_interop: {reason}", file=sys.stderr)
        return 2
    g = Genuine()
    try:
        nodes = {name: Node(g, name, kind) for name, kind in
                 [("G1", "genuine"), ("G2", "genuine"), ("R1", "rings-web"), ("R2", "rings-web"),
                  ("G3", "genuine"), ("R3", "rings-web")]}
        pairs = {"genuine<->genuine": ("G1", "G2"), "rings-web<->rings-web": ("R1", "R2"),
                 "rings-web<->genuine": ("R3", "G3")}
        rows = {}
        for label, (x, y) in pairs.items():
            a, b = nodes[x], nodes[y]
            hs, attempts = handshake(a, b)
            small = [stream(a, b, 1024, args.small), stream(b, a, 1024, args.small)]
            bulk = [stream(a, b, 50 * 1024, args.bulk), stream(b, a, 50 * 1024, args.bulk)]
            rows[label] = {
                "boot s": statistics.mean([a.boot_s, b.boot_s]),
                "handshake s": hs,
                "1 KB msg/s": statistics.mean(m for m, _ in small),
                "50 KB KB/s": statistics.mean(k for _, k in bulk),
                "_detail": f"handshake attempts {attempts}; 1 KB msg/s {x}->{y} {small[0][0]:.0f}, "
                           f"{y}->{x} {small[1][0]:.0f}; 50 KB KB/s {x}->{y} {bulk[0][1]:.0f}, {y}->{x} {bulk[1][1]:.0f}",
            }
        errors = g.request("errors")
    finally:
        g.close()
    handshake_speed(rows)
    metrics = ["boot s", "handshake s", "1 KB msg/s", "50 KB KB/s"]
    print(f"{'pair':24}" + "".join(f"{m:>14}" for m in metrics))
    for label, row in rows.items():
        print(f"{label:24}" + "".join(f"{row[m]:>14.3f}" if row[m] < 10 else f"{row[m]:>14.0f}" for m in metrics))
        print(f"{'':24}{row['_detail']}")
    base = rows["genuine<->genuine"]
    for label in ("rings-web<->rings-web", "rings-web<->genuine"):
        print(f"{label + ' / genuine':24}" + "".join(f"{rows[label][m] / base[m]:>14.2f}" for m in metrics))
    print("(ratios: times for boot/handshake -- lower is faster; rates for messages -- higher is faster)")
    if errors:
        print("page errors:", errors, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
