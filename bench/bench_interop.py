"""The same workload for genuine 0.2.5 <-> genuine, rings-web <-> rings-web (Chromium pages) and
rings-web <-> genuine, in one Chromium (tests/interop/genuine.mjs), with the ratios printed.

Workload per pair: boot (page load to a started node), manual handshake (offer to both sides
linked), 1 KB text messages the dApp way (the first messages after the handshake, no warm-up:
``await sendSimpleTextMessage`` in a loop on one page, a message handler on the other that
keeps every message; rate = messages / time from the first send to the last one received,
both read in the pages), 50 KB text messages the same way (throughput at the receiver).
Figures only: nothing here is an assertion.  Runs only inside a loopback-only network namespace:

    unshare -n sh -c 'ip link set lo up && exec "$@"' sh .venv/bin/python bench/bench_interop.py [--small N] [--bulk N]

Each figure is also printed as a ``SPEED`` line (bench/_report.py) with its ratio to genuine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO / "src"), str(REPO / "tests"), str(REPO / "tests" / "interop"), str(REPO / "bench")]

from _report import speed  # noqa: E402
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
            # a dApp's handler: it keeps every message (and the bench notes when the last came)
            self.js("() => { window.bench = {kept: [], last: 0, at: []};"
                    " node.on('message', (m) => { bench.kept.push(m); bench.last = Date.now();"
                    " bench.at.push(performance.timeOrigin + performance.now()); }); }")
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

    def received(self) -> tuple[int, int]:
        """Text messages handed to the application so far, and when the last came (ms, Date.now())."""
        if self.kind == "genuine":
            return tuple(self.js("""() => { const got = window.oracle.events.filter((e) => e.type === 'custom_message');
                return [got.length, got.length ? got[got.length - 1].t : 0]; }"""))
        return tuple(self.js("() => [window.bench.kept.length, window.bench.last]"))

    def gaps(self, n: int, t0: int) -> str:
        """ms a message of the last ``n`` received, by stretches of 50, the first from ``t0``
        (when the first send began): where cold costs show.  Empty for a genuine page."""
        if self.kind == "genuine":
            return ""
        at = [t0] + self.js("(n) => window.bench.at.slice(-n)", n)
        return " ".join(f"{(at[min(c + 50, n)] - at[c]) / (min(c + 50, n) - c):.2f}" for c in range(0, n, 50))

    def send_texts(self, did: str, text: str, n: int) -> tuple[int, int]:
        """Send ``n`` copies of ``text`` one after another from inside the page (each send
        awaited, as a dApp does): when the first send began and the last resolved (ms, Date.now())."""
        send = "window.oracle.sendSimpleText" if self.kind == "genuine" else "window.node.sendSimpleTextMessage"
        return tuple(self.js(f"""async ([did, text, n]) => {{ const t0 = Date.now();
            for (let i = 0; i < n; i++) await {send}(did, text);
            return [t0, Date.now()]; }}""", did, text, n))


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


def stream(a: Node, b: Node, size: int, n: int) -> tuple[float, float, float]:
    """``n`` texts of ``size`` bytes a -> b: (messages/s, KB/s) at the receiver, from the first
    send to the ``n``-th message in b's handler (both clocks are the one machine's), and
    messages/s at the sender alone."""
    text = ("x" * size)
    before, _ = b.received()
    t0, sent = a.send_texts(b.did, text, n)
    if not wait_until(lambda: b.received()[0] - before >= n, 300, 0.1):
        raise RuntimeError(f"{a.name} -> {b.name}: {b.received()[0] - before} of {n} messages arrived")
    s = max(b.received()[1] - t0, 1) / 1000
    if b.kind != "genuine":
        print(f"{a.name}->{b.name} {size} B: ms a message by 50s: {b.gaps(n, t0)}", flush=True)
    return n / s, n * size / 1024 / s, n / max((sent - t0) / 1000, 1e-3)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--small", type=int, default=300, help="1 KB messages per pair and way (default 300)")
    ap.add_argument("--bulk", type=int, default=20, help="50 KB messages per pair (default 20)")
    ap.add_argument("--no-mixed", action="store_true", help="skip the rings-web<->genuine pair")
    args = ap.parse_args()
    reason = missing_requirement()
    if not reason and not (REPO / "dist" / "pyodide-lock.json").exists():
        reason = "dist/ is not built (npm run build)"
    if reason:
        print(f"bench_interop: {reason}", file=sys.stderr)
        return 2
    g = Genuine()
    try:
        kinds = [("G1", "genuine"), ("G2", "genuine"), ("R1", "rings-web"), ("R2", "rings-web")]
        pairs = {"genuine<->genuine": ("G1", "G2"), "rings-web<->rings-web": ("R1", "R2")}
        if not args.no_mixed:
            kinds += [("G3", "genuine"), ("R3", "rings-web")]
            pairs["rings-web<->genuine"] = ("R3", "G3")
        nodes = {name: Node(g, name, kind) for name, kind in kinds}
        rows = {}
        for label, (x, y) in pairs.items():
            a, b = nodes[x], nodes[y]
            hs, attempts = handshake(a, b)
            small = [stream(a, b, 1024, args.small), stream(b, a, 1024, args.small)]
            bulk = [stream(a, b, 50 * 1024, args.bulk), stream(b, a, 50 * 1024, args.bulk)]
            rows[label] = {
                "boot s": statistics.mean([a.boot_s, b.boot_s]),
                "handshake s": hs,
                "1 KB msg/s": statistics.mean(m for m, _, _ in small),
                "50 KB KB/s": statistics.mean(k for _, k, _ in bulk),
                "_detail": f"handshake attempts {attempts}; 1 KB msg/s {x}->{y} {small[0][0]:.0f}, "
                           f"{y}->{x} {small[1][0]:.0f} (sender alone {small[0][2]:.0f}, {small[1][2]:.0f}); "
                           f"50 KB KB/s {x}->{y} {bulk[0][1]:.0f}, {y}->{x} {bulk[1][1]:.0f}",
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
    for label in [p for p in rows if p != "genuine<->genuine"]:
        print(f"{label + ' / genuine':24}" + "".join(f"{rows[label][m] / base[m]:>14.2f}" for m in metrics))
    print("(ratios: times for boot/handshake -- lower is faster; rates for messages -- higher is faster)")
    ours, genuine = rows["rings-web<->rings-web"], base
    speed(f"signed 1 KB texts/s received, dApp way ({args.small}, no warm-up)", ours["1 KB msg/s"], "msg/s",
          "genuine 0.2.5", genuine["1 KB msg/s"], ">= 1 000 msg/s (~10x genuine)", ours["1 KB msg/s"] >= 1000)
    speed("50 KB texts received, dApp way", ours["50 KB KB/s"], "KB/s", "genuine 0.2.5", genuine["50 KB KB/s"],
          "(bulk vs raw: bench_browser.mjs)", True)
    if errors:
        print("page errors:", errors, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
