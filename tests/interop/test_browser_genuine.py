"""rings-web in Chromium (Pyodide) and the genuine 0.2.5 node: handshake both ways, text both ways."""

import pytest

from _support import wait_until
from _vectors import VECTORS
from rings_web.message.backend import backend_body

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
KEYS = VECTORS["test_keys"]


def wait(predicate, timeout=15.0):
    return wait_until(predicate, timeout, step=0.2)


@pytest.mark.parametrize("offerer", ["rings-web", "genuine"])
def test_page_and_genuine_node(open_node, genuine, offerer):
    gpage = f"G-page-{offerer}"
    genuine.request("open", gpage)
    g = genuine.call(gpage, "start", KEYS["A"]["priv"], "stun://127.0.0.1:3478", f"oracle-{gpage}")
    page = open_node(KEYS["C"]["priv"])
    me = page.api("address")
    for attempt in range(1, 4):  # the genuine answerer's registration race (SPEC §10 item 2)
        if offerer == "rings-web":
            answer = genuine.call(gpage, "answerOffer", page.api("createOffer"))
            assert page.api("acceptAnswer", answer) == g["address"]
        else:
            genuine.call(gpage, "acceptAnswer", page.api("answerOffer", genuine.call(gpage, "createOffer")))
        if wait(lambda: g["address"] in page.api("peers")
                and any(p["state"] == "connected" for p in genuine.call(gpage, "listPeers")), 10):
            break
        print(f"handshake attempt {attempt} did not register on both sides")
    else:
        pytest.fail("no link after 3 handshakes")
    print(f"link up after {attempt} handshake(s), {offerer} offering")
    genuine.call(gpage, "sendSimpleText", me[2:], "genuine to page")
    want = [g["address"], backend_body(2, b"genuine to page").hex()]
    assert wait(lambda: want in page.api("inbox"))
    page.api("send", g["address"], backend_body(2, "page to genuine".encode()).hex())
    assert wait(lambda: b"page to genuine" in genuine.custom_texts(gpage))
