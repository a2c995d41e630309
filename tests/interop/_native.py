"""Native rings-web nodes (aiortc) driven synchronously, beside Playwright's sync API.

Playwright's sync API refuses to run inside an asyncio loop, so the native nodes of a test
module live on one asyncio loop in a daemon thread; :class:`NativeNode` hands every call to
that loop and waits for it (bounded).  Engine events are recorded as they happen.
"""

from __future__ import annotations

import asyncio
import os
import random
import threading
import time

from rings_web.client import Client
from rings_web.crypto import default_backend
from rings_web.did import Did
from rings_web.drivers.aio import AsyncDriver, wall_clock_ms
from rings_web.engine.config import Config
from rings_web.engine.events import MessageReceived, PayloadRejected
from rings_web.engine.core import Engine
from rings_web.session import LocalKeySigner, SessionManager
from rings_web.transport.aiortc import AiortcTransport, loopback_only
from rings_web.wire import base58


class Loop:
    """One asyncio event loop in a daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="native-nodes", daemon=True)
        self._thread.start()

    def run(self, coro, timeout: float = 60):
        """Run ``coro`` on the loop; its result, or its exception, or TimeoutError."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, fn, *args, timeout: float = 30):
        """``fn(*args)`` on the loop thread (engine state is only touched there)."""
        async def call():
            return fn(*args)
        return self.run(call(), timeout)

    def close(self) -> None:
        async def drain():
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        try:
            self.run(drain(), 30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(30)


class NativeNode:
    """A rings-web node on aiortc with 127.0.0.1 host candidates.

    Args:
        loop: the :class:`Loop` it runs on.
        key: wallet key (hex); a random one by default.
        stabilize_ms: stabilization period (0.2.5's native default is 3 s).
    """

    def __init__(self, loop: Loop, key: str | None = None, stabilize_ms: int = 3000) -> None:
        self.loop = loop
        self.messages: list[MessageReceived] = []
        self.rejected: list[PayloadRejected] = []
        self.events: list[tuple[float, object]] = []  # (time.monotonic(), event) of every engine event

        async def make():
            loopback_only()
            session = await SessionManager.create(LocalKeySigner(key or os.urandom(32).hex()), crypto=default_backend(),
                                                  now=wall_clock_ms(), random_bytes=os.urandom)
            node = AsyncDriver(Engine(session, rng=random.Random(), config=Config(stabilize_interval_ms=stabilize_ms)),
                             AiortcTransport())
            node.on_event(self._event)
            node.start()
            return node

        self.node: AsyncDriver = loop.run(make())
        self.client = Client(self.node)

    def _event(self, event) -> None:
        self.events.append((time.monotonic(), event))
        if isinstance(event, MessageReceived):
            self.messages.append(event)
        elif isinstance(event, PayloadRejected):
            self.rejected.append(event)

    @property
    def address(self) -> Did:
        return self.node.address

    @property
    def hex(self) -> str:
        return self.node.address.hex()

    def inbox(self) -> list[tuple[str, bytes]]:
        """(origin DID hex, custom-message body) of every message received, in order."""
        return [(m.origin.hex(), m.body) for m in list(self.messages)]

    def peers(self) -> list[str]:
        return self.loop.call(lambda: [d.hex() for d in self.node.node.peers])

    def ring(self) -> dict:
        """Successors, predecessor and distinct fingers, as DID hex strings."""
        def read():
            ring = self.node.node.ring
            return {"successors": [d.hex() for d in ring.successors],
                    "predecessor": ring.predecessor.hex() if ring.predecessor else None,
                    "fingers": sorted({d.hex() for d in ring.fingers})}
        return self.loop.call(read)

    def create_offer(self) -> str:
        return self.loop.run(self.node.create_offer(), 30)

    def answer_offer(self, offer: str) -> str:
        return self.loop.run(self.node.answer_offer(offer), 30)

    def accept_answer(self, answer: str) -> str:
        return self.loop.run(self.node.accept_answer(answer), 30).hex()

    def connect(self, did: str, timeout: float = 30) -> str:
        """Connect through the ring (ConnectNodeSend); returns when the link is up."""
        return self.loop.run(self.client.connect_with_address(did), timeout).hex()

    def disconnect(self, did: str) -> None:
        self.loop.call(self.node.disconnect, Did.parse(did))

    def send(self, did: str, body: bytes) -> str:
        """Send a whole custom-message body (flag header included); returns the tx_id."""
        return str(self.loop.call(self.node.send_message, Did.parse(did), body))

    def store(self, text: str) -> str:
        return self.loop.run(self.client.storage_store(text), 30).hex()

    def fetch(self, vid: str) -> list[str] | None:
        """The decoded entries of the VNode ``vid``, or None when the DHT says there is none."""
        found = self.loop.run(self.client.storage_fetch(vid), 30)
        return None if found is None else [base58.decode_check(x).decode() for x in found.data]

    def stored(self) -> dict[str, list[str]]:
        """What this node owns in its store: VNode id hex -> decoded entries."""
        return self.loop.call(lambda: {v.did.hex(): [base58.decode_check(x).decode() for x in v.data]
                                       for v in self.node.node.storage})

    def register_service(self, name: str) -> None:
        self.loop.run(self.client.register_service(name), 30)

    def lookup_service(self, name: str) -> list[str]:
        return [d.hex() for d in self.loop.run(self.client.lookup_service(name), 30)]

    def close(self) -> None:
        async def close():
            self.node.close()
            await self.node.transport.aclose()
        self.loop.run(close(), 30)
