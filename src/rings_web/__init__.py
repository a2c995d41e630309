"""rings-web: a Rings Network node in pure Python, for Pyodide and CPython."""

__version__ = "0.1.0"
