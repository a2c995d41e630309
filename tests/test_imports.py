"""No import cycle anywhere in src/rings_web: module-level and function-level imports both count.

The graph is built from the source with ``ast`` (nothing is imported): ``import a.b`` and
``from a import b`` are edges to the module ``a.b`` when that module exists, else to ``a``;
relative imports resolve against the importing module's package.  Imports under
``if TYPE_CHECKING:`` are left out: they never run (the engine's parts name ``Engine`` in their
type hints that way, while ``Engine`` builds them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.cpython_only(reason="reads src/, which tests/pyodide does not copy into Pyodide")

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "rings_web"


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _runtime_nodes(tree: ast.AST):
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            stem = ".".join(base + ([node.module] if node.module else []))
            candidates = [f"{stem}.{alias.name}" for alias in node.names] + [stem]
            candidates = [c for c in candidates if c in known] or [stem]
        else:
            continue
        for candidate in candidates:
            while candidate and candidate not in known:  # "a.b.Class" -> "a.b"
                candidate = candidate.rpartition(".")[0]
            if candidate and candidate != name:
                targets.add(candidate)
    return targets


def graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_the_finder_sees_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_function_level_and_relative_imports():
    edges = graph()
    assert "rings_web.did" in edges["rings_web.client"]
    assert "rings_web.errors" in edges["rings_web.wire.buffer"]
    # links.py names Engine under TYPE_CHECKING only; core.py imports links for real
    assert "rings_web.engine.links" in edges["rings_web.engine.core"]
    assert "rings_web.engine.core" not in edges["rings_web.engine.links"]


def test_no_import_cycle_in_rings_web():
    cycle = find_cycle(graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
