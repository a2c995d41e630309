"""A page served over https:// bootstraps from a `rings-web run` seed serving JSON-RPC over TLS.

A test CA signs one certificate for 127.0.0.1; Chromium trusts it through
``--ignore-certificate-errors-spki-list`` (this browser only, nothing on the host changes). The
test page comes through a TLS proxy in front of the usual test site. Loopback-only namespace.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading

import pytest

from _pages import CHROMIUM, FLAGS, _Pages
from _support import wait_until
from _tls import make_certs
from rings_web.native.http import tls_context
from test_native_cli import RINGS, stop_node
from test_tls import tls_config

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
pytest.importorskip("aiortc", reason="aiortc is not installed")
pytest.importorskip("cryptography", reason="the test CA is made with cryptography (an aiortc dependency)")


class TlsProxy:
    """https://127.0.0.1:PORT → ``target`` (plain HTTP on 127.0.0.1), on its own thread's loop."""

    def __init__(self, target_port: int, context) -> None:
        self.loop = asyncio.new_event_loop()
        started = threading.Event()

        async def pipe(reader, writer):
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()

        async def serve(reader, writer):
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target_port)
            except OSError:
                writer.close()
                return
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

        async def start():
            self.server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=context, ssl_handshake_timeout=10)
            self.url = f"https://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
            started.set()

        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._run(start),), daemon=True)
        self.thread.start()
        assert started.wait(10)

    async def _run(self, start):
        self.stopped = asyncio.Event()
        await start()
        await self.stopped.wait()
        self.server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stopped.set)
        self.thread.join(30)


def test_an_https_page_bootstraps_from_an_https_seed(site, tmp_path):
    from playwright.sync_api import sync_playwright

    certs = make_certs(tmp_path)
    cfg = tls_config(tmp_path, "seed", tls_cert=certs.cert.name, tls_key=certs.key.name, stabilize_interval_ms=2000)
    seed = subprocess.Popen([*RINGS, "run", "--config", str(cfg), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proxy = TlsProxy(int(site.rsplit(":", 1)[1]), tls_context(str(certs.cert), str(certs.key)))
    try:
        hello = json.loads(seed.stdout.readline())
        assert hello["url"].startswith("https://127.0.0.1:")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                        args=[*FLAGS, f"--ignore-certificate-errors-spki-list={certs.spki}"])
            pages = _Pages(browser, proxy.url)
            try:
                page = pages.open(os.urandom(32).hex(), stabilize_ms=2000)
                assert page.evaluate("location.protocol") == "https:"
                page.api("connectPeerViaHttp", hello["url"])  # CORS preflight + POST answerOffer, over TLS
                assert wait_until(lambda: page.api("getPeer", hello["did"]), 20)
                assert page.api("storageFetch", page.api("storageStore", "over https")) is not None
            finally:
                pages.close()
                browser.close()
    finally:
        proxy.close()
        err = stop_node(seed)
    assert '"peer:connect"' in err
