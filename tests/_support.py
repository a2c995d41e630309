"""Helpers shared by the test modules (CPython and Pyodide)."""

from __future__ import annotations

import asyncio


def run_sync(coro):
    """Run a coroutine that never really suspends (local signers) without an event loop.

    ``asyncio.run`` needs stack switching inside Pyodide's WebLoop; these coroutines finish
    on their first step, so drive them directly and fall back to asyncio otherwise.
    """
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    return asyncio.run(coro)  # pragma: no cover - only for signers that really wait


def wait_until(predicate, timeout: float, step: float = 0.1):
    """Poll ``predicate`` until it is truthy or ``timeout`` seconds pass; returns its last value."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def only_loopback() -> bool:
    """True inside a network namespace whose only interface is ``lo`` (the test network rule).

    /proc/net/dev belongs to this process's namespace (/sys/class/net may not).
    """
    from pathlib import Path

    lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines) == ["lo"]
