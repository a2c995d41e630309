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
