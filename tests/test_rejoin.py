"""A node that comes back with the DID (and kept session) of a link its peer still holds: a page
reloaded within seconds, before the seed noticed the old page's link die.  The seed answers its
new offer (0.2.5 refuses while the old transport looks alive: "Found existing transport"), and
the new link replaces the dead one when it opens."""

from __future__ import annotations

import asyncio
import os

import pytest

from rings_web.api_events import Message, PeerConnect, PeerDisconnect
from rings_web.client import Client, start_client
from rings_web.engine.config import Config
from rings_web.session import LocalKeySigner
from rings_web.transport.memory import MemoryHub
from test_client import until

pytestmark = pytest.mark.cpython_only(reason="asyncio.run needs stack switching in Pyodide; the browser tests run it there")
CONFIG = Config(stabilize_interval_ms=600_000, request_timeout_ms=2_000)


async def join(page: Client, seed: Client) -> None:
    """The page's bootstrap: its offer, answered by the seed (``connectPeerViaHttp`` in short)."""
    await page.accept_answer(await seed.answer_offer(await page.create_offer()))
    await until(lambda: page.get_peer(seed.address) and seed.get_peer(page.address))


def die_silently(page: Client) -> None:
    """The page is gone, and its far ends are not told (a closed tab whose link nobody has
    timed out yet): frames to it vanish."""
    page.node.close = lambda: None
    page.node.transport._links.clear()
    page.node._timer and page.node._timer.cancel()


def test_a_reloaded_page_rejoins_the_seed_that_still_holds_its_dead_link():
    async def main():
        hub = MemoryHub()
        seed = await start_client(LocalKeySigner(os.urandom(32)), hub.transport("seed"), config=CONFIG)
        events: list = []
        seed.on(events.append)
        old = await start_client(LocalKeySigner(os.urandom(32)), hub.transport("old"), config=CONFIG)
        await join(old, seed)
        dead = seed.get_peer(old.address).transport_id
        die_silently(old)

        # the reload: the same kept session (same DID), a new page
        page = await start_client(old.node.node.session, hub.transport("page"), config=CONFIG)
        assert page.address == old.address
        await join(page, seed)
        assert seed.get_peer(page.address).transport_id != dead  # the new link replaced the dead one
        assert dead not in seed.node.transport._links  # and the seed's transport let it go
        assert [type(e) for e in events if isinstance(e, (PeerConnect, PeerDisconnect))] == [
            PeerConnect, PeerDisconnect, PeerConnect]
        page.send_simple_text_message(seed.address, "back again")
        await until(lambda: any(isinstance(e, Message) and e.text == "back again" for e in events))
        for n in (seed, page):
            n.close()

    asyncio.run(asyncio.wait_for(main(), 30))
