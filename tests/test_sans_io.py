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
