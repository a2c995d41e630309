"""Simulation tooling (CPython; the simulator alone also runs in Pyodide, for the tests):

* :mod:`.simulator` -- many engines over in-memory links, on a virtual clock;
* :mod:`.parallel` -- one simulation's nodes spread over processes;
* :mod:`.checks` -- whether a ring is right (shared with the tests);
* :mod:`.cli` -- ``python -m rings_web.sim``: join, settle, store, churn, lookups → one JSON object.

Nothing that runs a real node imports this package.
"""
