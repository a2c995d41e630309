"""The JavaScript suites (tests/js/*.test.mjs, run by node:test) as pytest items.

They cover the npm package (pack, install, Node, TypeScript, import map, <script> build), the
browser node (wallet, IndexedDB, typed errors) and the six-page network built with the
reusable helper js/testnet.mjs. Each needs Chromium, the loopback-only namespace and dist/.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

from _pages import missing_requirement

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
REPO = Path(__file__).resolve().parent.parent.parent
SUITES = sorted((REPO / "tests" / "js").glob("*.test.mjs"))


@pytest.mark.parametrize("suite", SUITES, ids=lambda p: p.name)
def test_js_suite(suite):
    reason = missing_requirement() or (None if shutil.which("node") else "node is not installed")
    if reason is None and not (REPO / "dist" / "rings-web.js").exists():
        reason = "dist/ is not built (npm run build)"
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["node", "--test", "--test-reporter=spec", str(suite)], cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, (proc.stdout[-12000:] + "\n" + proc.stderr[-4000:]).strip()
