"""WebRTC transport for CPython on aiortc, with the data-channel convention of 0.2.5 (SPEC §3).

Each peer connection gets its own ``rings`` data channel, created before the offer/answer
(in-band, ordered, reliable); this side sends only on it and reads the channel the remote
announces, exactly as the genuine node does.  ICE is non-trickle: aiortc gathers before it
returns a description, and the candidates travel both inside the SDP and in
``HandshakeInfo.candidates``.  aiortc is imported lazily: the rest of rings-web never needs it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Callable

from ..did import Did
from ..errors import InvalidArgument, LocalError
from ..wire.types import HandshakeInfo, IceCandidate
from .diagnosis import ICE_CHECK_MS, failure_reason

__all__ = ["AiortcTransport", "ice_server", "loopback_only", "use_host_addresses"]

LABEL = "rings"


def use_host_addresses(addresses: list[str]) -> None:
    """Make aioice offer host candidates on exactly these IPv4 addresses."""
    import aioice.ice

    chosen = list(addresses)
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: chosen if use_ipv4 else []


def _use_interfaces_or_loopback() -> None:
    """aioice's own choice of interfaces, or 127.0.0.1 when that finds none.

    aioice never offers a loopback address (RECIPES.md), so on a host whose only interface is
    ``lo`` a seed offered no candidate at all: a browser on the same host got its answer over
    HTTP and then never connected, with nothing in the log.  Installed once, unless the
    operator chose addresses with :func:`use_host_addresses`.
    """
    import aioice.ice

    found = aioice.ice.get_host_addresses
    if getattr(found, "rings_web", False):
        return

    def interfaces_or_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return found(use_ipv4, use_ipv6) or (["127.0.0.1"] if use_ipv4 else [])

    if found.__module__ == "aioice.ice":  # not replaced by use_host_addresses
        interfaces_or_loopback.rings_web = True
        aioice.ice.get_host_addresses = interfaces_or_loopback


def loopback_only() -> None:
    """Host candidates on 127.0.0.1 only (tests in a loopback-only namespace)."""
    use_host_addresses(["127.0.0.1"])


def ice_server(entry: str | dict):
    """An ``RTCIceServer`` from a URL string or ``{"urls", "username", "credential"}``.

    The object form is the browser's ``RTCIceServer`` dictionary: ``urls`` is one URL or a
    list of them; TURN servers need ``username`` and ``credential`` (long-term credentials).

    Raises:
        InvalidArgument: anything else, saying which field is wrong.
    """
    from aiortc import RTCIceServer

    if isinstance(entry, str):
        entry = {"urls": entry}
    if not isinstance(entry, dict):
        raise InvalidArgument(f"an ICE server is a URL or {{urls, username, credential}}, got {type(entry).__name__}")
    unknown = set(entry) - {"urls", "username", "credential"}
    if unknown:
        raise InvalidArgument(f"ICE server: unknown field(s) {sorted(unknown)}; expected urls, username, credential")
    urls = entry.get("urls")
    listed = [urls] if isinstance(urls, str) else urls
    if not listed or not isinstance(listed, list) or not all(isinstance(u, str) and u for u in listed):
        raise InvalidArgument(f"ICE server: urls must be a URL or a non-empty list of URLs, got {urls!r}")
    for url in listed:
        if not url.startswith(("stun:", "stuns:", "turn:", "turns:")):
            raise InvalidArgument(f"ICE server URL must start with stun:, stuns:, turn: or turns:, got {url!r}")
    for name in ("username", "credential"):
        if entry.get(name) is not None and not isinstance(entry[name], str):
            raise InvalidArgument(f"ICE server: {name} must be a string, got {type(entry[name]).__name__}")
    if any(u.startswith("turn") for u in listed) and (entry.get("username") is None or entry.get("credential") is None):
        raise InvalidArgument(f"ICE server {listed[0]!r}: a TURN server needs username and credential")
    return RTCIceServer(urls=urls, username=entry.get("username"), credential=entry.get("credential"))


@dataclass
class _Link:
    pc: object
    own: object  # the channel we created and send on
    remote_channel: object | None = None
    opened: bool = False
    pending: list[bytes] = field(default_factory=list)
    give_up: asyncio.TimerHandle | None = None  # ICE checks that outlast ICE_CHECK_MS


class AiortcTransport:
    """One node's WebRTC endpoints; see :class:`rings_web.drivers.aio.Transport`.

    Args:
        ice_servers: STUN/TURN servers, each a URL (``stun:host:port``) or an object with
            ``urls``, ``username`` and ``credential`` (see :func:`ice_server`); none by
            default, so nothing is contacted unless the operator configures it.

    Raises:
        InvalidArgument: an ICE server entry that is not one of those forms.
    """

    def __init__(self, ice_servers: list[str | dict] | None = None) -> None:
        from aiortc import RTCConfiguration

        if not isinstance(ice_servers, (list, tuple, type(None))):
            raise InvalidArgument(f"ice_servers must be a list, got {type(ice_servers).__name__}")
        self._config = RTCConfiguration(iceServers=[ice_server(e) for e in (ice_servers or [])])
        _use_interfaces_or_loopback()
        self._links: dict[str, _Link] = {}
        self._opened: Callable[[str], None] = lambda tid: None
        self._frame: Callable[[str, bytes], None] = lambda tid, data: None
        self._closed: Callable[[str, str | None], None] = lambda tid, reason=None: None

    def bind(self, opened, frame, closed) -> None:
        self._opened, self._frame, self._closed = opened, frame, closed

    # -- handshakes ----------------------------------------------------------------------------
    def _new_link(self, tid: str) -> _Link:
        from aiortc import RTCPeerConnection

        pc = RTCPeerConnection(self._config)
        link = _Link(pc, pc.createDataChannel(LABEL))  # before the offer: it must be in the SDP
        self._links[tid] = link

        @link.own.on("open")
        def _on_open() -> None:
            link.opened = True
            for frame in link.pending:
                link.own.send(frame)
            link.pending.clear()
            self._opened(tid)

        @pc.on("datachannel")
        def _on_datachannel(channel) -> None:
            link.remote_channel = channel

            @channel.on("message")
            def _on_message(message) -> None:
                if isinstance(message, (bytes, bytearray)) and message:  # text is ignored, as 0.2.5
                    self._frame(tid, bytes(message))

        @pc.on("connectionstatechange")
        async def _on_state() -> None:
            if pc.connectionState in ("failed", "closed") and tid in self._links:
                self._drop(tid, _failure(link) if pc.connectionState == "failed" else None)

        return link

    async def create_offer(self, transport_id: str) -> HandshakeInfo:
        link = self._new_link(transport_id)
        await link.pc.setLocalDescription(await link.pc.createOffer())
        return _handshake(link.pc.localDescription)

    async def accept_offer(self, transport_id: str, remote: Did, offer: HandshakeInfo) -> HandshakeInfo:
        link = self._new_link(transport_id)
        await self._apply(link, offer, "offer")
        await link.pc.setLocalDescription(await link.pc.createAnswer())  # gathers
        self._watch(transport_id, link)
        return _handshake(link.pc.localDescription)

    async def apply_answer(self, transport_id: str, answer: HandshakeInfo) -> None:
        link = self._links.get(transport_id)
        if link is None:
            raise LocalError(f"no pending transport {transport_id}")
        await self._apply(link, answer, "answer")
        self._watch(transport_id, link)

    async def _apply(self, link: _Link, info: HandshakeInfo, expected: str) -> None:
        from aiortc import RTCSessionDescription
        from aiortc.sdp import candidate_from_sdp

        try:
            desc = json.loads(info.sdp)
            sdp, kind = desc["sdp"], desc["type"]
        except (ValueError, KeyError, TypeError):
            raise LocalError("HandshakeInfo.sdp is not a {\"sdp\", \"type\"} JSON text") from None
        if kind != expected:
            raise LocalError(f"expected an SDP {expected}, got {kind!r}")
        try:
            await link.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        except Exception as e:  # aiortc raises ValueError, InvalidStateError… on a bad or late SDP
            raise LocalError(f"the remote SDP {kind} was refused: {type(e).__name__}: {e}"[:300]) from None
        if "a=candidate:" not in sdp:  # the genuine node ships its candidates separately
            for c in info.candidates:
                try:
                    candidate = candidate_from_sdp(c.candidate.removeprefix("candidate:"))
                except (ValueError, IndexError):
                    continue  # 0.2.5 only logs a bad candidate
                candidate.sdpMid, candidate.sdpMLineIndex = c.sdp_mid, c.sdp_mline_index
                await link.pc.addIceCandidate(candidate)

    # -- data ----------------------------------------------------------------------------------
    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None:
        link = self._links.get(transport_id)
        if link is None:
            return
        if not link.opened:
            link.pending.extend(frames)
            return
        for frame in frames:
            link.own.send(frame)

    def selected_pair(self, transport_id: str) -> dict | None:
        link = self._links.get(transport_id)
        # aioice's nominated pair: private, so read tolerantly; its local end is always the host
        # candidate (server-reflexive ones share its socket), even behind a NAT
        try:
            pair = link.pc.sctp.transport.transport._connection._nominated[1]
            local, remote = pair.local_candidate, pair.remote_candidate
            return {"local": local.type, "remote": remote.type, "protocol": local.transport.lower()}
        except (AttributeError, KeyError, TypeError):
            return None

    def close(self, transport_id: str) -> None:
        link = self._links.pop(transport_id, None)
        if link is not None:
            _stop(link)

    def _watch(self, tid: str, link: _Link) -> None:
        """Both descriptions are in (our answer made, or theirs applied): the checks have ICE_CHECK_MS."""
        link.give_up = asyncio.get_running_loop().call_later(ICE_CHECK_MS / 1000, self._give_up, tid, link)

    def _give_up(self, tid: str, link: _Link) -> None:
        if self._links.get(tid) is link and not link.opened:
            self._drop(tid, _failure(link, ICE_CHECK_MS))

    def _drop(self, tid: str, reason: str | None = None) -> None:
        link = self._links.pop(tid, None)
        if link is not None:
            _stop(link)
            self._closed(tid, reason)

    async def aclose(self) -> None:
        """Close every peer connection and wait for them."""
        links, self._links = list(self._links.values()), {}
        await asyncio.gather(*(_stop(link) for link in links), return_exceptions=True)


def _stop(link: _Link) -> asyncio.Future:
    if link.give_up is not None:
        link.give_up.cancel()
    return asyncio.ensure_future(link.pc.close())


def _failure(link: _Link, waited_ms: int | None = None) -> str:
    """:func:`~.diagnosis.failure_reason` from the peer connection as it stands."""
    pc, local, remote = link.pc, [], []
    try:
        ice = pc.sctp.transport.transport
        local = [c.type for c in ice.iceGatherer.getLocalCandidates()]
        remote = [c.type for c in ice.getRemoteCandidates()]
    except AttributeError:  # no SCTP transport yet
        pass
    return failure_reason(pc.iceConnectionState, pc.connectionState, link.opened, local, remote, waited_ms)


def _handshake(desc) -> HandshakeInfo:
    """0.2.5's HandshakeInfo: SDP as JSON text (browser key order), candidates listed too."""
    candidates = tuple(
        IceCandidate(line[2:].strip(), "0", 0, None)
        for line in desc.sdp.splitlines()
        if line.startswith("a=candidate:")
    )
    return HandshakeInfo(json.dumps({"sdp": desc.sdp, "type": desc.type}, separators=(",", ":")), candidates)
