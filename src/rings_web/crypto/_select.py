"""Backend discovery: JS in Pyodide, libraries on CPython, pure Python as the last resort."""

from __future__ import annotations

import sys
from functools import lru_cache

from ..errors import CryptoError

__all__ = ["available_backends", "default_backend", "get_backend"]


def _pyodide():
    if sys.platform != "emscripten":
        return None
    try:
        from .pyodide import PyodideBackend

        return PyodideBackend()
    except ImportError:  # the JS shim did not register rings_web_crypto
        return None


def _cpython() -> list:
    """The library backend; where coincurve is installed, its eth-keys variant too."""
    try:
        from .cpython import CPythonBackend
    except ImportError:
        return []
    fast, plain = CPythonBackend(), CPythonBackend(use_coincurve=False)
    return [fast] if fast.name == plain.name else [fast, plain]


def _pure():
    from .pure import PureBackend

    return PureBackend()


@lru_cache(maxsize=None)
def available_backends() -> tuple:
    """Every backend usable here, fastest first; ``pure`` is always last."""
    return tuple(b for b in (_pyodide(), *_cpython(), _pure()) if b is not None)


def default_backend():
    """The fastest available backend."""
    return available_backends()[0]


def get_backend(name: str):
    """The backend called ``name`` ("pyodide", "cpython", "cpython-eth-keys" or "pure").

    Raises:
        CryptoError: not available in this environment.
    """
    for backend in available_backends():
        if backend.name == name:
            return backend
    raise CryptoError(f"crypto backend {name!r} is not available here")
