"""Relay header rules (SPEC §7.5): who may forward what, and loop detection."""

from __future__ import annotations

from ..did import Did
from ..errors import RelayError
from ..wire.types import MessageRelay

__all__ = ["LOOP_TOLERANCE", "check_relay", "has_loop"]

LOOP_TOLERANCE = 3


def has_loop(path: tuple[Did, ...] | list[Did]) -> bool:
    """0.2.5's loop rule (tolerance 3), with its exact comparison.

    Take the positions of the last three occurrences of the path's last element; with three
    of them, read the path backwards from each position for ``min(gap1, gap2, len - idx3)``
    elements; the path loops if those three runs agree and the two gaps are equal.
    """
    if not path:
        return False
    last = path[-1]
    positions = [i for i in range(len(path) - 1, -1, -1) if path[i] == last][:LOOP_TOLERANCE]
    if len(positions) < LOOP_TOLERANCE:
        return False
    p1, p2, p3 = positions  # descending
    gap1, gap2 = p1 - p2, p2 - p3
    if gap1 != gap2:
        return False
    span = min(gap1, gap2, p3 + 1)
    run = lambda start: [path[start - k] for k in range(span)]
    return run(p1) == run(p2) == run(p3)


def check_relay(relay: MessageRelay, me: Did) -> None:
    """Validate an incoming relay before forwarding or reporting (``validate``).

    Raises:
        RelayError: empty path, ``next_hop`` is not us, adjacent duplicates, or a loop.
    """
    path = relay.path
    if not path:
        raise RelayError("empty relay path")
    if relay.next_hop != me:
        raise RelayError(f"next_hop {relay.next_hop.hex()} is not this node")
    if any(a == b for a, b in zip(path, path[1:])):
        raise RelayError("relay path repeats a node back to back")
    if has_loop(path):
        raise RelayError("relay path loops")
