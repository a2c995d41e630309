"""The main job (scripts/demo.sh = demo/run.mjs): a seed, the demo page and three headless pages.

The run ends by itself (--for) and exits 0 only if every page joined through the seed and heard
from every other page, with no page errors.
"""

import subprocess
from pathlib import Path

import pytest

from _pages import missing_requirement

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
REPO = Path(__file__).resolve().parent.parent.parent


def test_demo_network_joins_and_every_page_hears_every_other():
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    proc = subprocess.run(["node", "demo/run.mjs", "--pages", "3", "--for", "45", "--loopback", "--port", "0",
                           "--seed-port", "0"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "every page heard from every other page; 0 page errors" in proc.stdout
    assert proc.stdout.count("joined through the seed") == 3
