"""``Client.storage_locate``: the node that holds a stored item, as the network answers it (the
origin of the FoundVNode that finished the fetch), not as the asker would guess it."""

from __future__ import annotations

import asyncio
import os

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
