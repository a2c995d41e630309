import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/_vectors.py and helpers

from _ci import pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401  (CI=true: no skipped browser tests)
from _pages import browser, open_module_node, open_node, site  # noqa: E402,F401  (Chromium page fixtures, defined once)
