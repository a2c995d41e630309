"""Why a WebRTC link failed, in one sentence: shared by the aiortc and the browser transport.

Both give up on ICE checks that have not succeeded :data:`ICE_CHECK_MS` after both
descriptions are in (the answer made, on the answering side; applied, on the offering side).
Left alone, Chromium declares such a connection failed only after ~15 s (measured here: two
peer connections whose candidates lead nowhere) and aioice after 31.5 s (7 STUN
transmissions), both beyond the engine's 10 s request timeout, so the caller got a bare
``RequestTimeout`` and no reason.  Every link of the NAT lab that has a working pair (through
STUN, TURN over UDP and over TCP) comes up well within this bound.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["ICE_CHECK_MS", "failure_reason"]

ICE_CHECK_MS = 6000

_ORDER = ("host", "srflx", "prflx", "relay")


def _listed(types: Iterable[str]) -> str:
    found = set(types)
    return ", ".join([t for t in _ORDER if t in found] + sorted(found - set(_ORDER))) or "none"


def failure_reason(ice: str, connection: str, up: bool, local: Iterable[str], remote: Iterable[str],
                   waited_ms: int | None = None) -> str:
    """The reason a link failed, for its ``peer:failed`` event and the call that waited.

    Args:
        ice, connection: the peer connection's ``iceConnectionState`` and ``connectionState``.
        up: whether the data channel had opened before.
        local, remote: the candidate types each side offered (host, srflx, relay…).
        waited_ms: set when the transport gave up on the checks itself after that long.
    """
    local, remote = list(local), list(remote)
    seen = f"ICE {ice}, connection {connection}; local candidates: {_listed(local)}; remote: {_listed(remote)}"
    if up:
        return f"the link failed after it was up: the peer stopped answering ({seen})"
    if ice in ("connected", "completed"):
        return f"DTLS failed: ICE connected, but the secure channel did not open ({seen})"
    within = f" within {waited_ms / 1000:g} s" if waited_ms else ""
    hint = "" if "relay" in local + remote else "; neither side has a relay candidate: configure a TURN server"
    return f"ICE failed: no candidate pair succeeded{within} ({seen}){hint}"
