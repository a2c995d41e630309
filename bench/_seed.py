"""A native rings-web node with its JSON-RPC server beside the test pages' site, for the benches
that put pages next to a native node (bench_native.py, bench_relay.py)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from pathlib import Path

from rings_web.client import start_client
from rings_web.engine.config import Config
from rings_web.native.http import HttpServer
from rings_web.native.jsonrpc import JsonRpc
from rings_web.session import LocalKeySigner
from rings_web.transport.aiortc import AiortcTransport, use_host_addresses

REPO = Path(__file__).resolve().parent.parent


@contextlib.asynccontextmanager
async def native_and_site(stabilize_ms: int):
    """Yields ``(client, rpc_url, site_url)``: a native node (aiortc, 127.0.0.1 host candidates)
    serving JSON-RPC, and ``node js/testnet.mjs serve``'s URL (its node.html is a test page)."""
    use_host_addresses(["127.0.0.1"])
    native = await start_client(LocalKeySigner(os.urandom(32)), AiortcTransport(),
                                config=Config(stabilize_interval_ms=stabilize_ms))
    server = HttpServer(JsonRpc(native, "unused"), port=0)
    await server.start()
    serve = subprocess.Popen(["node", str(REPO / "js" / "testnet.mjs"), "serve"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        yield native, server.url, json.loads(serve.stdout.readline())["url"]
    finally:
        serve.stdin.close()
        serve.wait(timeout=30)
        await server.close()
        native.close()
        await native.node.transport.aclose()


async def open_page(browser, site: str, query: str):
    """A rings-web test page of ``site`` in a new context of ``browser``, its node ready."""
    page = await (await browser.new_context(permissions=["camera", "microphone"])).new_page()
    await page.goto(f"{site}/node.html?key={os.urandom(32).hex()}&events=0&{query}")
    await page.wait_for_function("window.ready || window.bootError", timeout=120_000)
    if err := await page.evaluate("window.bootError"):
        raise RuntimeError(f"page boot failed: {err}")
    return page
