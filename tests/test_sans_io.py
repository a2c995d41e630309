"""The protocol core stays sans-IO: no clock, no randomness, no sockets, no browser in its imports."""

import ast
from pathlib import Path

import pytest

import rings_web

# the installed package: src/ on CPython (editable), the wheel's copy inside Pyodide (no src/ there)
CORE = Path(rings_web.__file__).resolve().parent
CORE_DIRS = ["wire", "session", "message", "dht", "engine"]
FORBIDDEN_MODULES = {"asyncio", "socket", "time", "js", "pyodide", "aiortc", "aioice", "sqlite3", "threading"}
FORBIDDEN_CALLS = {("os", "urandom"), ("time", "time"), ("random", "random"), ("random", "randbytes"), ("uuid", "uuid4")}


def core_files():
    return sorted(p for d in CORE_DIRS for p in (CORE / d).glob("*.py"))


def test_every_core_package_is_checked():
    assert {p.parent.name for p in core_files()} == set(CORE_DIRS), f"core modules not found under {CORE}"


@pytest.mark.parametrize("path", core_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_core_module_does_no_io(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [(node.module or "").split(".")[0]]
        else:
            names = []
        assert not FORBIDDEN_MODULES & set(names), f"{path.name} imports {names}"
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            assert (node.func.value.id, node.func.attr) not in FORBIDDEN_CALLS, f"{path.name} calls {node.func.value.id}.{node.func.attr}"


def imported_modules(path: Path) -> set[str]:
    """The absolute names of the modules ``path`` imports from (relative imports resolved)."""
    package = path.relative_to(CORE.parent).with_suffix("").parts[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            names.update([module] if node.module else [f"{module}.{a.name}" for a in node.names])
    return names


@pytest.mark.skipif(not (CORE / "sim").is_dir(), reason="reads src/ (inside Pyodide only the wheel is there)")
def test_only_the_simulation_tooling_imports_it():
    """What runs real nodes (the browser's boot, the native node, the drivers) never loads
    rings_web.sim; the wheel may still carry it."""
    for path in sorted(CORE.rglob("*.py")):
        if path.relative_to(CORE).parts[0] == "sim":
            continue
        sim = {m for m in imported_modules(path) if m == "rings_web.sim" or m.startswith("rings_web.sim.")}
        assert not sim, f"{path.relative_to(CORE)} imports {sim}"
    assert "rings_web.sim.simulator" in imported_modules(CORE / "sim" / "parallel.py")  # the check sees imports
