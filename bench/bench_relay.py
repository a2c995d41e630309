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
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from _pages import CHROMIUM, FLAGS, missing_requirement  # noqa: E402
from _report import speed  # noqa: E402
from _seed import native_and_site, open_page  # noqa: E402

# No stabilization round during the run (nor its link changes and traffic).
QUIET_MS = 3_600_000
# In a ring of three, one page is the other's successor: the ring links them again as soon as
# they unlink.  For the relayed rounds the pages refuse a browser's description (Chromium's
# candidates say network-id, aiortc's do not), as if the two could not reach each other
# directly (two symmetric NATs: when a relay carries the traffic), so the ring's new link fails.
NO_DIRECT = """() => { const set = RTCPeerConnection.prototype.setRemoteDescription; window.relayOnly = false;
  RTCPeerConnection.prototype.setRemoteDescription = function (d, ...rest) {
    if (window.relayOnly && / network-id /.test(d?.sdp ?? "")) return Promise.reject(new DOMException("relayed round", "OperationError"));
    return set.call(this, d, ...rest); }; }"""

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
    """Close any direct link between the pages and keep them from making one (see NO_DIRECT)."""
    for page in (a, b):
        await page.evaluate("() => { window.relayOnly = true; }")
    if await linked(a, db) or await linked(b, da):
        await a.evaluate("(d) => node.disconnect(d)", db)
        await until(lambda: _none(a, b, da, db), 15, "unlink")


async def _none(a, b, da: str, db: str) -> bool:
    return not (await linked(a, db) or await linked(b, da))


async def link(a, b, da: str, db: str) -> None:
    """A direct link by manual handshake (the ring's own offers may still wait on a refusal)."""
    for page in (a, b):
        await page.evaluate("() => { window.relayOnly = false; }")
    if not await _both(a, b, da, db):
        offer = await a.evaluate("() => node.createOffer()")
        answer = await b.evaluate("(o) => node.answerOffer(o)", offer)
        await a.evaluate("(x) => node.acceptAnswer(x)", answer)
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

    results: dict[str, list[dict]] = {"relayed": [], "direct": []}
    async with native_and_site(QUIET_MS) as (seed, rpc_url, site), async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        pages = []
        for _ in range(2):
            page = await open_page(browser, site, f"stabilize={QUIET_MS}")
            await page.evaluate(NO_DIRECT)
            await page.evaluate("(url) => node.connectPeerViaHttp(url)", rpc_url)
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
