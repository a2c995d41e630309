"""Build an offline Pyodide 314 distribution in build/pyodide-dist (no CDN needed).

What it does, every step idempotent (files are only rewritten when their bytes change):

1. copies the core files of the npm ``pyodide`` package (node_modules/pyodide, pinned below);
2. builds the rings-web wheel (``py3-none-any``) from a clean copy of the project, with a fixed
   SOURCE_DATE_EPOCH so the same source gives the same bytes (and the same sha256), and adds
   each module's bytecode for Pyodide's CPython (scripts/pyodide_compile.mjs: a page then
   imports without compiling; same source → same bytes);
3. fetches the pure-Python wheels the in-Pyodide test run needs (pytest, hypothesis, their
   dependencies, tblib, micropip) from PyPI with the host pip, into build/wheel-cache/, and checks each
   against the sha256 pinned here;
4. writes ``pyodide-lock.json`` = the npm lock's ``info`` block + entries for exactly the
   wheels shipped, with their real sha256 and their ``depends``. The npm lock's other ~357
   packages live on a CDN that is unreachable here: a listed-but-missing package makes
   ``loadPackage`` resolve to [] after a "fetch failed" message instead of throwing, and
   Chromium enforces the hashes.

Usage: python scripts/build_pyodide_dist.py [--out build/pyodide-dist]
Then:  pytest tests/pyodide --runtime node --dist-dir build/pyodide-dist

With ``--package`` it writes what the npm package ships instead (``npm run build``): only the
rings-web wheel, a lock listing only it and Pyodide's standard library as bytecode
(``python_stdlib.zip``, which ``js/boot.mjs`` loads instead of Pyodide's sources), in dist/ —
Pyodide itself comes from the ``pyodide`` npm dependency (or a CDN ``indexURL``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

try:
    from packaging.markers import Marker
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name, parse_wheel_filename
except ImportError:  # a bare interpreter: pip carries its own copy
    from pip._vendor.packaging.markers import Marker
    from pip._vendor.packaging.requirements import Requirement
    from pip._vendor.packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parent.parent
NPM = ROOT / "node_modules" / "pyodide"
PYODIDE_VERSION = "314.0.7"  # package.json pins the same; its wheels are tagged cp314/pyemscripten_2026_0
# The six files pytest-pyodide's --dist-dir needs are these five plus the lock we write. package.json
# is copied too: it keeps pyodide.js CommonJS wherever the dist dir ends up.
CORE = ["pyodide.js", "pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip", "package.json"]

# The in-Pyodide test stack: name -> (version, sha256 of the PyPI wheel). All pure wheels.
# hypothesis is held at 6.155.7, the last release with a py3-none-any wheel: later ones ship only
# per-platform wheels with a native extension (pyemscripten_2026_0 included), which we keep out of
# the dist (memory snapshots break with native extensions; the browser node is pure Python).
# attrs is no longer a hypothesis dependency.
PINS = {
    "pytest": ("9.1.1", "37a86b45efb9a47a61a36449063e8e18d0cab3161329fc099eb21783169c4f0c"),
    "pluggy": ("1.7.0", "7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec"),
    "iniconfig": ("2.3.1", "9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7"),
    "packaging": ("26.3", "d7193f7c8e4e93f444fde0262bf90af30e16fa0ad0ad44cb553c87339b23cd1c"),
    "pygments": ("2.21.0", "2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9"),
    "hypothesis": ("6.155.7", "9f634bdb1f9e9b8ab6ba09431cf2deedb750c96978125a6fb3c5a0f6c6db4131"),
    "sortedcontainers": ("2.4.0", "a163dcaede0f1c021485e957a39245190e74249897e2ae4b2aa38595db237ee0"),
    # pytest-pyodide's @run_in_pyodide loads it (when listed) to carry tracebacks back to the host
    "tblib": ("3.2.2", "26bdccf339bcce6a88b2b5432c988b266ebbe63a4e593f6b578b1d2e723d2b76"),
    # a plain Pyodide installs the rings-web wheel with it (tests/pyodide/test_micropip.py); no dependencies
    "micropip": ("0.11.1", "768de165adb8e66906039d8fec4127a57f522dfdf8e6fbff877a4616941ecfd3"),
}
PIP_TARGET = ["--only-binary=:all:", "--python-version", "3.14", "--implementation", "cp",
              "--abi", "cp314", "--abi", "abi3", "--abi", "none",
              "--platform", "pyemscripten_2026_0_wasm32", "--platform", "any"]
# Fixed wheel timestamps (2020-01-01): a rebuild of unchanged sources is byte-identical.
SOURCE_DATE_EPOCH = "1577836800"
# The project files a wheel is built from (a clean copy: setuptools' build/lib keeps deleted modules).
PROJECT_FILES = ["pyproject.toml", "README.md", "LICENSE", "src"]


class BuildError(Exception):
    pass


def run(*cmd: str, **kw) -> None:
    print("  +", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode:
        raise BuildError(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout}{proc.stderr}")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def install(src: Path, dest: Path) -> str:
    """Copy src to dest unless dest already has the same bytes; say which."""
    if dest.exists() and dest.read_bytes() == src.read_bytes():
        return "unchanged"
    shutil.copyfile(src, dest)
    return "updated"


def copy_core(out: Path) -> None:
    version = json.loads((NPM / "package.json").read_text())["version"]
    if version != PYODIDE_VERSION:
        raise BuildError(f"node_modules/pyodide is {version}, this script expects {PYODIDE_VERSION}: run `npm ci`")
    for name in CORE:
        print(f"core   {name:<44} {install(NPM / name, out / name)}")


# The JS shim's wasm crypto (npm run build puts it in dist/): served with the test dist so that
# in-Pyodide tests in Chromium, whose page only sees this directory, can load it too.
FAST_CRYPTO = ["fast-crypto.mjs", "secp256k1.wasm", "libsecp256k1.wasm"]


def copy_fast_crypto(out: Path) -> None:
    for name in FAST_CRYPTO:
        src = ROOT / "dist" / name
        if not src.exists():
            print(f"js     {name:<44} missing: run `npm run build` first (tests fall back to @noble)")
            continue
        print(f"js     {name:<44} {install(src, out / name)}")


def fetch_pinned(cache: Path) -> list[Path]:
    """Return the pinned wheels from the cache, downloading the missing ones with the host pip."""
    cache.mkdir(parents=True, exist_ok=True)

    def cached(name: str) -> Path | None:
        version, digest = PINS[name]
        for path in cache.glob("*.whl"):
            wname, wversion, _, _ = parse_wheel_filename(path.name)
            if wname == name and str(wversion) == version:
                if sha256(path) == digest:
                    return path
                path.unlink()  # a corrupt or substituted download: fetch again
        return None

    missing = [f"{name}=={PINS[name][0]}" for name in PINS if cached(name) is None]
    if missing:
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            run(sys.executable, "-m", "pip", "download", "-q", "--no-deps", *PIP_TARGET, "-d", tmp, *missing)
            for path in Path(tmp).glob("*.whl"):
                path.replace(cache / path.name)
    wheels = []
    for name, (version, digest) in PINS.items():
        path = cached(name)
        if path is None:
            got = [p.name for p in cache.glob(f"{name}-*.whl")]
            raise BuildError(f"{name}=={version}: no wheel with sha256 {digest} in {cache} (have {got})")
        if not path.name.endswith("-none-any.whl"):
            raise BuildError(f"{path.name} is not a pure wheel")
        how = "downloaded" if f"{name}=={version}" in missing else "cached"
        print(f"pypi   {path.name:<44} {how}, sha256 ok")
        wheels.append(path)
    return wheels


def pyodide_compile(what: str, source: Path | None, dest: Path, cache: Path) -> str:
    """scripts/pyodide_compile.mjs ``what`` (wheel|stdlib) into dest, through a cache keyed by the
    input's sha256 and the Pyodide version (a run loads Pyodide in Node: ~5 s)."""
    key = hashlib.sha256(f"{what} {PYODIDE_VERSION} ".encode() + (source or NPM / "python_stdlib.zip").read_bytes()
                         + (ROOT / "scripts" / "pyodide_compile.mjs").read_bytes()).hexdigest()[:24]
    cached = cache / "pyc" / f"{what}-{key}"
    if not cached.exists():
        cached.parent.mkdir(parents=True, exist_ok=True)
        for old in cached.parent.glob(f"{what}-*"):
            old.unlink()
        run("node", str(ROOT / "scripts" / "pyodide_compile.mjs"), what, *([str(source)] if source else []),
            str(cached) + ".tmp", cwd=ROOT)
        Path(str(cached) + ".tmp").replace(cached)
    return install(cached, dest)


def build_rings_web(out: Path, cache: Path) -> Path:
    """Build the rings-web wheel from a clean copy of the project, add its bytecode; install it into out."""
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "project"
        src.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
        for name in PROJECT_FILES:
            path = ROOT / name
            if path.is_dir():
                shutil.copytree(path, src / name, ignore=ignore)
            elif path.exists():
                shutil.copy2(path, src / name)
        env = dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH, PIP_DISABLE_PIP_VERSION_CHECK="1")
        run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(Path(tmp) / "dist"), str(src), env=env)
        built = list((Path(tmp) / "dist").glob("*.whl"))
        if len(built) != 1 or not built[0].name.endswith("-py3-none-any.whl"):
            raise BuildError(f"expected one py3-none-any wheel, got {[p.name for p in built]}")
        wheel = built[0]
        for old in out.glob("rings_web-*.whl"):
            if old.name != wheel.name:
                old.unlink()
        print(f"build  {wheel.name:<44} {pyodide_compile('wheel', wheel, out / wheel.name, cache)}, with bytecode")
        return out / wheel.name


def pyodide_marker_env(python: str) -> dict[str, str]:
    return {
        "python_version": ".".join(python.split(".")[:2]), "python_full_version": python,
        "sys_platform": "emscripten", "platform_system": "Emscripten", "platform_machine": "wasm32",
        "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
        "extra": "",
    }


def lock_entry(wheel: Path, marker_env: dict[str, str]) -> dict:
    name, version, _, _ = parse_wheel_filename(wheel.name)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = next(n for n in names if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        metadata = zf.read(meta).decode()
    tops = set()
    for n in names:
        top = n.split("/")[0]
        if top.endswith((".dist-info", ".data")):
            continue
        if "/" in n:
            tops.add(top)
        elif n.endswith(".py"):
            tops.add(top.removesuffix(".py"))
    depends = []
    for line in metadata.splitlines():
        if line.startswith("Requires-Dist:"):
            req = Requirement(line.split(":", 1)[1].strip())
            if req.marker is None or Marker(str(req.marker)).evaluate(marker_env):
                depends.append(canonicalize_name(req.name))
    return {
        "name": str(name), "version": str(version), "file_name": wheel.name,
        "install_dir": "site", "sha256": sha256(wheel), "package_type": "package",
        "imports": sorted(t for t in tops if t.isidentifier()), "depends": sorted(depends),
        "unvendored_tests": False, "shared_library": False,
    }


def write_lock(out: Path, wheels: list[Path], stdlib: Path | None = None) -> None:
    """pyodide-lock.json = the npm lock's info block + exactly the wheels shipped in ``out`` (+ the
    compiled ``stdlib``'s sha256 where one ships: part of the boot snapshot's key, since a
    snapshot holds zipimport's table of that very zip)."""
    info = json.loads((NPM / "pyodide-lock.json").read_text())["info"]
    marker_env = pyodide_marker_env(info["python"])
    packages = {e["name"]: e for e in (lock_entry(w, marker_env) for w in wheels)}
    for entry in packages.values():
        unmet = [d for d in entry["depends"] if d not in packages]
        if unmet:
            raise BuildError(f"{entry['file_name']} depends on {unmet}, which the dist does not ship: pin them in PINS")
    extra = {"stdlib": {"file_name": stdlib.name, "sha256": sha256(stdlib)}} if stdlib else {}
    lock = json.dumps({"info": info, "packages": dict(sorted(packages.items())), **extra}, indent=1, sort_keys=True) + "\n"
    lock_path = out / "pyodide-lock.json"
    state = "unchanged" if lock_path.exists() and lock_path.read_text() == lock else "updated"
    lock_path.write_text(lock)
    print(f"lock   {'pyodide-lock.json':<44} {state}: {len(packages)} packages")
    for e in packages.values():
        print(f"         {e['name']:<17} {e['version']:<9} sha256 {e['sha256'][:12]}…  depends {e['depends']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="dist dir (default: build/pyodide-dist, or dist with --package)")
    ap.add_argument("--cache", default=str(ROOT / "build" / "wheel-cache"), help="PyPI wheel cache (default: %(default)s)")
    ap.add_argument("--package", action="store_true", help="only the rings-web wheel and its lock (the npm package's dist/)")
    args = ap.parse_args()
    out = Path(args.out or ROOT / ("dist" if args.package else "build/pyodide-dist")).resolve()
    cache = Path(args.cache).resolve()
    if not (NPM / "pyodide.asm.wasm").exists():
        raise BuildError("node_modules/pyodide is missing: run `npm ci` first")
    out.mkdir(parents=True, exist_ok=True)
    print(f"Pyodide {PYODIDE_VERSION} {'package' if args.package else 'offline'} dist -> {out}")

    wheels = [build_rings_web(out, cache)]
    if args.package:
        print(f"pyc    {'python_stdlib.zip':<44} {pyodide_compile('stdlib', None, out / 'python_stdlib.zip', cache)}")
    else:
        copy_core(out)
        copy_fast_crypto(out)
        for path in fetch_pinned(cache):
            install(path, out / path.name)
            wheels.append(out / path.name)
    shipped = {w.name for w in wheels}
    for stale in out.glob("*.whl"):
        if stale.name not in shipped:
            stale.unlink()
            print(f"remove {stale.name:<44} (no longer shipped)")
    write_lock(out, wheels, out / "python_stdlib.zip" if args.package else None)
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"done: {out} ({size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BuildError as exc:
        print(f"build_pyodide_dist: error: {exc}", file=sys.stderr)
        sys.exit(1)
