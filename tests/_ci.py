"""Under ``CI=true`` a browser or interop test may not skip: a skip there fails the run.

Those tests skip themselves without root, ``unshare``, Chromium, aiortc or a built dist/, and a
CI run that skipped them all would still go green. A deliberate ``@pytest.mark.skip`` (a
documented gap) stays a skip. Imported by tests/conftest.py; tests/test_ci_skips.py tests it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SUITES = {"browser", "interop"}  # tests/browser/, tests/interop/


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def _why(longrepr) -> str:
    return longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    report = (yield).get_result()
    if (report.skipped and in_ci() and not hasattr(report, "wasxfail") and not item.get_closest_marker("skip")
            and (item.get_closest_marker("browser") or Path(item.path).parent.name in SUITES)):
        report.outcome = "failed"
        report.longrepr = f"CI={os.environ['CI']}: a browser/interop test may not skip: {_why(report.longrepr)}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module-level skip (``pytest.importorskip`` at import) is a collect report, not a test's."""
    report = (yield).get_result()
    path = getattr(collector, "path", None)
    if report.skipped and in_ci() and isinstance(collector, pytest.Module) and Path(path).parent.name in SUITES:
        report.outcome = "failed"
        report.longrepr = f"CI={os.environ['CI']}: a browser/interop module may not skip: {_why(report.longrepr)}"
