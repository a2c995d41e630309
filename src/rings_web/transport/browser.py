"""Browser transport for Pyodide: drives the JS objects of ``js/transport.mjs``.

The JS side creates RTCPeerConnections and data channels; this class converts between
Python and JS values and reports events to the asyncio driver.  Import it only in Pyodide.
"""

from __future__ import annotations

import json

from js import Object
from pyodide.ffi import JsException, create_proxy, to_js

from ..did import Did
from ..errors import LocalError
from ..wire.types import HandshakeInfo, IceCandidate
from .diagnosis import failure_reason

__all__ = ["BrowserTransport"]


def _info(described) -> HandshakeInfo:
    d = described.to_py()
    candidates = tuple(
        IceCandidate(c["candidate"], c.get("sdpMid"), c.get("sdpMLineIndex"), c.get("usernameFragment"))
        for c in d["candidates"]
    )
    return HandshakeInfo(d["sdp"], candidates)


def _candidates_json(info: HandshakeInfo) -> str:
    return json.dumps([
        {"candidate": c.candidate, "sdpMid": c.sdp_mid, "sdpMLineIndex": c.sdp_mline_index,
         "usernameFragment": c.username_fragment}
        for c in info.candidates
    ])


async def _webrtc(promise):
    """Await a shim call; the browser's refusals (no WebRTC, a bad SDP) become LocalError."""
    try:
        return await promise
    except JsException as e:
        raise LocalError(f"WebRTC: {e}"[:300]) from None


class BrowserTransport:
    """See :class:`rings_web.drivers.aio.Transport`.

    Args:
        create_transport: ``createTransport`` from ``js/transport.mjs``.
        ice_servers: RTCIceServer dicts for the page's peer connections.
    """

    def __init__(self, create_transport, ice_servers: list[dict] | None = None) -> None:
        self._events = {"opened": lambda tid: None, "frame": lambda tid, data: None,
                        "closed": lambda tid, reason=None: None}
        self._proxies = {
            "opened": create_proxy(lambda tid: self._events["opened"](tid)),
            "frame": create_proxy(lambda tid, data: self._events["frame"](tid, data.to_bytes())),
            "closed": create_proxy(lambda tid, failed=None: self._events["closed"](tid, _reason(failed))),
        }
        events = to_js(self._proxies, dict_converter=Object.fromEntries)
        self._js = create_transport(events, to_js(ice_servers or [], dict_converter=Object.fromEntries))

    def bind(self, opened, frame, closed) -> None:
        self._events.update(opened=opened, frame=frame, closed=closed)

    async def create_offer(self, transport_id: str) -> HandshakeInfo:
        return _info(await _webrtc(self._js.createOffer(transport_id)))

    async def accept_offer(self, transport_id: str, remote: Did, offer: HandshakeInfo) -> HandshakeInfo:
        return _info(await _webrtc(self._js.acceptOffer(transport_id, offer.sdp, _candidates_json(offer))))

    async def apply_answer(self, transport_id: str, answer: HandshakeInfo) -> None:
        await _webrtc(self._js.applyAnswer(transport_id, answer.sdp, _candidates_json(answer)))

    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None:
        for frame in frames:
            self._js.send(transport_id, to_js(memoryview(frame)))

    def selected_pair(self, transport_id: str) -> dict | None:
        pair = self._js.pair(transport_id)
        return pair.to_py() if hasattr(pair, "to_py") else None  # null: not known yet

    def close(self, transport_id: str) -> None:
        self._js.close(transport_id)


def _reason(failed) -> str | None:
    """The text of a ``failure()`` record of js/transport.mjs (None: closed, not failed)."""
    if not hasattr(failed, "to_py"):
        return None
    f = failed.to_py()
    return failure_reason(f["ice"], f["connection"], f["up"], f["local"], f["remote"], f.get("waitedMs") or None)

