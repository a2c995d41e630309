"""Native ↔ browser figures: a native rings-web node (CPython, aiortc) and a rings-web page
(Chromium, Pyodide) on 127.0.0.1, measured in one run.

    unshare -n sh -c 'ip link set lo up && exec .venv/bin/python bench/bench_native.py [--messages N]'

Prints: the page's ``connectPeerViaHttp`` to the native node's JSON-RPC endpoint → usable link,
signed 1 KB messages per second in each direction, and 50 KB bulk in each direction. Figures
only, no assertions (targets live in the issue notes). Needs scripts/setup.sh first.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from _pages import CHROMIUM, FLAGS  # noqa: E402  (the browser flags the tests use)
from _seed import native_and_site, open_page  # noqa: E402

from rings_web.api_events import Message  # noqa: E402


def row(what: str, value: str, note: str = "") -> None:
    print(f"{what:<48} {value:>14}  {note}", flush=True)


async def main(n: int, bulk_mb: int) -> None:
    from playwright.async_api import async_playwright

    async with native_and_site(3000) as (native, rpc_url, site), async_playwright() as p:
        received = {"count": 0, "bytes": 0}
        native.on(lambda e: received.update(count=received["count"] + 1, bytes=received["bytes"] + len(e.data))
                  if isinstance(e, Message) else None)
        browser = await p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = await open_page(browser, site, "stabilize=3000")
        address = await page.evaluate("window.node.address")
        await page.evaluate("() => { window.bench = {count: 0, bytes: 0};"
                            " node.on('message', (m) => { bench.count += 1; bench.bytes += m.data.length; }); }")

        t0 = time.perf_counter()
        await page.evaluate("(url) => node.connectPeerViaHttp(url)", rpc_url)
        while not (native.get_peer(address) and await page.evaluate("(d) => node.getPeer(d)", native.address.hex())):
            await asyncio.sleep(0.005)
        row("page connectPeerViaHttp(native) → usable link", f"{(time.perf_counter() - t0) * 1000:.0f} ms",
            "offer, HTTP answerOffer, ICE, both data channels open")

        async def page_to_native(size: int, count: int) -> float:
            received.update(count=0, bytes=0)
            t = time.perf_counter()
            await page.evaluate("""async ([did, size, count]) => {
                const data = new Uint8Array(size).fill(7);
                for (let i = 0; i < count; i++) {
                    await node.sendMessage(did, data);
                    if (i % 64 === 63) await new Promise((r) => setTimeout(r, 0));
                }}""", [native.address.hex(), size, count])
            while received["count"] < count:
                await asyncio.sleep(0.002)
            return time.perf_counter() - t

        async def native_to_page(size: int, count: int) -> float:
            await page.evaluate("() => { bench.count = 0; bench.bytes = 0; }")
            data = bytes([7]) * size
            t = time.perf_counter()
            for i in range(count):
                native.send_message(address, data)
                if i % 32 == 31:
                    await asyncio.sleep(0)  # let aiortc move the frames
            await page.wait_for_function("(n) => window.bench.count >= n", arg=count, timeout=600_000, polling=10)
            return time.perf_counter() - t

        await page_to_native(1024, 100)
        await native_to_page(1024, 100)  # warm-up both ways
        for label, run in (("page → native", page_to_native), ("native → page", native_to_page)):
            dt = await run(1024, n)
            row(f"signed 1 KB messages/s, {label}", f"{n / dt:.0f} msg/s", f"{n} messages")
        bulk = max(1, (bulk_mb << 20) // (50 << 10))
        for label, run in (("page → native", page_to_native), ("native → page", native_to_page)):
            dt = await run(50 << 10, bulk)
            row(f"bulk 50 KB messages, {label}", f"{bulk * 50 / 1024 / dt:.1f} MB/s", f"{bulk} messages")
        await browser.close()


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1000)
    ap.add_argument("--bulk-mb", type=int, default=8)
    args = ap.parse_args()
    asyncio.run(main(args.messages, args.bulk_mb))
