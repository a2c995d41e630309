"""Run the core test modules inside Pyodide 314 (pytest-pyodide, ``--runtime node``).

The same files as the CPython suite run under a pytest inside Pyodide, with the JS crypto
shim (js/crypto.mjs) registered, so the ``pyodide`` backend is exercised next to ``pure``.
One Pyodide boot runs every module; each module is then its own test item here.

    python scripts/build_pyodide_dist.py
    pytest tests/pyodide --runtime node --dist-dir build/pyodide-dist
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
#: modules that run in Pyodide; the rest need CPython (subprocesses, browsers, aiortc)
MODULES = ["test_did.py", "test_wire.py", "test_session.py", "test_crypto.py", "test_fuzz.py", "test_cli.py"]
SUPPORT = ["conftest.py", "_vectors.py", "_support.py", "vectors/vectors.json"]
PACKAGES = ["rings-web", "pytest", "pluggy", "iniconfig", "packaging", "pygments", "hypothesis", "sortedcontainers", "attrs", "tblib"]

RUNNER = """
import json, os, sys, io, contextlib
import pytest
os.environ["HYPOTHESIS_PROFILE"] = "pyodide"
sys.path.insert(0, "/tests")
results = {}
for module in json.loads(MODULES):
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:pytest_pyodide", "-o", "addopts=", "/tests/" + module])
    results[module] = {"code": int(code), "output": out.getvalue()[-6000:]}
from rings_web.crypto import default_backend
results["_backend"] = default_backend().name
json.dumps(results)
"""


@pytest.fixture(scope="module")
def in_pyodide(selenium_module_scope):
    sel = selenium_module_scope
    sel.load_package(PACKAGES)
    files = {name: (TESTS / name).read_text() for name in MODULES + SUPPORT if (TESTS / name).exists()}
    shim = (REPO / "js" / "crypto.mjs").as_uri()
    sel.run_js(f"""
        const files = {json.dumps(files)};
        pyodide.FS.mkdirTree("/tests/vectors");
        for (const [name, text] of Object.entries(files)) pyodide.FS.writeFile("/tests/" + name, text);
        const shim = await import({json.dumps(shim)});
        shim.registerCrypto(pyodide);
    """)
    present = [m for m in MODULES if m in files]
    return json.loads(sel.run(f"MODULES = {json.dumps(json.dumps(present))}\n" + RUNNER))


def test_crypto_backend_in_pyodide_is_the_js_shim(in_pyodide):
    assert in_pyodide["_backend"] == "pyodide"


@pytest.mark.parametrize("module", MODULES)
def test_module_passes_in_pyodide(in_pyodide, module):
    if module not in in_pyodide:
        pytest.skip(f"tests/{module} does not exist yet")
    result = in_pyodide[module]
    summary = result["output"].strip().splitlines()[-1:] or ["(no output)"]
    print(f"[pyodide] {module}: {summary[0]}")
    assert result["code"] == 0, result["output"]
