"""pytest-pyodide set-up: Debian Chromium for the browser runtime; the whole-module runner in Node only.

Run with ``--runner playwright --runtime node,chrome`` (scripts/test.sh does): pytest-pyodide's
own Playwright launcher would look for a downloaded browser, so ``playwright_browsers`` launches
/usr/bin/chromium instead (RECIPES.md).
"""

from __future__ import annotations

import os

import pytest

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def playwright_browsers(request):
    from pytest_pyodide.hook import pytest_wrapper

    if request.config.option.runner.lower() != "playwright" or "chrome" not in pytest_wrapper.pyodide_runtimes:
        yield {}
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield {"chrome": browser}
        browser.close()


def pytest_collection_modifyitems(config, items):
    """test_in_pyodide.py copies files with Node's fs and reruns the whole suite: Node only."""
    keep, drop = [], []
    for item in items:
        runtime = getattr(item, "callspec", None) and item.callspec.params.get("runtime")
        (drop if item.module.__name__ == "test_in_pyodide" and runtime not in (None, "node") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
