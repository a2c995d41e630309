"""Run the CPython suite's own test modules again inside Pyodide 314, in Node (pytest-pyodide).

    python scripts/build_pyodide_dist.py
    pytest tests/pyodide --runtime node --dist-dir build/pyodide-dist

One Pyodide boot (a module-scoped ``selenium`` fixture) serves every module: the dist's wheels
(rings-web, pytest, hypothesis) are loaded, the JS crypto shim (js/crypto.mjs) is registered,
tests/*.py and tests/vectors/ are copied into Pyodide's file system, and each top-level
``tests/test_*.py`` becomes one item here that runs ``pytest.main`` on that file inside Pyodide
and passes when its exit code is 0 (the in-Pyodide output is the failure message).

Opting out (see README.md): a module-level ``pytestmark = pytest.mark.cpython_only`` keeps a
whole module out of Pyodide (it is not even imported there, so it may import CPython-only
libraries); ``@pytest.mark.cpython_only`` on a test skips just that test inside Pyodide.
"""

from __future__ import annotations

import ast
import json
import zipfile
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent.parent
REPO = TESTS.parent
SRC = REPO / "src"
SHIM = REPO / "js" / "crypto.mjs"
PACKAGES = ["rings-web", "pytest", "hypothesis", "tblib"]  # the lock's depends bring the rest
FS_ROOT = "/tests"  # where the test files live inside Pyodide
MODULE_TIMEOUT = 900  # seconds one module may run inside Pyodide (pytest-pyodide's default is 20/60)


def opt_out_reason(path: Path) -> str | None:
    """The reason a module opts out of Pyodide, read from its source without importing it.

    A module opts out with a module-level ``pytestmark`` that mentions ``cpython_only``
    (alone or in a list), optionally ``pytest.mark.cpython_only(reason="...")``.
    """
    for node in ast.parse(path.read_text(), filename=str(path)).body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets) or node.value is None:
            continue
        for sub in ast.walk(node.value):
            if ast.unparse(sub).endswith("cpython_only"):
                return "cpython_only"
            if isinstance(sub, ast.Call) and ast.unparse(sub.func).endswith("cpython_only"):
                args = [k.value for k in sub.keywords if k.arg == "reason"] + sub.args[:1]
                reason = next((a.value for a in args if isinstance(a, ast.Constant)), None)
                return f"cpython_only: {reason}" if reason else "cpython_only"
    return None


def discover() -> list:
    params = []
    for path in sorted(TESTS.glob("test_*.py")):
        reason = opt_out_reason(path)
        marks = [pytest.mark.skip(reason=f"tests/{path.name} opts out of Pyodide ({reason})")] if reason else []
        params.append(pytest.param(path.name, marks=marks, id=path.name))
    return params


def files_to_copy() -> list[tuple[str, str]]:
    """(host path, Pyodide path): tests/*.py (modules, conftest, helpers) and tests/vectors/**."""
    files = [p for p in TESTS.glob("*.py") if not (p.name.startswith("test_") and opt_out_reason(p))]
    files += [p for p in (TESTS / "vectors").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    return [(str(p), f"{FS_ROOT}/{p.relative_to(TESTS).as_posix()}") for p in sorted(files)]


def stale_sources(wheel: Path) -> list[str]:
    """Python files of rings_web whose bytes differ between src/ and the dist's wheel."""
    with zipfile.ZipFile(wheel) as zf:
        shipped = {n: zf.read(n) for n in zf.namelist() if n.startswith("rings_web/") and n.endswith(".py")}
    current = {
        p.relative_to(SRC).as_posix(): p.read_bytes()
        for p in (SRC / "rings_web").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    return sorted(n for n in shipped.keys() | current.keys() if shipped.get(n) != current.get(n))


def check_dist(dist: Path) -> None:
    """Skip when no dist was given, fail loudly when the given one is incomplete or stale."""
    rebuild = "run `python scripts/build_pyodide_dist.py`"
    if not (dist / "pyodide.asm.wasm").exists():
        if dist == Path("pyodide").resolve():  # pytest-pyodide's default: --dist-dir not given
            pytest.skip(f"no Pyodide dist: {rebuild}, then pass --dist-dir build/pyodide-dist")
        pytest.fail(f"{dist} is not a Pyodide dist: {rebuild}", pytrace=False)
    lock = json.loads((dist / "pyodide-lock.json").read_text())["packages"]
    missing = [p for p in PACKAGES if p not in lock or not (dist / lock[p]["file_name"]).exists()]
    if missing:
        pytest.fail(f"{dist} does not ship {missing}: {rebuild}", pytrace=False)
    stale = stale_sources(dist / lock["rings-web"]["file_name"])
    if stale:
        pytest.fail(f"{dist} holds an old rings-web wheel (differs in {', '.join(stale[:8])}): {rebuild}", pytrace=False)


SETUP = """
import contextlib, io, json, os, sys, time
import pytest
from hypothesis import settings

# Fewer examples and no deadline inside Pyodide (2-4x slower than CPython). Modules that load a
# profile from HYPOTHESIS_PROFILE get "pyodide" too (they may register their own under that name).
os.environ["HYPOTHESIS_PROFILE"] = "pyodide"
settings.register_profile("pyodide", max_examples=50, deadline=None, database=None)
settings.load_profile("pyodide")


class PyodidePlugin:
    def pytest_configure(self, config):
        config.addinivalue_line("markers", "cpython_only: skipped inside Pyodide")

    def pytest_collection_modifyitems(self, items):
        skip = pytest.mark.skip(reason="cpython_only: skipped inside Pyodide")
        for item in items:
            if item.get_closest_marker("cpython_only"):
                item.add_marker(skip)


def run_module(name):
    out = io.StringIO()
    start = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        code = pytest.main(
            ["-q", "-ra", "--color=no", "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", ROOT,
             "--hypothesis-profile", "pyodide", f"{ROOT}/{name}",
             # pytest sessions share this interpreter: plugins imported by an earlier one
             # (hypothesis) cannot be assertion-rewritten again, which is harmless
             "-W", "ignore::pytest.PytestAssertRewriteWarning"],
            plugins=[PyodidePlugin()],
        )
    return json.dumps({"code": int(code), "output": out.getvalue(), "seconds": round(time.perf_counter() - start, 2)})
"""


class InPyodide:
    """One booted Pyodide with the dist's wheels, the crypto shim and the test files."""

    def __init__(self, selenium):
        self.selenium = selenium
        selenium.set_script_timeout(MODULE_TIMEOUT)
        if hasattr(selenium, "p"):  # NodeRunner: pexpect's own 60 s timeout also bounds each call
            selenium.p.timeout = MODULE_TIMEOUT
        selenium.load_package(PACKAGES)
        selenium.run_js(f"""
            if (typeof require === "undefined") throw new Error("tests/pyodide needs --runtime node");
            const fs = require("fs");
            for (const [src, dst] of {json.dumps(files_to_copy())}) {{
                pyodide.FS.mkdirTree(dst.slice(0, dst.lastIndexOf("/")));
                pyodide.FS.writeFile(dst, fs.readFileSync(src));
            }}
        """)
        self.shim = SHIM.exists()
        if self.shim:
            selenium.run_js(f"await (await import({json.dumps(SHIM.as_uri())})).registerCrypto(pyodide);")
        else:
            print(f"note: {SHIM.relative_to(REPO)} not found: running without the JS crypto shim")
        shim = "JS crypto shim registered" if self.shim else "no JS crypto shim"
        selenium.run(f"ROOT = {FS_ROOT!r}\nimport os, sys; sys.path.insert(0, ROOT); os.chdir(ROOT)\n" + SETUP)
        self.versions = selenium.run("import pyodide, pytest, hypothesis; "
                                     "f'Pyodide {pyodide.__version__}, Python {sys.version.split()[0]}, "
                                     "pytest {pytest.__version__}, hypothesis {hypothesis.__version__}'") + f", {shim}"

    def run_module(self, name: str) -> dict:
        return json.loads(self.selenium.run(f"run_module({name!r})"))


@pytest.fixture(scope="module")
def in_pyodide(request, runtime):
    if runtime != "node":
        pytest.skip("tests/pyodide runs with --runtime node only")
    check_dist(request.config.option.dist_dir)
    return InPyodide(request.getfixturevalue("selenium_module_scope"))


@pytest.mark.parametrize("module", discover())
def test_module_passes_in_pyodide(in_pyodide, module, record_property):
    result = in_pyodide.run_module(module)
    lines = result["output"].strip().splitlines() or ["(no output)"]
    summary = f"tests/{module}: {lines[-1]}  [{result['seconds']:.1f} s in Pyodide]"
    record_property("pyodide_summary", summary)
    record_property("pyodide_versions", in_pyodide.versions)
    print(summary)
    assert result["code"] == 0, f"pytest exited {result['code']} inside Pyodide:\n{result['output']}"


def test_crypto_backend_in_pyodide_is_the_js_shim(in_pyodide):
    if not in_pyodide.shim:
        pytest.skip(f"{SHIM.relative_to(REPO)} not found")
    backend = in_pyodide.selenium.run("from rings_web.crypto import default_backend; default_backend().name")
    assert backend == "pyodide"
