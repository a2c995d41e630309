"""A native seed relaying between two pages (issue 17 target 6), beside the same pages linked
directly, in one run.

A native rings-web node (CPython, aiortc, in this process) serves JSON-RPC on 127.0.0.1; two
rings-web pages in one headless Chromium bootstrap from it (``connectPeerViaHttp``) and are
linked only through it.  Page A sends 1 KB signed texts to page B the dApp way (sequential
``await sendSimpleTextMessage``, an ``on("message")`` handler in B keeping each message), then
A and B link directly and the same is measured again.  Each text carries its send time
(``performance.timeOrigin + performance.now()``: one clock for both pages of one browser), so
B's handler gives the send-to-receive latency.  Figures only, no assertions:

    unshare -n sh -c 'ip link set lo up && exec "$@"' sh .venv/bin/python bench/bench_relay.py [--messages N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from _pages import CHROMIUM, FLAGS, missing_requirement  # noqa: E402
from _report import speed  # noqa: E402

from rings_web.client import start_client  # noqa: E402
from rings_web.engine.config import Config  # noqa: E402
from rings_web.native.http import HttpServer  # noqa: E402
from rings_web.native.jsonrpc import JsonRpc  # noqa: E402
from rings_web.session import LocalKeySigner  # noqa: E402
from rings_web.transport.aiortc import AiortcTransport, use_host_addresses  # noqa: E402

# No stabilization round during the run: a page's round would find the other page as its
# successor and link to it directly, and the texts would no longer go through the seed.
QUIET_MS = 3_600_000

KEEP = """() => { window.bench = {kept: [], at: [], hops: []};
  node.on('message', (m) => { bench.kept.push(m); bench.at.push(performance.timeOrigin + performance.now());
                              bench.hops.push(m.path.length); }); }"""
SEND = """async ([did, n, size]) => {
  const t0 = performance.timeOrigin + performance.now();
  for (let i = 0; i < n; i++) {
    const head = `${i} ${performance.timeOrigin + performance.now()} `;
    await node.sendSimpleTextMessage(did, head.padEnd(size, "x"));
  }
  return t0; }"""
RESET = "() => { bench.kept = []; bench.at = []; bench.hops = []; }"
READ = "() => ({at: bench.at, sent: bench.kept.map((m) => Number(m.text.split(' ')[1])), hops: bench.hops})"


async def linked(page, did: str) -> bool:
    return bool(await page.evaluate("(d) => node.getPeer(d).then((p) => !!p, () => false)", did))


async def until(check, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench_relay: no {what} after {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def unlink(a, b, da: str, db: str) -> None:
    """Close any direct link between the pages (made when they joined, or for a direct round)."""
    if await linked(a, db) or await linked(b, da):
        await a.evaluate("(d) => node.disconnect(d)", db)
        await until(lambda: _none(a, b, da, db), 15, "unlink")


async def _none(a, b, da: str, db: str) -> bool:
    return not (await linked(a, db) or await linked(b, da))


async def link(a, b, da: str, db: str) -> None:
    """A direct link (connect through the seed; done at once if the ring linked them already)."""
    await a.evaluate("(d) => node.connectWithAddress(d)", db)
    await until(lambda: _both(a, b, da, db), 15, "direct link")


async def _both(a, b, da: str, db: str) -> bool:
    return await linked(a, db) and await linked(b, da)


async def run(a, b, db: str, n: int) -> dict:
    """``n`` texts a -> b: received/s, latency p50/p99 (ms), and the hop counts seen."""
    await b.evaluate(RESET)
    t0 = await a.evaluate(SEND, [db, n, 1024])
    await until(lambda: b.evaluate(f"() => bench.at.length >= {n}"), 120, f"{n} texts at B")
    got = await b.evaluate(READ)
    lat = sorted(r - s for r, s in zip(got["at"], got["sent"]))
    return {"rate": n / ((max(got["at"]) - t0) / 1000), "p50": lat[len(lat) // 2],
            "p99": lat[min(len(lat) - 1, int(len(lat) * 0.99))], "hops": sorted(set(got["hops"]))}


async def one_by_one(a, b, db: str, n: int = 30) -> float:
    """Latency p50 (ms) of texts a -> b sent one at a time (each after the last arrived): no queue."""
    await b.evaluate(RESET)
    for i in range(1, n + 1):
        await a.evaluate(SEND, [db, 1, 1024])
        await until(lambda i=i: b.evaluate(f"() => bench.at.length >= {i}"), 20, "a text at B")
    got = await b.evaluate(READ)
    return statistics.median(r - s for r, s in zip(got["at"], got["sent"]))


async def main(n: int, rounds: int) -> None:
    from playwright.async_api import async_playwright

    use_host_addresses(["127.0.0.1"])
    seed = await start_client(LocalKeySigner(os.urandom(32)), AiortcTransport(), config=Config(stabilize_interval_ms=QUIET_MS))
    server = HttpServer(JsonRpc(seed, "unused"), port=0)
    await server.start()
    serve = subprocess.Popen(["node", str(REPO / "js" / "testnet.mjs"), "serve"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    site = json.loads(serve.stdout.readline())["url"]
    results: dict[str, list[dict]] = {"relayed": [], "direct": []}
    try:
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
            pages = []
            for _ in range(2):
                page = await (await browser.new_context(permissions=["camera", "microphone"])).new_page()
                await page.goto(f"{site}/node.html?key={os.urandom(32).hex()}&events=0&stabilize={QUIET_MS}")
                await page.wait_for_function("window.ready || window.bootError", timeout=120_000)
                if err := await page.evaluate("window.bootError"):
                    raise RuntimeError(f"bench_relay: page boot failed: {err}")
                await page.evaluate("(url) => node.connectPeerViaHttp(url)", server.url)
                await until(lambda page=page: linked(page, seed.address.hex()), 20, "link to the seed")
                pages.append(page)
            a, b = pages
            da, db = [await x.evaluate("node.address") for x in (a, b)]
            await b.evaluate(KEEP)
            for r in range(rounds):
                for kind in ("relayed", "direct"):
                    await (unlink if kind == "relayed" else link)(a, b, da, db)
                    got = await run(a, b, db, n)
                    got["alone"] = await one_by_one(a, b, db)
                    results[kind].append(got)
                    print(f"round {r + 1} {kind:8}: {got['rate']:6.0f} texts/s received, latency p50 {got['p50']:6.1f} ms, "
                          f"p99 {got['p99']:6.1f} ms; one at a time p50 {got['alone']:5.1f} ms; hops seen {got['hops']}", flush=True)
            await browser.close()
    finally:
        serve.stdin.close()
        serve.wait(timeout=30)
        await server.close()
        seed.close()
        await seed.node.transport.aclose()
    report(results, n)


def report(results: dict[str, list[dict]], n: int) -> None:
    relayed, direct = ({k: statistics.mean(r[k] for r in results[kind]) for k in ("rate", "p50", "p99", "alone")}
                       for kind in ("relayed", "direct"))
    if any(r["hops"] != [2] for r in results["relayed"]) or any(r["hops"] != [1] for r in results["direct"]):
        print("warning: some texts did not take the intended way (hops seen above: 2 = through the seed, 1 = direct)")
    speed(f"signed 1 KB texts/s page -> native seed -> page ({n}, dApp way)", relayed["rate"], "texts/s",
          "same pages linked directly", direct["rate"], "reported", True)
    for q in ("p50", "p99"):
        speed(f"relayed text latency {q}, send to receive, in that stream", relayed[q], "ms", "same pages linked directly",
              direct[q], "reported", True)
    speed("relayed text latency p50, one text at a time", relayed["alone"], "ms", "same pages linked directly",
          direct["alone"], "reported", True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300, help="1 KB texts per round and way (default 300)")
    ap.add_argument("--rounds", type=int, default=1, help="relayed then direct, this many times (default 1)")
    args = ap.parse_args()
    if reason := missing_requirement():
        sys.exit(f"bench_relay: {reason}")
    asyncio.run(main(args.messages, args.rounds))
