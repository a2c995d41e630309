"""The bytecode shipped for the browser (scripts/pyodide_compile.mjs) is this Pyodide's bytecode of
the sources it stands for: zipimport and the standard library's zip read a ``.pyc`` without
checking it (unchecked-hash, PEP 552), so a stale or foreign one would run other code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from test_in_pyodide import check_dist

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import importlib.util, json, zipfile

UNCHECKED = (1).to_bytes(4, "little")  # flags: hash-based, source not checked


def header_problems(name, pyc, source=None):
    problems = []
    if pyc[:4] != importlib.util.MAGIC_NUMBER:
        problems.append(f"{name}: another Python's bytecode")
    if pyc[4:8] != UNCHECKED:
        problems.append(f"{name}: not an unchecked-hash .pyc")
    if source is not None and pyc[8:16] != importlib.util.source_hash(source):
        problems.append(f"{name}: compiled from other source")
    return problems


def check_wheel(path):
    z = zipfile.ZipFile(path)
    names = set(z.namelist())
    modules = [n for n in names if n.endswith(".py") and ".dist-info/" not in n]
    problems = [f"{n}: no .pyc beside it" for n in modules if n + "c" not in names]
    for n in modules:
        if n + "c" in names:
            problems += header_problems(n + "c", z.read(n + "c"), z.read(n))
    record = next(n for n in names if n.endswith(".dist-info/RECORD"))
    listed = {line.split(",")[0] for line in z.read(record).decode().splitlines()}
    problems += [f"{n}: not in RECORD" for n in names - listed]
    return {"modules": len(modules), "problems": problems}


def check_stdlib(path, sources):
    ours, original = zipfile.ZipFile(path), zipfile.ZipFile(sources)
    names = set(ours.namelist())
    problems = [f"{n}: source shipped" for n in names if n.endswith(".py")]
    py = [n for n in original.namelist() if n.endswith(".py")]
    problems += [f"{n}: no .pyc" for n in py if n + "c" not in names]
    for n in py:
        if n + "c" in names:
            problems += header_problems(n + "c", ours.read(n + "c"), original.read(n))
    return {"modules": len(py), "problems": problems}
"""


def test_shipped_bytecode_is_this_pyodides_bytecode_of_the_sources(selenium_standalone, runtime, request):
    if runtime != "node":
        pytest.skip("reads the files with Node's fs; the bytes and the interpreter are the same in Chromium")
    dist = Path(request.config.option.dist_dir).resolve()
    check_dist(dist)
    package = REPO / "dist"
    if not (package / "python_stdlib.zip").exists():
        pytest.fail("dist/ has no python_stdlib.zip: run `npm run build`", pytrace=False)
    lock = json.loads((dist / "pyodide-lock.json").read_text())["packages"]
    package_lock = json.loads((package / "pyodide-lock.json").read_text())["packages"]
    files = {"test-wheel": dist / lock["rings-web"]["file_name"],
             "package-wheel": package / package_lock["rings-web"]["file_name"],
             "stdlib": package / "python_stdlib.zip"}
    selenium = selenium_standalone
    for name, path in files.items():
        selenium.run_js(f"pyodide.FS.writeFile('/tmp/{name}', require('fs').readFileSync({json.dumps(str(path))}));")
    got = json.loads(selenium.run(CHECK + """
import sys
json.dumps({"test-wheel": check_wheel("/tmp/test-wheel"), "package-wheel": check_wheel("/tmp/package-wheel"),
            # the dist's Pyodide runs from the npm package's own standard library (sources)
            "stdlib": check_stdlib("/tmp/stdlib", f"/lib/python{sys.version_info[0]}{sys.version_info[1]}.zip")})
"""))
    for name, result in got.items():
        assert result["problems"] == [], name
        assert result["modules"] > 50, name  # rings_web has ~70 modules, the standard library ~560
