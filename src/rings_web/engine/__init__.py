"""The sans-IO node engine: :class:`Engine`, its :mod:`.config` and its :mod:`.events`."""

from .core import Engine

__all__ = ["Engine"]
