"""In-memory transport for the asyncio driver: links between nodes in one process.

An offer is a token naming its endpoint; applying the answer joins the two ends; frames are
delivered by the event loop (``call_soon``), in order.  Used by tests and examples that want
real asyncio nodes without WebRTC.
"""

from __future__ import annotations

import asyncio
import json
from typing import Callable

from ..did import Did
from ..errors import LocalError
from ..wire.types import HandshakeInfo

__all__ = ["MemoryHub", "MemoryTransport"]


class MemoryHub:
    """The shared medium: finds endpoints by name."""

    def __init__(self) -> None:
        self._transports: dict[str, "MemoryTransport"] = {}

    def transport(self, name: str) -> "MemoryTransport":
        t = MemoryTransport(self, name)
        self._transports[name] = t
        return t


class MemoryTransport:
    """One node's side of the hub; see :class:`rings_web.drivers.aio.Transport`."""

    def __init__(self, hub: MemoryHub, name: str) -> None:
        self.hub, self.name = hub, name
        self._links: dict[str, tuple["MemoryTransport", str]] = {}
        self._opened: Callable[[str], None] = lambda tid: None
        self._frame: Callable[[str, bytes], None] = lambda tid, data: None
        self._closed: Callable[[str, str | None], None] = lambda tid, reason=None: None

    def bind(self, opened, frame, closed) -> None:
        self._opened, self._frame, self._closed = opened, frame, closed

    def _token(self, tid: str, kind: str) -> HandshakeInfo:
        return HandshakeInfo(json.dumps({"sdp": f"memory:{self.name}:{tid}", "type": kind}))

    def _endpoint(self, info: HandshakeInfo) -> tuple["MemoryTransport", str]:
        try:
            _, name, tid = json.loads(info.sdp)["sdp"].split(":", 2)
            return self.hub._transports[name], tid
        except (ValueError, KeyError, TypeError):
            raise LocalError("not a memory-transport handshake") from None

    async def create_offer(self, transport_id: str) -> HandshakeInfo:
        return self._token(transport_id, "offer")

    async def accept_offer(self, transport_id: str, remote: Did, offer: HandshakeInfo) -> HandshakeInfo:
        self._endpoint(offer)  # must name a live endpoint
        return self._token(transport_id, "answer")

    async def apply_answer(self, transport_id: str, answer: HandshakeInfo) -> None:
        far, far_tid = self._endpoint(answer)
        self._links[transport_id] = (far, far_tid)
        far._links[far_tid] = (self, transport_id)
        loop = asyncio.get_running_loop()
        loop.call_soon(self._opened, transport_id)
        loop.call_soon(far._opened, far_tid)

    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None:
        link = self._links.get(transport_id)
        if link is None:
            return
        far, far_tid = link
        loop = asyncio.get_running_loop()
        for frame in frames:
            loop.call_soon(far._deliver, far_tid, frame)

    def _deliver(self, tid: str, frame: bytes) -> None:
        if tid in self._links:
            self._frame(tid, frame)

    def selected_pair(self, transport_id: str) -> None:
        return None  # no ICE in memory

    def close(self, transport_id: str) -> None:
        link = self._links.pop(transport_id, None)
        if link is not None:
            far, far_tid = link
            if far._links.pop(far_tid, None) is not None:
                asyncio.get_running_loop().call_soon(far._closed, far_tid)
