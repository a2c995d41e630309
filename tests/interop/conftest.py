"""Fixture ``genuine``: genuine Rings 0.2.5 clients in headless Chromium (see genuine.mjs).

Runs only inside a loopback-only network namespace (the test network rule), e.g.
``unshare -n sh -c 'ip link set lo up; exec "$@"' sh .venv/bin/pytest tests/interop``;
elsewhere the tests are skipped with the reason.
"""

from __future__ import annotations

import pytest

from _genuine import Genuine, missing_requirement


@pytest.fixture(scope="session")
def genuine():
    reason = missing_requirement()
    if reason:
        pytest.skip(reason)
    g = Genuine()
    yield g
    g.close()


@pytest.fixture(scope="module")
def native_loop():
    """The asyncio loop (in a thread) the native rings-web nodes of a module run on."""
    pytest.importorskip("aiortc", reason="aiortc is not installed")
    from _native import Loop

    loop = Loop()
    yield loop
    loop.close()


def pytest_terminal_summary(terminalreporter):
    """How often steps were retried for the genuine node's own bugs (SPEC §10)."""
    from _peers import ATTEMPTS, OBSERVED

    if ATTEMPTS or OBSERVED:
        terminalreporter.section("genuine 0.2.5 quirks: retries and observations")
        steps = sorted({s for s, _ in ATTEMPTS})
        for step in steps:
            counts = [n for s, n in ATTEMPTS if s == step]
            terminalreporter.line(f"{step}: {len(counts)} step(s), {sum(n - 1 for n in counts)} retried "
                                  f"(attempts: {counts})")
        for seen in sorted(set(OBSERVED)):
            terminalreporter.line(f"observed {OBSERVED.count(seen)}x: {seen}")
