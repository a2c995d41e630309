"""``Client.storage_locate``: the node that holds a stored item, as the network answers it (the
origin of the FoundVNode that finished the fetch), not as the asker would guess it."""

from __future__ import annotations

import asyncio
import os
from collections import deque

import pytest

from rings_web.client import start_client
from rings_web.engine.config import Config
from rings_web.session import LocalKeySigner
from rings_web.transport.memory import MemoryHub
from test_client import until

pytestmark = pytest.mark.cpython_only(reason="asyncio.run needs stack switching in Pyodide; the browser tests run it there")


def owner(vid, dids):
    """0.2.5's holder of ``vid``: the node ``n`` with ``vid`` in ``(n, successor of n]``, the
    first one counter-clockwise from it (SPEC §7.7; not Chord's successor)."""
    return min(dids, key=lambda d: (int(vid.hex(), 16) - int(d.hex(), 16) - 1) % 2**160)


def test_storage_locate_names_the_node_whose_answer_brought_the_item():
    async def main():
        hub = MemoryHub()
        config = Config(stabilize_interval_ms=600_000, replicas=0)  # no replica: only the owner can answer
        a, b = [await start_client(LocalKeySigner(os.urandom(32)), hub.transport(n), config=config) for n in "ab"]
        await a.accept_answer(await b.answer_offer(await a.create_offer()))
        await until(lambda: a.get_peer(b.address) and b.get_peer(a.address))
        for i in range(4):
            vid = await a.storage_store(f"note {i}")
            holder = owner(vid, [a.address, b.address])
            for asker in (a, b):  # one holds it (answered at once), the other asks it over the link
                vnode, held_by = await asker.storage_locate(vid)
                assert (held_by, vnode.did) == (holder, vid)
            other = b if holder == a.address else a
            assert other.node.node.storage.get(vid) is None  # the answer could come from the holder only
        assert await a.storage_locate("0x" + "00" * 20) is None
        for n in (a, b):
            n.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def held(engine) -> int:
    """Entries in every dict, set, list and deque the engine and its parts hold, storage aside."""
    parts = (engine, engine.requests, engine.links, engine.router, engine.vnodes, engine.chord)
    return sum(len(v) for part in parts for v in vars(part).values()
               if isinstance(v, (dict, set, list, deque)) and v is not engine.storage)


def test_locating_many_ids_leaves_nothing_per_id_on_the_node():
    # who answered rides on each fetch's result: a long-running node fetching ever new ids
    # keeps no map of them (it kept two, one entry per id found, before)
    async def main():
        hub = MemoryHub()
        config = Config(stabilize_interval_ms=600_000, replicas=0)
        a, b = [await start_client(LocalKeySigner(os.urandom(32)), hub.transport(n), config=config) for n in "ab"]
        await a.accept_answer(await b.answer_offer(await a.create_offer()))
        await until(lambda: a.get_peer(b.address) and b.get_peer(a.address))
        engine = a.node.node
        vids = [await b.storage_store(f"item {i}") for i in range(60)]
        before = held(engine)
        for vid in vids:
            vnode, held_by = await a.storage_locate(vid)
            assert (vnode.did, held_by) == (vid, owner(vid, [a.address, b.address]))
            await a.storage_fetch(vid)
        assert held(engine) - before < 10, (before, held(engine))
        for n in (a, b):
            n.close()

    asyncio.run(asyncio.wait_for(main(), 60))
