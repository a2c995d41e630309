"""The sans-IO node engine: :class:`Node`, its :mod:`.config` and its :mod:`.events`."""

from .node import Node

__all__ = ["Node"]
