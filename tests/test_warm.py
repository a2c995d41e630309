"""rings_web.warm: the message path run in idle time, with nothing leaving it."""

from __future__ import annotations

from rings_web.api_events import Message
from rings_web.crypto import default_backend
from rings_web.session import LocalKeySigner
from rings_web.warm import _KEY, warm_up

NOW = 1_795_339_300_500


def test_warm_up_verifies_and_converts_texts_of_its_own_key_a_round_at_a_time():
    crypto = default_backend()
    got: list[Message] = []
    coro, yields = warm_up(crypto, got.append, rounds=3, now=NOW), 0
    try:
        while True:  # asyncio.sleep(0) is a bare yield: driven here without an event loop (Pyodide has none to run)
            coro.send(None)
            assert len(got) == max(yields - 1, 0)  # a round between two yields, the first after two
            yields += 1
    except StopIteration:
        pass
    assert len(got) == 3 and len({m.tx_id for m in got}) == 3
    assert {m.origin for m in got} == {LocalKeySigner(_KEY, crypto=crypto).address}
    assert all(m.message_type == 2 and m.text == "warm-up " * 128 for m in got)
