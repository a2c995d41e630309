"""Two native nodes over real WebRTC (aiortc) on 127.0.0.1, inside a loopback-only namespace."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

pytestmark = pytest.mark.cpython_only(reason="aiortc is the native transport")
aiortc = pytest.importorskip("aiortc", reason="aiortc is not installed (pip install aiortc)")

from _support import only_loopback  # noqa: E402
from rings_web.crypto import default_backend  # noqa: E402
from rings_web.did import Did  # noqa: E402
from rings_web.drivers.aio import AsyncDriver, wall_clock_ms  # noqa: E402
from rings_web.engine.config import Config  # noqa: E402
from rings_web.engine.events import MessageReceived  # noqa: E402
from rings_web.engine.core import Engine  # noqa: E402
from rings_web.message import payload as pl  # noqa: E402
from rings_web.session import LocalKeySigner, SessionManager  # noqa: E402
from rings_web.transport.aiortc import AiortcTransport, loopback_only  # noqa: E402
from rings_web.wire.types import Overwrite, VirtualNode  # noqa: E402


@pytest.fixture(autouse=True)
def loopback_namespace():
    if not only_loopback():
        pytest.skip("WebRTC tests run only in a loopback-only network namespace (scripts/test.sh does that)")
    loopback_only()


async def native_node(i: int) -> AsyncDriver:
    session = await SessionManager.create(LocalKeySigner(os.urandom(32)), crypto=default_backend(),
                                          now=wall_clock_ms(), random_bytes=os.urandom)
    node = AsyncDriver(Engine(session, rng=random.Random(i), config=Config(stabilize_interval_ms=3000)), AiortcTransport())
    node.start()
    return node


def test_two_native_nodes_connect_and_talk_over_aiortc():
    async def main():
        a, b = await native_node(1), await native_node(2)
        inbox: asyncio.Queue = asyncio.Queue()
        b.on_event(lambda e: inbox.put_nowait(e) if isinstance(e, MessageReceived) else None)
        offer = await asyncio.wait_for(a.create_offer(), 20)
        parsed = pl.payload_from_json(offer).data.offer
        assert parsed.candidates and all("127.0.0.1" in c.candidate for c in parsed.candidates)
        answer = await asyncio.wait_for(b.answer_offer(offer), 20)
        assert await asyncio.wait_for(a.accept_answer(answer), 20) == b.address
        for _ in range(100):
            if a.node.peers and b.node.peers:
                break
            await asyncio.sleep(0.1)
        assert a.node.peers == [b.address] and b.node.peers == [a.address]
        big = bytes(range(256)) * 400  # 102 400 bytes: two chunks on the wire
        a.send_message(b.address, b"\0\0\0\0" + big)
        got = await asyncio.wait_for(inbox.get(), 20)
        assert got.origin == a.address and got.body[4:] == big
        vnode = VirtualNode(Did.from_topic("over webrtc"), ("x",))
        assert await asyncio.wait_for(b.store(Overwrite(vnode)), 20) == vnode
        assert await asyncio.wait_for(a.fetch(vnode.did), 20) == vnode
        a.close()
        b.close()
        await asyncio.gather(a.transport.aclose(), b.transport.aclose())

    asyncio.run(asyncio.wait_for(main(), 90))
