"""serde_json-compatible text (SPEC §2.2).

0.2.5 signs the *canonical* serde_json text of values: compact, fields in declaration
order, non-ASCII emitted raw, control characters escaped as serde_json does.  Python's
``json.dumps(separators=(",", ":"), ensure_ascii=False)`` over insertion-ordered dicts
produces the identical text [W].  Parsing is strict the way serde is: no NaN/Infinity,
no floats where integers are expected, no duplicate keys; every failure is a DecodeError.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import DecodeError

__all__ = ["dumps", "loads"]

_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def dumps(value: Any) -> str:
    """Canonical compact text of a JSON-able value (dicts keep insertion order)."""
    return _encoder.encode(value)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DecodeError(f"duplicate field `{key}`")
        out[key] = value
    return out


def _reject_constant(name: str) -> Any:
    raise DecodeError(f"invalid JSON number {name}")


def _reject_float(text: str) -> Any:
    raise DecodeError(f"unexpected float {text[:40]}: 0.2.5 has no float fields")


def loads(text: str | bytes) -> Any:
    """Parse JSON text strictly.

    Raises:
        DecodeError: not valid JSON, or floats, NaN, duplicate keys, too deep nesting.
    """
    if isinstance(text, (bytes, bytearray)):
        try:
            text = bytes(text).decode("utf-8")
        except UnicodeDecodeError as e:
            raise DecodeError(f"JSON text is not UTF-8: {e.reason}") from None
    if not isinstance(text, str):
        raise DecodeError(f"JSON text expected, got {type(text).__name__}")
    try:
        return json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_reject_constant,
            parse_float=_reject_float,
        )
    except DecodeError:
        raise
    except RecursionError:
        raise DecodeError("JSON nesting too deep") from None
    except ValueError as e:  # json.JSONDecodeError
        raise DecodeError(f"invalid JSON: {e}") from None
