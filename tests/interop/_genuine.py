"""The genuine Rings 0.2.5 client in headless Chromium, driven over genuine.mjs's JSON lines.

Used by the ``genuine`` fixture (conftest.py) and by bench/bench_interop.py.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

from _support import only_loopback, wait_until
from rings_web.message.payload import decode_payload
from rings_web.wire.chunk import decode_frame
from rings_web.wire.types import MessagePayload

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
ORACLE = Path(os.environ.get("RINGS_ORACLE_DIR", HERE / "oracle"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def missing_requirement() -> str | None:
    if not only_loopback():
        return "browser tests run only in a loopback-only network namespace; see tests/interop/README.md"
    if not shutil.which("node"):
        return "node is not installed"
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (ORACLE / "oracle.js").exists():
        return f"the 0.2.5 oracle is not at {ORACLE} (set RINGS_ORACLE_DIR)"
    if not (REPO / "node_modules" / "@ringsnetwork" / "rings-node").exists():
        return "node_modules lacks @ringsnetwork/rings-node (npm install)"
    return None


class Genuine:
    """JSON-lines client of genuine.mjs; every call is bounded by ``timeout`` seconds.

    ``prefix`` runs genuine.mjs (and so its Chromium) under a command, e.g. ``nsenter`` into a
    NAT lab's namespace.
    """

    def __init__(self, prefix: tuple[str, ...] = ()) -> None:
        self.proc = subprocess.Popen([*prefix, "node", str(HERE / "genuine.mjs")], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, cwd=REPO)
        self._replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._next = 1
        first = self._replies.get(timeout=60)
        assert first.get("result") == "ready", first

    def _read(self) -> None:
        for line in self.proc.stdout:
            try:
                self._replies.put(json.loads(line))
            except ValueError:
                pass

    def request(self, op: str, *args, timeout: float = 90):
        rid, self._next = self._next, self._next + 1
        self.proc.stdin.write(json.dumps({"id": rid, "op": op, "args": list(args)}) + "\n")
        self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        while True:
            reply = self._replies.get(timeout=max(0.1, deadline - time.monotonic()))
            if reply.get("id") == rid:
                break
        if not reply["ok"]:
            raise RuntimeError(f"genuine {op}{args!r:.200}: {reply['error']}")
        return reply["result"]

    def call(self, page: str, fn: str, *args, timeout: float = 90):
        """``window.oracle[fn](*args)`` in ``page``."""
        return self.request("call", page, fn, *args, timeout=timeout)

    def pair(self, a: str, key_a: str, b: str, key_b: str) -> dict:
        """Start genuine clients on pages a and b and link them (a offers; retried, counted)."""
        from _peers import ATTEMPTS

        result = self.request("pair", a, key_a, b, key_b, timeout=240)
        ATTEMPTS.append(("manual handshake, genuine offering, genuine answering (oracle pair)", result["attempt"]))
        return result

    def inject(self, page: str, frames: list[bytes]) -> None:
        for frame in frames:
            self.call(page, "inject", frame.hex())

    def events(self, page: str, kind: str | None = None) -> list[dict]:
        evs = self.request("events", page)
        return [e for e in evs if kind is None or e["type"] == kind]

    def custom_texts(self, page: str) -> list[bytes]:
        """Bytes handed to the ``custom_message`` callback, in order."""
        return [bytes.fromhex(e["args"][1]["$bytes"]) for e in self.events(page, "custom_message")]

    def payloads(self, page: str, start: int = 0) -> list[tuple[str, MessagePayload]]:
        """``(direction, payload)`` for every whole message in the page's wire log from entry
        ``start`` on; direction is ``out`` (sent by the genuine node), ``in`` or ``injected``."""
        parts: dict = {}
        out = []
        for e in self.call(page, "wireFrom", start):
            if e.get("kind") != "binary" or not e.get("hex"):
                continue
            chunk = decode_frame(bytes.fromhex(e["hex"]))
            got = parts.setdefault((e["dir"], chunk.meta.id), {})
            got[chunk.index] = chunk.data
            if len(got) == chunk.count:
                del parts[(e["dir"], chunk.meta.id)]
                out.append((e["dir"], decode_payload(b"".join(got[i] for i in range(chunk.count)))))
        return out

    def wait_for(self, predicate, timeout: float = 10.0, step: float = 0.1):
        return wait_until(predicate, timeout, step)

    def close(self) -> None:
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()
