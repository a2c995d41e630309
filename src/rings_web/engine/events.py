"""What the engine asks of its driver (actions) and tells its application (events)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Union

from ..did import Did
from ..errors import RingsError
from ..wire.codec import quick_init
from ..wire.types import HandshakeInfo, MessagePayload

__all__ = [
    "SendFrames", "CreateOffer", "AcceptOffer", "ApplyAnswer", "CloseTransport", "Action",
    "PeerConnected", "PeerDisconnected", "MessageReceived", "RequestDone", "LookupResult", "RequestFailed",
    "PayloadRejected", "HandshakeFailed", "Event",
]


# -- actions: performed by the driver -----------------------------------------------------------
@quick_init
@dataclass(frozen=True, slots=True)
class SendFrames:
    """Send these data-channel frames, in order, on the transport to ``peer``."""

    transport_id: str
    peer: Did
    frames: tuple[bytes, ...]


@dataclass(frozen=True, slots=True)
class CreateOffer:
    """Create a peer connection and its offer; answer with ``Engine.offer_ready``."""

    transport_id: str


@dataclass(frozen=True, slots=True)
class AcceptOffer:
    """Create a peer connection for ``remote`` from its offer; answer with ``Engine.answer_ready``."""

    transport_id: str
    remote: Did
    offer: HandshakeInfo


@dataclass(frozen=True, slots=True)
class ApplyAnswer:
    """Apply the remote answer to the pending transport we offered."""

    transport_id: str
    answer: HandshakeInfo


@dataclass(frozen=True, slots=True)
class CloseTransport:
    transport_id: str


Action = Union[SendFrames, CreateOffer, AcceptOffer, ApplyAnswer, CloseTransport]


# -- events: for the application ----------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PeerConnected:
    peer: Did


@dataclass(frozen=True, slots=True)
class PeerDisconnected:
    peer: Did


@dataclass(frozen=True, slots=True)
class MessageReceived:
    """A ``CustomMessage`` whose destination is this node; ``body`` decrypted if it came
    ``encrypted`` (SPEC §5.7)."""

    origin: Did
    body: bytes
    tx_id: uuid.UUID
    payload: MessagePayload
    encrypted: bool = False


@quick_init
@dataclass(frozen=True, slots=True)
class RequestDone:
    """An API call finished; ``value`` depends on the call (a VirtualNode, a DID, a string…)."""

    request_id: int
    value: Any


@quick_init
@dataclass(frozen=True, slots=True)
class LookupResult:
    """The value of a finished ``Engine.lookup``."""

    successor: Did
    """The node responsible for the key: its Chord successor."""
    hops: int
    """Nodes the lookup went through (0: answered by the asking node itself)."""


@dataclass(frozen=True, slots=True)
class RequestFailed:
    request_id: int
    error: RingsError


@dataclass(frozen=True, slots=True)
class PayloadRejected:
    """Input from a peer was dropped; the node carries on.  ``payload``: the verified payload
    dropped, when the application may answer it (an encrypted message that did not decrypt)."""

    transport_id: str | None
    error: RingsError
    payload: MessagePayload | None = None


@dataclass(frozen=True, slots=True)
class HandshakeFailed:
    """The driver could not create or complete a transport (no WebRTC, a bad SDP, ICE failed…)."""

    transport_id: str
    remote: Did | None
    error: RingsError


Event = Union[PeerConnected, PeerDisconnected, MessageReceived, RequestDone, RequestFailed, PayloadRejected,
              HandshakeFailed]
