"""Engine configuration."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Config"]


@dataclass(frozen=True, slots=True)
class Config:
    """Tunables of a node; the defaults are the browser node's."""

    stabilize_interval_ms: int = 25_000
    """Period of a stabilization round (0.2.5: 25 s in the browser, 3 s native)."""
    successors: int = 3
    """Length of the successor list."""
    request_timeout_ms: int = 10_000
    """How long ``fetch``/``store``/``connect`` wait for an answer before failing."""
    store_ack_ms: int = 2_000
    """How long a store waits for the owner's acknowledgement before reading the VNode back
    (a 0.2.5 owner stores without acknowledging)."""
    fingers_per_round: int = 2
    """Finger checks sent per round, each to the slot's finger (0.2.5: one lookup a round)."""
    replicas: bool = True
    """Copy stored VNodes to the neighbours that take over if their owner leaves."""
