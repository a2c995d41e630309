"""Code generated once per wire type, for speed (hot path: a few wire objects per frame each
way, millions of frames in a simulated run); nothing here changes what goes on the wire."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Callable, Sequence, TypeVar

from .buffer import Reader, Writer

__all__ = ["quick_init", "uuid_of", "compile_push", "compile_pull"]

T = TypeVar("T", bound=type)


def quick_init(cls: T) -> T:
    """Give a frozen slotted dataclass an ``__init__`` that fills its slots directly.

    The generated one calls ``object.__setattr__`` per field, to get past ``frozen``; the
    slots' own setters do the same job in 60 % of the time.  The class stays frozen: only
    ``__init__`` changes.
    """
    fields = dataclasses.fields(cls)
    if not fields or hasattr(cls, "__post_init__") or any(f.default_factory is not dataclasses.MISSING for f in fields):
        raise TypeError(f"quick_init: {cls.__name__} needs plain fields")
    scope = {f"_set{i}": getattr(cls, f.name).__set__ for i, f in enumerate(fields)}
    scope.update({f"_default{i}": f.default for i, f in enumerate(fields) if f.default is not dataclasses.MISSING})
    params = ", ".join(f.name if f.default is dataclasses.MISSING else f"{f.name}=_default{i}" for i, f in enumerate(fields))
    body = "".join(f"    _set{i}(self, {f.name})\n" for i, f in enumerate(fields))
    exec(f"def __init__(self, {params}):\n{body}", scope)
    init = scope["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    cls.__init__ = init
    return cls


_new, _set = object.__new__, object.__setattr__


def uuid_of(value: int) -> uuid.UUID:
    """``uuid.UUID(int=value)`` without its checks (a new id per frame sent and received);
    ``value`` must be a 128-bit unsigned integer."""
    u = _new(uuid.UUID)
    _set(u, "int", value)
    _set(u, "is_safe", uuid.SafeUUID.unknown)
    return u


def compile_push(fields: Sequence[tuple[str, Callable]]) -> Callable[[Writer, Any], None]:
    """``push0(w, v.attr0); push1(w, v.attr1); ...`` without a loop."""
    scope = {f"p{i}": push for i, (_, push) in enumerate(fields)}
    body = "".join(f"    p{i}(w, v.{attr})\n" for i, (attr, _) in enumerate(fields)) or "    pass\n"
    exec(f"def push(w, v):\n{body}", scope)
    return scope["push"]


def compile_pull(cls: type, pulls: list[Callable]) -> Callable[[Reader], Any]:
    """``lambda r: cls(pull0(r), pull1(r), ...)`` without a list per call."""
    names = {f"p{i}": p for i, p in enumerate(pulls)}
    args = ", ".join(f"p{i}(r)" for i in range(len(pulls)))
    scope = {"cls": cls, **names}
    exec(f"def pull(r):\n    return cls({args})\n", scope)
    return scope["pull"]
