"""tests/_ci.py: with CI=true a browser or interop test that skips fails the run."""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytestmark = pytest.mark.cpython_only(reason="runs pytest in a subprocess")
TESTS = Path(__file__).resolve().parent
SUITE = '''
import pytest

@pytest.mark.browser
def test_browser_runtime_skip():
    pytest.skip("Chromium not found")

@pytest.mark.browser
@pytest.mark.skip(reason="a documented gap")
def test_browser_deliberate_skip():
    pass

def test_plain_skip():
    pytest.skip("not a browser test")

@pytest.fixture
def namespace():
    pytest.skip("not in a loopback-only namespace")

def test_interop_fixture_skip(namespace):
    pass
'''


def outcomes(tmp_path: Path, ci: str | None) -> dict[str, str]:
    """Run SUITE (flat, and under interop/) with or without CI; each test's outcome from the JUnit XML."""
    (tmp_path / "interop").mkdir(exist_ok=True)
    (tmp_path / "test_flat.py").write_text(SUITE)
    (tmp_path / "interop" / "test_suite.py").write_text(SUITE)
    (tmp_path / "interop" / "test_needs_lib.py").write_text('import pytest\npytest.importorskip("no_such_module_here")\n')
    env = {k: v for k, v in os.environ.items() if k != "CI"} | ({"CI": ci} if ci is not None else {})
    env["PYTHONPATH"] = str(TESTS)
    xml = tmp_path / f"report-{ci}.xml"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "_ci", "-p", "no:cacheprovider", "-q", "-c", os.devnull,
                           "--rootdir", str(tmp_path), "-o", "markers=browser", "--continue-on-collection-errors", f"--junitxml={xml}", str(tmp_path)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    found = {"exit code": proc.returncode}
    for case in ET.parse(xml).iter("testcase"):
        kinds = [c.tag for c in case if c.tag in {"skipped", "failure", "error"}]
        found[".".join(filter(None, (case.get("classname"), case.get("name"))))] = kinds[0] if kinds else "passed"
    return found


def test_without_ci_every_skip_stays_a_skip(tmp_path):
    found = outcomes(tmp_path, None)
    assert found.pop("exit code") == 0
    assert set(found.values()) == {"skipped"} and len(found) == 9, found


@pytest.mark.parametrize("ci", ["true", "1"])
def test_under_ci_a_browser_or_interop_skip_fails_the_run(tmp_path, ci):
    found = outcomes(tmp_path, ci)
    assert found.pop("exit code") == 1
    assert found == {
        "test_flat.test_browser_runtime_skip": "failure",  # marked browser
        "test_flat.test_browser_deliberate_skip": "skipped",  # @pytest.mark.skip: a documented gap
        "test_flat.test_plain_skip": "skipped",
        "test_flat.test_interop_fixture_skip": "skipped",  # neither marked nor under interop/
        "interop.test_suite.test_browser_runtime_skip": "failure",
        "interop.test_suite.test_browser_deliberate_skip": "skipped",
        "interop.test_suite.test_plain_skip": "failure",  # under interop/
        "interop.test_suite.test_interop_fixture_skip": "error",  # skipped in its fixture: a set-up error
        "interop.test_needs_lib": "error",  # importorskip at import: a collection error (ends a real run)
    }, found
