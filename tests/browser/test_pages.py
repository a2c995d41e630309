"""Two Chromium pages, each a rings-web node in Pyodide, link over WebRTC and exchange messages."""

import pytest

from _support import wait_until
from _vectors import VECTORS
from rings_web.message.backend import backend_body

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
KEYS = VECTORS["test_keys"]


def wait(predicate, timeout=20.0):
    return wait_until(predicate, timeout, step=0.1)


def test_two_pages_handshake_and_message(open_node):
    a, b = open_node(KEYS["A"]["priv"]), open_node(KEYS["B"]["priv"])
    assert a.api("backend") == "pyodide" and a.api("address") == KEYS["A"]["address"]
    offer = a.api("createOffer")
    answer = b.api("answerOffer", offer)
    assert a.api("acceptAnswer", answer) == KEYS["B"]["address"]
    assert wait(lambda: a.api("peers") == [KEYS["B"]["address"]] and b.api("peers") == [KEYS["A"]["address"]])
    body = backend_body(2, "from a page".encode())
    a.api("send", KEYS["B"]["address"], body.hex())
    assert wait(lambda: [KEYS["A"]["address"], body.hex()] in b.api("inbox"))
