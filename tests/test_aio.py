"""The asyncio driver over the in-memory transport: real event loop, real clock, real signatures."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from rings_web.crypto import default_backend
from rings_web.did import Did
from rings_web.drivers.aio import AsyncDriver, wall_clock_ms
from rings_web.engine.config import Config
from rings_web.engine.events import MessageReceived
from rings_web.engine.core import Engine
from rings_web.errors import NotFound
from rings_web.message.custom import BackendType, backend_body
from rings_web.session import LocalKeySigner, SessionManager
from rings_web.transport.memory import MemoryHub
from rings_web.wire.types import Overwrite, VirtualNode

pytestmark = pytest.mark.cpython_only(reason="asyncio.run needs stack switching in Pyodide; the driver itself is pure asyncio")


async def make(hub: MemoryHub, i: int) -> AsyncDriver:
    crypto = default_backend()
    session = await SessionManager.create(LocalKeySigner(os.urandom(32)), crypto=crypto, now=wall_clock_ms(),
                                          random_bytes=os.urandom)
    node = AsyncDriver(Engine(session, rng=random.Random(i), config=Config(stabilize_interval_ms=200)), hub.transport(f"n{i}"))
    node.start()
    return node


async def handshake(a: AsyncDriver, b: AsyncDriver) -> None:
    offer = await a.create_offer()
    answer = await b.answer_offer(offer)
    assert await a.accept_answer(answer) == b.address


def test_two_nodes_message_and_storage():
    async def main():
        hub = MemoryHub()
        a, b = await make(hub, 1), await make(hub, 2)
        inbox: asyncio.Queue = asyncio.Queue()
        b.on_event(lambda e: inbox.put_nowait(e) if isinstance(e, MessageReceived) else None)
        await handshake(a, b)
        await asyncio.sleep(0.05)
        a.send_message(b.address, backend_body(BackendType.SimpleText, b"hello"))
        got = await asyncio.wait_for(inbox.get(), 5)
        assert got.origin == a.address and got.body.endswith(b"hello")
        vnode = VirtualNode(Did.from_topic("aio"), ("x",))
        assert await asyncio.wait_for(a.store(Overwrite(vnode)), 5) == vnode
        assert await asyncio.wait_for(b.fetch(vnode.did), 5) == vnode
        with pytest.raises(NotFound):
            await asyncio.wait_for(b.fetch(Did.from_topic("absent")), 5)
        a.close()
        b.close()

    asyncio.run(main())


def test_ring_of_eight_on_a_real_loop():
    async def main():
        hub = MemoryHub()
        nodes = [await make(hub, i) for i in range(8)]
        for i in range(1, 8):
            await handshake(nodes[i], nodes[i - 1])
        ids = sorted(n.address for n in nodes)
        want = {d: ids[(i + 1) % 8] for i, d in enumerate(ids)}
        for _ in range(300):  # stabilization every 200 ms: bounded wait (generous: shared, loaded cores)
            if all(n.node.ring.successors.first() == want[n.address] for n in nodes):
                break
            await asyncio.sleep(0.1)
        wrong = {n.address.hex(): n.node.ring.successors.first() for n in nodes if n.node.ring.successors.first() != want[n.address]}
        assert not wrong, f"successors still wrong after 30 s: {wrong}"
        inbox = []
        nodes[5].on_event(lambda e: inbox.append(e) if isinstance(e, MessageReceived) else None)
        nodes[0].send_message(nodes[5].address, backend_body(2, b"across"))
        for _ in range(250):  # bounded: 5 s (it missed 1 s once on a loaded CI run, a round's prune under it)
            if inbox:
                break
            await asyncio.sleep(0.02)
        assert inbox and inbox[0].origin == nodes[0].address
        for n in nodes:
            n.close()

    asyncio.run(main())
