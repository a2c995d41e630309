"""Whether a ring is right: the one check the simulator, the engine's tests and the browser
tests share, over whatever reports a node's neighbours (an engine, ``nodeInfo``, a page)."""

from __future__ import annotations

import bisect
from typing import Iterable, Sequence

from ..did import Did

__all__ = ["ring_correct", "neighbours", "engines_ring_correct", "fingers_correct", "peer_counts"]


def ring_correct(views: Iterable[tuple[Did, Did | None, Did | None]], ids: Sequence[Did]) -> bool:
    """Every ``(node, successor, predecessor)`` names the node's neighbours on the ring of
    ``ids`` (sorted; the views may cover some of them).  A ring of one is right."""
    n = len(ids)
    if n < 2:
        return True
    pos = {d: i for i, d in enumerate(ids)}
    return all(me in pos and successor == ids[(pos[me] + 1) % n] and predecessor == ids[pos[me] - 1]
               for me, successor, predecessor in views)


def neighbours(nodes) -> list[tuple[Did, Did | None, Did | None]]:
    """``(node, successor, predecessor)`` of each engine, for :func:`ring_correct`."""
    return [(node.me, node.ring.successors.first(), node.ring.predecessor) for node in nodes]


def engines_ring_correct(nodes, ids: Sequence[Did] | None = None) -> bool:
    """:func:`ring_correct` over engines, on the ring of ``ids`` (default: theirs)."""
    nodes = list(nodes)
    return ring_correct(neighbours(nodes), sorted(n.me for n in nodes) if ids is None else ids)


def fingers_correct(nodes, ids: list[Did]) -> bool:
    """Every finger slot holds the first node at or after ``self + 2^k`` (None if that is self)."""
    for node in nodes:
        slots = node.ring.fingers.slots
        for k in range(160):
            want = ids[bisect.bisect_left(ids, node.me + (1 << k)) % len(ids)]
            if slots[k] != (None if want == node.me else want):
                return False
    return True


def peer_counts(nodes) -> tuple[int, int]:
    """Links held in all, and nodes."""
    return sum(len(n.peers) for n in nodes), len(nodes)
