"""The JS surface is the same in its three places: ``js/index.d.ts`` (the types), ``RingsNode``
in ``js/index.mjs`` (the camelCase wrapper) and ``rings_web.browser.JsBridge`` (what serves
it), with the events of ``rings_web.api_events``.

Read from the sources (``JsBridge`` imports Pyodide's ``js`` module, so it is read with
``ast``): every method in one place is in the others with as many parameters, and each event of
``Events`` in index.d.ts is a Python event whose JSON form has exactly the declared fields.
"""

from __future__ import annotations

import ast
import re
import uuid
from pathlib import Path

import pytest

from rings_web.api_events import EVENT_NAMES, EVENTS, AccountsChanged, Message, PayloadRejection, PeerConnect, \
    PeerDisconnect, PeerFailed, Progress
from rings_web.did import Did
from rings_web.errors import DecodeError

pytestmark = pytest.mark.cpython_only(reason="reads js/, which tests/pyodide does not copy into Pyodide")
REPO = Path(__file__).resolve().parent.parent
DTS = (REPO / "js" / "index.d.ts").read_text()
MJS = (REPO / "js" / "index.mjs").read_text()
BROWSER = (REPO / "src" / "rings_web" / "browser" / "bridge.py").read_text()


def block(source: str, header: str) -> str:
    """The body of the ``{ … }`` block that follows ``header``."""
    start = source.index(header) + len(header)
    start = source.index("{", start) + 1
    depth, i = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(source[i], 0)
        i += 1
    return source[start:i - 1]


def top_level(text: str) -> list[str]:
    """``text`` split at commas outside brackets."""
    parts, depth, current = [], 0, ""
    for ch in text:
        depth += (ch in "([{<") - (ch in ")]}>" and not current.endswith("="))  # "=>" is no bracket
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    return [p for p in parts + [current.strip()] if p]


def dts_methods() -> dict[str, int]:
    body = re.sub(r"/\*\*.*?\*/", "", block(DTS, "export declare class RingsNode"), flags=re.S)
    found = {}
    for m in re.finditer(r"^\s*(\w+)(?:<[^>]*>)?\((.*)\):", body, re.M):
        found[m.group(1)] = len(top_level(m.group(2)))
    return found


def mjs_methods() -> dict[str, str | None]:
    """RingsNode's methods → the JsBridge method each calls (None: served in JS)."""
    table = dict(re.findall(r'(\w+): "(\w+)"', block(MJS, "const METHODS =")))
    body = block(MJS, "export class RingsNode")
    own = {m for m in re.findall(r"^  (\w+)\(", body, re.M) if m != "constructor"}
    assert not own & set(table)
    return {**table, **dict.fromkeys(own)}


def browser_methods() -> dict[str, int]:
    """JsBridge's public methods (``invoke``, the door itself, aside) → parameter count."""
    cls = next(n for n in ast.parse(BROWSER).body if isinstance(n, ast.ClassDef) and n.name == "JsBridge")
    found = {}
    for fn in cls.body:
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and not fn.name.startswith("_") \
                and fn.name != "invoke" and not fn.decorator_list:
            found[fn.name] = len(fn.args.args) - 1 + (fn.args.vararg is not None)
    return found


def test_every_method_is_declared_wrapped_and_served():
    declared, wrapped, served = dts_methods(), mjs_methods(), browser_methods()
    assert set(declared) == set(wrapped), "index.d.ts RingsNode vs index.mjs RingsNode"
    for name, python in wrapped.items():
        if python is not None:
            assert python in served, f"{name} calls JsBridge.{python}, which does not exist"
            assert declared[name] == served[python], \
                f"{name}: {declared[name]} parameters in index.d.ts, {served[python]} in JsBridge.{python}"
    called = {python for python in wrapped.values() if python}
    called |= set(re.findall(r'py\.invoke\("(\w+)"', MJS))  # createNode's own calls (the wallet's events)
    assert set(served) == called, "JsBridge methods that index.mjs never calls, or the reverse"


def test_on_and_off_are_the_only_methods_not_served_by_python():
    assert {name for name, python in mjs_methods().items() if python is None} == {"on", "off"}


def declared_fields(type_text: str) -> set[str]:
    type_text = type_text.strip()
    if not type_text.startswith("{"):  # a named interface
        type_text = "{" + block(DTS, f"export interface {type_text} ") + "}"
    body = re.sub(r"/\*\*.*?\*/", "", type_text.strip()[1:-1], flags=re.S)
    return {m.group(1) for m in re.finditer(r"(?:^|[;{\n])\s*\"?([\w:]+)\"?\??:", body)}


def test_events_are_the_python_events_with_their_json_fields():
    body = re.sub(r"/\*\*.*?\*/", "", block(DTS, "export interface Events"), flags=re.S)
    declared = {m.group(1) or m.group(2): m.group(3).rstrip(";")
                for m in re.finditer(r'^\s*(?:"([^"]+)"|(\w+)):\s*(.+)$', body, re.M)}
    assert set(declared) == set(EVENT_NAMES)
    did = Did.parse("0x" + "12" * 20)
    samples = [Message(did, uuid.uuid4(), 2, b"hi", (did,), bytes(36)), PeerConnect(did), PeerDisconnect(did),
               PeerFailed(did, "ICE failed"),
               PayloadRejection(DecodeError("bad")), Progress("python", 0, warm=True), AccountsChanged((did.hex(),), did)]
    assert {type(e) for e in samples} == set(EVENTS)
    for event in samples:
        assert set(event.to_json()) == declared_fields(declared[event.name]), event.name


def test_the_js_modules_keep_no_event_names_of_their_own():
    for module in ("index.mjs", "testnet.mjs"):  # the node, and the test network's page that records events
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", (REPO / "js" / module).read_text(), flags=re.S)  # @example names some
        for name in EVENT_NAMES:
            assert f'"{name}"' not in code and f"'{name}'" not in code, f"{name} is spelled out in {module}"
