"""rings-web in Chromium and rings-web native (aiortc): the two flavours of rings-web over real
WebRTC, through the same 0.2.5 wire.  Handshakes both ways (manual strings passed by the test,
and the page's ``connect_peer_via_http`` to a native JSON-RPC endpoint), every kind of body
both ways, storage and services across the two.
"""

from __future__ import annotations

import os

import pytest

from _native import NativeNode
from _peers import NativePeer, PagePeer, link
from _support import wait_until
from rings_web.did import Did
from rings_web.message.custom import (
    BackendType, HttpRequest, HttpResponse, backend_body, encode_http_request, encode_http_response, raw_body,
)

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]


# A page per test, not per module: when Debian's Chromium loses a renderer ("Target crashed",
# now and then), scripts/test.sh runs the test once more, and a module's page would still be the
# crashed one (CI at e3a715f: the first test's crash failed all seven). Booting costs ~2 s a test.
@pytest.fixture
def page(open_node):
    return PagePeer(open_node(os.urandom(32).hex()))


@pytest.fixture(scope="module")
def natives(native_loop):
    made = []
    yield lambda: made.append(NativeNode(native_loop)) or NativePeer(made[-1])
    for n in made:
        n.close()


@pytest.fixture
def pair(page, natives):
    """The page and a native node, linked (page offering)."""
    n = natives()
    link(page, n)
    return page, n


def bodies(tag: str) -> list[bytes]:
    """One body of every kind an application can send (SPEC §6.1)."""
    return [
        backend_body(BackendType.SimpleText, f"text {tag}, ünïcode".encode()),
        raw_body(f"raw {tag}".encode() + os.urandom(40)),
        backend_body(7, os.urandom(3000)),
        backend_body(BackendType.HttpRequest, encode_http_request(HttpRequest("svc", "GET", f"/{tag}"))),
        backend_body(BackendType.HttpResponse, encode_http_response(HttpResponse(200, {"x": tag}, b"ok"))),
        backend_body(65535, b""),
        os.urandom(1) + bytes(3) + os.urandom(100),  # any flag: rings-web hands over the body as it came
    ]


@pytest.mark.parametrize("offerer", ["browser", "native"])
def test_manual_handshake(page, natives, offerer):
    n = natives()
    a, b = (page, n) if offerer == "browser" else (n, page)
    link(a, b)  # raises unless both sides registered the link at the first try
    a.send_text(b.did, f"hello from the {offerer} offerer")
    assert wait_until(lambda: (a.did, f"hello from the {offerer} offerer") in b.texts(), 10)
    b.send_text(a.did, "and back")
    assert wait_until(lambda: (b.did, "and back") in a.texts(), 10)
    assert page.rejected() == [] and n.rejected() == []


def test_page_connects_to_a_native_node_over_http(page, natives, native_loop):
    from rings_web.native.http import HttpServer
    from rings_web.native.jsonrpc import JsonRpc

    n = natives()
    server = HttpServer(JsonRpc(n.n.client, "no auth methods used here"), port=0)
    native_loop.run(server.start())
    try:
        transport = page.api("connectPeerViaHttp", server.url)  # CORS preflight + POST answerOffer, from the page
        assert isinstance(transport, str) and len(transport) == 36
        assert wait_until(lambda: n.linked(page.did) and page.linked(n.did), 10)
        page.send_text(n.did, "over the link made through HTTP")
        assert wait_until(lambda: (page.did, "over the link made through HTTP") in n.texts(), 10)
    finally:
        native_loop.run(server.close())


@pytest.mark.parametrize("sender", ["browser", "native"])
def test_every_body_arrives_intact(pair, sender):
    page, n = pair
    a, b = (page, n) if sender == "browser" else (n, page)
    sent = bodies(sender)
    for body in sent:
        a.send(b.did, body)
    assert wait_until(lambda: all((a.did, body) in b.inbox() for body in sent), 15)
    assert page.rejected() == [] and n.rejected() == []


@pytest.mark.parametrize("writer", ["browser", "native"])
def test_storage_and_services_across_the_flavours(pair, writer):
    page, n = pair
    w, reader = (page, n) if writer == "browser" else (n, page)
    texts = [f"stored by the {writer} node #{i}" for i in range(4)]  # ids spread over the ring
    for text in texts:
        assert w.store(text) == Did.from_topic(text).hex()
    for text in texts:
        assert reader.fetch(Did.from_topic(text).hex()) == [text]
    assert reader.fetch(Did.from_topic(f"never stored by {writer}").hex()) is None
    name = f"service of the {writer} node"
    w.register_service(name)
    assert reader.lookup_service(name) == [w.did]
    assert page.rejected() == [] and n.rejected() == []
