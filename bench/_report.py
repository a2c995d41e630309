"""One line per speed figure, the same in every bench, so `bench/speeds.py` can gather them.

    SPEED | <figure> | <ours> <unit> | <reference>: <ref> <unit> | ratio <ours/ref> | target <t> | met

A figure is always printed beside its reference measured in the same run (the genuine 0.2.5
node, a raw RTCDataChannel, or the pure build), so load on the machine moves both alike.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

PREFIX = "SPEED"
# bench/speeds.py points this at a file to collect every row of one run.
ROWS_FILE = os.environ.get("RINGS_WEB_SPEED_ROWS")


def speed(figure: str, ours: float, unit: str, reference: str, ref: float, target: str, met: bool) -> dict:
    """Print one figure with its reference and ratio; return it as a row."""
    row = {"figure": figure, "ours": ours, "unit": unit, "reference": reference, "ref": ref,
           "ratio": ours / ref if ref else float("nan"), "target": target, "met": met}
    print(f"{PREFIX} | {figure} | {_num(ours)} {unit} | {reference}: {_num(ref)} {unit} | "
          f"ratio {row['ratio']:.2f} | target {target} | {'met' if met else 'MISSED'}", flush=True)
    if ROWS_FILE:
        with Path(ROWS_FILE).open("a") as f:
            f.write(json.dumps(row) + "\n")
    return row


def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}".replace(",", " ")
