"""Fixtures for pages running rings-web in headless Debian Chromium (Pyodide from build/pyodide-dist).

Loopback-only namespace required (the test network rule); skipped elsewhere with the reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

from _support import only_loopback

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--allow-loopback-in-peer-connection",
         "--disable-features=WebRtcHideLocalIpsWithMdns"]


def missing_requirement() -> str | None:
    if not only_loopback():
        return "browser tests run only in a loopback-only network namespace (scripts/test.sh)"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM}"
    if not (REPO / "build" / "pyodide-dist" / "pyodide-lock.json").exists():
        return "build/pyodide-dist missing (python scripts/build_pyodide_dist.py)"
    return None


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript",
                      ".js": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def site():
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(REPO)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")  # Playwright's sync API holds an event loop: release it after each module
def browser(site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


class _Pages:
    """Opens rings-web pages in ``browser``; ``close()`` closes them and reports page errors."""

    def __init__(self, browser, site: str) -> None:
        self.browser, self.site = browser, site
        self.contexts, self.errors = [], []

    def open(self, key: str, stabilize_ms: int = 3000):
        ctx = self.browser.new_context(permissions=["camera", "microphone"])  # makes Chromium gather 127.0.0.1
        self.contexts.append(ctx)
        page = ctx.new_page()
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.goto(f"{self.site}/tests/browser/node.html?key={key}&stabilize={stabilize_ms}")
        page.wait_for_function("window.ready === true", timeout=60_000)
        page.api = lambda fn, *args: page.evaluate("([f, a]) => window.api[f](...a)", [fn, list(args)])
        return page

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        assert not self.errors, self.errors


@pytest.fixture
def open_node(browser, site):
    """``open_node(key_hex, stabilize_ms=3000)`` → a page whose ``window.api`` drives one rings-web node."""
    pages = _Pages(browser, site)
    yield pages.open
    pages.close()


@pytest.fixture(scope="module")
def open_module_node(browser, site):
    """As ``open_node``, for pages shared by the tests of a module."""
    pages = _Pages(browser, site)
    yield pages.open
    pages.close()
