"""The application's events, defined once: a frozen class per event with its public name.

:meth:`Client.on <rings_web.client.Client.on>` listeners get these objects; the browser hands
JS ``event.name`` and ``event.to_json()`` (bytes stay bytes: a ``Uint8Array`` in JS), and tells
JS the names (:data:`EVENT_NAMES`) when it boots, so ``js/index.mjs`` keeps no list of its own.
Errors cross to JS in one structured form too: :func:`error_json`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import ClassVar

from .did import Did
from .engine.events import MessageReceived
from .errors import DecodeError, LocalError, RemoteError, RingsError
from .message.custom import FLAG_RAW, BackendMessage, BackendType, parse_body
from .wire.types import MessagePayload

__all__ = ["Message", "PeerConnect", "PeerDisconnect", "PayloadRejection", "Progress", "AccountsChanged",
           "ApiEvent", "EVENTS", "EVENT_NAMES", "error_json"]


def error_json(error: BaseException) -> dict:
    """``{name, message, details}`` of an error as JS sees it: ``name`` is the Python type
    (``InvalidArgument``, ``SignatureRejected``…), ``details.family`` its RingsError family."""
    family = next((f.__name__ for f in (RemoteError, LocalError) if isinstance(error, f)),
                  "RingsError" if isinstance(error, RingsError) else None)
    return {"name": type(error).__name__, "message": str(error)[:2000], "details": {"family": family}}


@dataclass(frozen=True, slots=True)
class Message:
    """A custom message addressed to this node, with its rings-node body decoded (SPEC §6.1).

    ``message_type`` is the BackendMessage type (2 = text) when the body has that shape
    (type, 30 zero bytes, data), else None: raw ``send_message`` bytes, given whole in ``data``.
    ``path`` is the relay path: the origin, then every node that forwarded it; ``body`` the
    whole CustomMessage body as it came (flag header included).
    """

    name: ClassVar[str] = "message"
    origin: Did
    tx_id: uuid.UUID
    message_type: int | None
    data: bytes
    path: tuple[Did, ...] = ()
    body: bytes = b""
    payload: MessagePayload | None = field(default=None, repr=False, compare=False)  # for a reply

    @property
    def text(self) -> str | None:
        """The text of a SimpleText message (invalid UTF-8 replaced), else None."""
        if self.message_type != BackendType.SimpleText:
            return None
        return self.data.decode("utf-8", "replace")

    @classmethod
    def from_event(cls, event: MessageReceived) -> "Message":
        body, path, p = bytes(event.body), event.payload.relay.path, event.payload
        try:
            flag, content = parse_body(body)
        except DecodeError:
            return cls(event.origin, event.tx_id, None, body, path, body, p)
        if flag == FLAG_RAW and len(content) >= 32 and not any(content[2:32]):
            msg = BackendMessage.decode(content)
            return cls(event.origin, event.tx_id, msg.message_type, msg.data, path, body, p)
        return cls(event.origin, event.tx_id, None, content, path, body, p)

    def to_json(self) -> dict:
        return {"from": self.origin.hex(), "txId": str(self.tx_id), "type": self.message_type, "data": self.data,
                "text": self.text, "path": [d.hex() for d in self.path], "body": self.body}


@dataclass(frozen=True, slots=True)
class _PeerEvent:
    did: Did

    def to_json(self) -> dict:
        return {"did": self.did.hex()}


@dataclass(frozen=True, slots=True)
class PeerConnect(_PeerEvent):
    """A link to ``did`` is up."""

    name: ClassVar[str] = "peer:connect"


@dataclass(frozen=True, slots=True)
class PeerDisconnect(_PeerEvent):
    """The link to ``did`` is gone."""

    name: ClassVar[str] = "peer:disconnect"


@dataclass(frozen=True, slots=True)
class PayloadRejection:
    """A peer sent something this node dropped (bad signature, expired, a relay loop…)."""

    name: ClassVar[str] = "payload:rejected"
    error: RingsError

    def to_json(self) -> dict:
        return {"error": type(self.error).__name__, "message": str(self.error)[:300]}


@dataclass(frozen=True, slots=True)
class Progress:
    """A boot stage of the browser node (``createNode``'s ``onProgress``)."""

    name: ClassVar[str] = "progress"
    stage: str  # runtime, python, wallet, storage, ready
    at: int  # ms since the epoch, when the stage began
    warm: bool | None = None  # with "python": whether Python came from the boot snapshot

    def to_json(self) -> dict:
        return {"stage": self.stage, "at": self.at, **({"warm": self.warm} if self.warm is not None else {})}


@dataclass(frozen=True, slots=True)
class AccountsChanged:
    """The wallet switched accounts; the node keeps its session for ``address``."""

    name: ClassVar[str] = "wallet:accountsChanged"
    accounts: tuple[str, ...]
    address: Did

    def to_json(self) -> dict:
        return {"accounts": list(self.accounts), "address": self.address.hex()}


ApiEvent = Message | PeerConnect | PeerDisconnect | PayloadRejection | Progress | AccountsChanged
EVENTS = (Message, PeerConnect, PeerDisconnect, PayloadRejection, Progress, AccountsChanged)
EVENT_NAMES = tuple(e.name for e in EVENTS)
