"""Request tracking: the API calls a node has not answered yet, their deadlines and results.

Each API call gets a request id at once; its outcome comes later as a :class:`RequestDone`
or :class:`RequestFailed` event.  A request that sent a message is found again by that
message's ``tx_id`` when the answer comes back.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any, Iterator

from ..did import Did
from ..errors import RingsError
from ..wire.types import Message, VNodeOperation
from .events import Event, RequestDone, RequestFailed

__all__ = ["RequestKind", "Request", "Requests"]


class RequestKind(Enum):
    """What an API call asked for, and so what its :class:`RequestDone` carries."""

    OFFER = "offer"
    """``create_offer``: the signed offer string."""
    ANSWER = "answer"
    """``answer_offer``: the signed answer string."""
    ACCEPT = "accept"
    """``accept_answer``: the answerer's :class:`Did`."""
    CONNECT = "connect"
    """``connect``: the :class:`Did` now linked."""
    STORE = "store"
    """``store``: the :class:`VirtualNode` as its owner holds it."""
    FETCH = "fetch"
    """``fetch``: the :class:`VirtualNode` found; ``locate``: it and the DID of the node whose
    answer brought it."""
    LOOKUP = "lookup"
    """``lookup``: a :class:`LookupResult`."""


@dataclass(slots=True)
class Request:
    id: int
    kind: RequestKind
    deadline: int
    key: Any = None  # the DID connected to / fetched / stored / looked up
    tx_id: uuid.UUID | None = None  # of the request message, when one was sent
    op: VNodeOperation | None = None  # a store's operation, to check the owner's answer against
    acked_tx: uuid.UUID | None = None  # a store's OperateVNode, once a read-back replaced it
    resent: bool = False  # a store sent again after its read-back found it missing
    sent: tuple[Message, Did, Did] | None = None  # (message, destination, first hop) last sent
    rerouted: bool = False  # sent again because its first hop's link closed
    locate: bool = False  # a fetch done with (VNode, who answered): kept here, not per id on the node

    @property
    def awaits_ack(self) -> bool:
        """A store whose OperateVNode went out and has not been read back yet."""
        return self.op is not None and self.acked_tx is None and self.tx_id is not None


class Requests:
    """The open requests of one node; finishing one appends its event to ``events``."""

    def __init__(self, timeout_ms: int, events: deque[Event]) -> None:
        self.timeout_ms = timeout_ms
        self.events = events
        self.open: dict[int, Request] = {}
        self._by_tx: dict[uuid.UUID, int] = {}  # tx_id of a request message -> request id
        self._ids = itertools.count(1)

    def __iter__(self) -> Iterator[Request]:
        return iter(self.open.values())

    def __contains__(self, rid: object) -> bool:
        return rid in self.open

    def new(self, kind: RequestKind, now: int, key: Any = None) -> Request:
        rid = next(self._ids)
        req = self.open[rid] = Request(rid, kind, now + self.timeout_ms, key)
        return req

    def sent(self, req: Request, tx_id: uuid.UUID, msg: Message, destination: Did, hop: Did) -> None:
        """``req`` sent ``msg`` to ``destination`` through ``hop``: its answer carries ``tx_id``."""
        self._by_tx[tx_id] = req.id
        req.tx_id, req.sent = tx_id, (msg, destination, hop)

    def forget_tx(self, tx_id: uuid.UUID | None) -> None:
        """Answers to ``tx_id`` no longer finish its request (it was sent again)."""
        self._by_tx.pop(tx_id, None)

    def answered_by(self, tx_id: uuid.UUID) -> Request | None:
        """The open request whose message had ``tx_id``."""
        rid = self._by_tx.get(tx_id)
        return self.open.get(rid) if rid is not None else None

    def expired(self, now: int) -> list[Request]:
        return [r for r in self.open.values() if r.deadline <= now]

    def connecting(self, did: Did | None) -> list[Request]:
        """The ``connect`` requests waiting for a link to ``did``."""
        return [r for r in self.open.values() if r.kind is RequestKind.CONNECT and r.key == did]

    def done(self, rid: int, value: Any, by: Did | None = None) -> int:
        """Finish ``rid`` with ``value``; a locating fetch with ``(value, by)``, ``by`` the node
        whose answer brought it."""
        req = self.open.get(rid)
        if req is not None and req.locate:
            value = (value, by)
        return self._finish(rid, RequestDone(rid, value))

    def fail(self, rid: int, error: RingsError) -> int:
        return self._finish(rid, RequestFailed(rid, error))

    def _finish(self, rid: int, event: Event) -> int:
        req = self.open.pop(rid, None)
        if req is not None:
            self._by_tx.pop(req.tx_id, None)
            self._by_tx.pop(req.acked_tx, None)
            self.events.append(event)
        return rid
