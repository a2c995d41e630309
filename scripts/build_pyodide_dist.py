"""Build an offline Pyodide distribution in build/pyodide-dist (no CDN needed).

Copies the core files of the npm ``pyodide`` package, builds the rings-web wheel, fetches
the pure-Python wheels the in-Pyodide test run needs (pytest, hypothesis and their
dependencies) from PyPI with the host pip, and writes a ``pyodide-lock.json`` that lists
exactly the wheels shipped, with their real sha256 (Pyodide resolves a listed but missing
package to nothing, and Chromium enforces the hashes).

Usage: python scripts/build_pyodide_dist.py [--out build/pyodide-dist]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ["pyodide.js", "pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "package.json"]
# name==version: the in-Pyodide test stack (all pure-Python wheels from PyPI)
TEST_WHEELS = [
    "pytest==9.0.2", "pluggy==1.6.0", "iniconfig==2.3.0", "packaging==26.1", "pygments==2.19.2",
    "hypothesis==6.148.7", "sortedcontainers==2.4.0", "attrs==26.1.0", "tblib==3.2.2", "micropip==0.11.1",
]


def run(*cmd: str) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def fetch_wheels(cache: Path) -> list[Path]:
    cache.mkdir(parents=True, exist_ok=True)
    missing = [spec for spec in TEST_WHEELS if not list(cache.glob(_glob(spec)))]
    if missing:
        run(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--python-version", "3.14",
            "--implementation", "cp", "--abi", "cp314", "--abi", "abi3", "--abi", "none",
            "--platform", "pyemscripten_2026_0_wasm32", "--platform", "any", "-d", str(cache), *missing)
    return [next(cache.glob(_glob(spec))) for spec in TEST_WHEELS]


def _glob(spec: str) -> str:
    name, version = spec.split("==")
    return f"{name.replace('-', '_')}-{version}-*.whl"


def build_wheel(out: Path) -> Path:
    for old in out.glob("rings_web-*.whl"):
        old.unlink()
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT))
    return next(out.glob("rings_web-*-py3-none-any.whl"))


def lock_entry(wheel: Path) -> dict:
    name, version = wheel.name.split("-")[:2]
    with zipfile.ZipFile(wheel) as zf:
        tops = {n.split("/")[0] for n in zf.namelist() if not n.split("/")[0].endswith((".dist-info", ".data"))}
    imports = sorted(t.removesuffix(".py") for t in tops if "." not in t.removesuffix(".py"))
    return {
        "name": name.replace("_", "-").lower(), "version": version, "file_name": wheel.name,
        "install_dir": "site", "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
        "package_type": "package", "imports": imports, "depends": [], "unvendored_tests": False,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "pyodide-dist"))
    out = Path(ap.parse_args().out)
    npm = ROOT / "node_modules" / "pyodide"
    if not (npm / "pyodide.asm.wasm").exists():
        print("node_modules/pyodide is missing: run `npm install` first", file=sys.stderr)
        return 1
    out.mkdir(parents=True, exist_ok=True)
    for name in CORE:
        shutil.copy2(npm / name, out / name)
    wheels = [build_wheel(out)]
    for wheel in fetch_wheels(ROOT / "build" / "wheel-cache"):
        shutil.copy2(wheel, out / wheel.name)
        wheels.append(out / wheel.name)
    info = json.loads((npm / "pyodide-lock.json").read_text())["info"]
    lock = {"info": info, "packages": {e["name"]: e for e in map(lock_entry, wheels)}}
    (out / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    print(f"wrote {out} with {len(wheels)} wheels: {', '.join(sorted(lock['packages']))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
