"""Ground-truth vectors captured from the genuine 0.2.5 node (shared/rings-0.2.5/vectors.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path

_HERE = Path(__file__).resolve().parent
_CANDIDATES = [
    os.environ.get("RINGS_VECTORS", ""),
    str(_HERE / "vectors" / "vectors.json"),
    str(_HERE.parent.parent / "shared" / "rings-0.2.5" / "vectors.json"),
]


def load_vectors() -> dict:
    for path in _CANDIDATES:
        if path and Path(path).is_file():
            return json.loads(Path(path).read_text())
    raise FileNotFoundError("vectors.json not found; set RINGS_VECTORS")


VECTORS = load_vectors()
