"""rings-web in Chromium (Pyodide) and the genuine 0.2.5 node: handshake both ways, text both ways."""

import pytest

from _peers import GenuinePeer, PagePeer, link
from _support import wait_until
from _vectors import VECTORS

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
KEYS = VECTORS["test_keys"]


@pytest.mark.parametrize("offerer", ["rings-web", "genuine"])
def test_page_and_genuine_node(open_node, genuine, offerer):
    g = GenuinePeer(genuine, f"G-page-{offerer}", KEYS["A"]["priv"]).start()
    page = PagePeer(open_node(KEYS["C"]["priv"]))
    # a genuine answerer may never register the link (SPEC §10 item 2): link() retries that, counted
    attempts = link(page, g) if offerer == "rings-web" else link(g, page)
    print(f"link up after {attempts} handshake(s), {offerer} offering")
    g.send_text(page.did, "genuine to page")
    assert wait_until(lambda: (g.did, "genuine to page") in page.texts(), 15)
    page.send_text(g.did, "page to genuine, ünïcode")
    assert wait_until(lambda: (page.did, "page to genuine, ünïcode") in g.texts(), 15)
    assert page.rejected() == []
    g.close()
