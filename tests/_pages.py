"""Fixtures for pages running the rings-web product in headless Debian Chromium.

Each page is the test page of ``js/testnet.mjs`` (``createNode`` with a test EIP-1193 wallet),
served by ``node js/testnet.mjs serve``; ``page.api(method, *args)`` calls ``node[method]`` in
the page (bytes as ``{"$bytes": hex}``) and raises :class:`PageError` with the rings-web error
type when the call fails. Loopback-only namespace required (the test network rule); skipped
elsewhere with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import warnings
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
    if not shutil.which("node"):
        return "node is not installed"
    if not (REPO / "dist" / "pyodide-lock.json").exists():
        return "dist/ is not built (npm run build)"
    return None


class PageError(Exception):
    """A call in the page failed; ``name`` is the rings-web error type (``InvalidArgument``…)."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


@pytest.fixture(scope="session")
def site():
    """``node js/testnet.mjs serve``: the package, Pyodide and the test page on 127.0.0.1."""
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    proc = subprocess.Popen(["node", str(REPO / "js" / "testnet.mjs"), "serve"], cwd=REPO, text=True,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    url = json.loads(proc.stdout.readline())["url"]
    yield url
    proc.stdin.close()
    proc.wait(timeout=30)


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
        from playwright.sync_api import Error as PlaywrightError

        for attempt in (1, 2):  # as js/testnet.mjs newBootedPage: a renderer crash gets one more try
            ctx = self.browser.new_context(permissions=["camera", "microphone"])  # makes Chromium gather 127.0.0.1
            page = ctx.new_page()
            page.on("pageerror", lambda e: self.errors.append(str(e)))
            try:
                page.goto(f"{self.site}/node.html?key={key}&stabilize={stabilize_ms}")
                page.wait_for_function("window.ready || window.bootError", timeout=120_000)
                break
            except PlaywrightError as e:
                ctx.close()
                if attempt == 2 or "Target crashed" not in str(e):
                    raise
                warnings.warn(f"a page's renderer crashed while booting ({str(e).splitlines()[0]}); one more try")
        self.contexts.append(ctx)
        return ready(page)

    def close(self) -> None:
        for ctx in self.contexts:
            ctx.close()
        assert not self.errors, self.errors


def ready(page):
    """A test page whose node booted (else :class:`PageError`), with ``page.api(method, *args)``
    and ``page.events(name=None)`` attached."""
    boot_error = page.evaluate("window.bootError")
    if boot_error:
        raise PageError(boot_error["name"], boot_error["message"])

    def api(method: str, *args):
        r = page.evaluate("([m, a]) => window.rings.call(m, ...a)", [method, list(args)])
        if not r["ok"]:
            raise PageError(r["error"]["name"], r["error"]["message"])
        return r["value"]

    page.api = api
    page.events = lambda name=None: page.evaluate("(n) => window.rings.events(n)", name)
    return page


@pytest.fixture
def open_node(browser, site):
    """``open_node(key_hex, stabilize_ms=3000)`` → a page driving one rings-web node (``page.api``)."""
    pages = _Pages(browser, site)
    yield pages.open
    pages.close()


@pytest.fixture(scope="module")
def open_module_node(browser, site):
    """As ``open_node``, for pages shared by the tests of a module."""
    pages = _Pages(browser, site)
    yield pages.open
    pages.close()
