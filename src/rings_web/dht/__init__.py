"""Chord DHT state machines, pure and sans-IO (SPEC §7.6, §7.7)."""

from .chord import FixFinger, Local, Lookup, PeerRing, Remote
from .finger import FingerTable
from .successor import SuccessorList

__all__ = ["FingerTable", "FixFinger", "Local", "Lookup", "PeerRing", "Remote", "SuccessorList"]
