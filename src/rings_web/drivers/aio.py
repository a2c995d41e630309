"""asyncio driver: runs a :class:`~rings_web.engine.core.Engine` on an event loop.

The same driver serves CPython (with the aiortc transport) and Pyodide (its WebLoop, with
the browser transport).  In aioquic's manner it only moves data: feed the engine, perform
its actions through a :class:`Transport`, turn request events into futures, re-arm one
timer.  The clock is read here and nowhere in the engine.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Callable, Protocol

from ..did import Did
from ..engine.events import (
    AcceptOffer, ApplyAnswer, CloseTransport, CreateOffer, Event, RequestDone, RequestFailed, SendFrames,
)
from ..engine.core import Engine
from ..errors import ConnectionFailed, RingsError
from ..wire.types import HandshakeInfo, MessagePayload, VNodeOperation, VirtualNode

__all__ = ["Transport", "AsyncDriver", "wall_clock_ms"]

MAX_TIMER_S = 1.0


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


class Transport(Protocol):
    """What a transport (memory, aiortc, browser) does for the driver.

    It reports back through the callbacks the driver passes to :meth:`bind`:
    ``opened(transport_id)``, ``frame(transport_id, bytes)``, ``closed(transport_id, reason)``
    (``reason``: None when the link was closed, a text saying why when it failed: ICE, DTLS).
    The handshake coroutines raise :class:`~rings_web.errors.RingsError` when they fail.
    """

    def bind(self, opened: Callable[[str], None], frame: Callable[[str, bytes], None],
             closed: Callable[[str, str | None], None]) -> None: ...

    async def create_offer(self, transport_id: str) -> HandshakeInfo: ...

    async def accept_offer(self, transport_id: str, remote: Did, offer: HandshakeInfo) -> HandshakeInfo: ...

    async def apply_answer(self, transport_id: str, answer: HandshakeInfo) -> None: ...

    def send(self, transport_id: str, frames: tuple[bytes, ...]) -> None: ...

    def close(self, transport_id: str) -> None: ...

    def selected_pair(self, transport_id: str) -> dict | None:
        """The link's selected ICE candidate pair, ``{"local", "remote", "protocol"}`` (types:
        host, srflx, prflx, relay), or None while unknown (or no ICE underneath)."""


class AsyncDriver:
    """A node on an asyncio loop: ``await node.fetch(vid)`` instead of request ids.

    Create it inside a running loop (CPython's, or Pyodide's WebLoop).

    Args:
        node: the engine.
        transport: performs the engine's transport actions.
        clock: ms since the epoch (``wall_clock_ms`` by default).
    """

    def __init__(self, node: Engine, transport: Transport, clock: Callable[[], int] = wall_clock_ms) -> None:
        self.node = node
        self.transport = transport
        self.clock = clock
        self._loop = asyncio.get_running_loop()
        self._futures: dict[int, asyncio.Future] = {}
        self._listeners: list[Callable[[Event], Any]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0  # when the armed timer fires (ms)
        self._tasks: set[asyncio.Task] = set()
        transport.bind(self._opened, self._frame, self._closed)

    @property
    def address(self) -> Did:
        return self.node.me

    def start(self) -> None:
        self.node.start(self.clock())
        self._pump()

    def on_event(self, listener: Callable[[Event], Any]) -> None:
        """Call ``listener(event)`` for every engine event (MessageReceived, PeerConnected…)."""
        self._listeners.append(listener)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        for tid in self.node.transport_ids:
            self.transport.close(tid)
        for task in self._tasks:
            task.cancel()

    # -- API --------------------------------------------------------------------------------------
    async def create_offer(self) -> str:
        return await self._request(self.node.create_offer)

    async def answer_offer(self, offer: str) -> str:
        return await self._request(lambda now: self.node.answer_offer(offer, now))

    async def accept_answer(self, answer: str) -> Did:
        return await self._request(lambda now: self.node.accept_answer(answer, now))

    async def connect(self, did: Did) -> Did:
        return await self._request(lambda now: self.node.connect(did, now))

    async def store(self, op: VNodeOperation) -> VirtualNode:
        return await self._request(lambda now: self.node.store(op, now))

    async def fetch(self, vid: Did) -> VirtualNode:
        return await self._request(lambda now: self.node.fetch(vid, now))

    async def locate(self, vid: Did) -> tuple[VirtualNode, Did]:
        return await self._request(lambda now: self.node.locate(vid, now))

    def disconnect(self, did: Did) -> None:
        self.node.disconnect(did, self.clock())
        self._pump()

    def close_transport(self, transport_id: str) -> None:
        """Abandon a transport, pending or connected."""
        self.node.close_transport(transport_id, self.clock())
        self._pump()

    def send_message(self, destination: Did, body: bytes, encrypted: bool = False) -> uuid.UUID:
        tx_id = self.node.send_message(destination, body, self.clock(), encrypted)
        self._pump()
        return tx_id

    def reply_message(self, request: MessagePayload, body: bytes) -> uuid.UUID:
        tx_id = self.node.reply_message(request, body, self.clock())
        self._pump()
        return tx_id

    async def _request(self, call: Callable[[int], int]) -> Any:
        future = self._loop.create_future()
        rid = call(self.clock())
        self._futures[rid] = future
        self._pump()
        return await future

    # -- transport callbacks ----------------------------------------------------------------------
    def _opened(self, tid: str) -> None:
        self.node.transport_open(tid, self.clock())
        self._pump()

    def _frame(self, tid: str, data: bytes) -> None:
        self.node.receive(tid, data, self.clock())
        self._pump()

    def _closed(self, tid: str, reason: str | None = None) -> None:
        if reason is None:
            self.node.transport_closed(tid, self.clock())
        else:  # the call waiting for this link fails now, with the reason, not at its timeout
            self.node.handshake_failed(tid, ConnectionFailed(reason), self.clock())
        self._pump()

    # -- the pump ---------------------------------------------------------------------------------
    def _pump(self) -> None:
        for action in self.node.actions_to_perform():
            if isinstance(action, SendFrames):
                self.transport.send(action.transport_id, action.frames)
            elif isinstance(action, CreateOffer):
                self._spawn(self._offer(action.transport_id))
            elif isinstance(action, AcceptOffer):
                self._spawn(self._answer(action))
            elif isinstance(action, ApplyAnswer):
                self._spawn(self._apply(action))
            elif isinstance(action, CloseTransport):
                self.transport.close(action.transport_id)
        while (event := self.node.next_event()) is not None:
            if isinstance(event, (RequestDone, RequestFailed)):
                future = self._futures.pop(event.request_id, None)
                if future is not None and not future.done():
                    if isinstance(event, RequestDone):
                        future.set_result(event.value)
                    else:
                        future.set_exception(event.error)
            for listener in self._listeners:
                listener(event)
        self._arm_timer()

    def _arm_timer(self) -> None:
        """One timer for the engine's next deadline; kept when it fires no later than needed
        (an early wake-up is harmless: the engine re-reports its deadline)."""
        deadline = self.node.get_timer()
        if deadline is None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            return
        # at most MAX_TIMER_S ahead: Pyodide's WebLoop cannot clear a cancelled timer's
        # setTimeout, which would keep Node alive for a whole round after close()
        when = min(deadline, self.clock() + int(MAX_TIMER_S * 1000))
        if self._timer is not None and self._timer_at <= when:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = when
        self._timer = self._loop.call_later(max(0.0, (when - self.clock()) / 1000), self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.node.handle_timer(self.clock())
        self._pump()

    async def _offer(self, tid: str) -> None:
        try:
            info = await self.transport.create_offer(tid)
        except RingsError as e:
            self.node.handshake_failed(tid, e, self.clock())
        else:
            self.node.offer_ready(tid, info, self.clock())
        self._pump()

    async def _answer(self, action: AcceptOffer) -> None:
        try:
            info = await self.transport.accept_offer(action.transport_id, action.remote, action.offer)
        except RingsError as e:
            self.node.handshake_failed(action.transport_id, e, self.clock())
        else:
            self.node.answer_ready(action.transport_id, info, self.clock())
        self._pump()

    async def _apply(self, action: ApplyAnswer) -> None:
        try:
            await self.transport.apply_answer(action.transport_id, action.answer)
        except RingsError as e:
            self.node.handshake_failed(action.transport_id, e, self.clock())
            self._pump()

    def _spawn(self, coro) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
