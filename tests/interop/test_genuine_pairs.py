"""Two-node rings of a genuine 0.2.5 node and rings-web (in Chromium, and native on aiortc):
every kind of custom message both ways, storage and services across the two.

What a genuine *browser* hands to JavaScript is narrow (SPEC §6.2): BackendMessage type 2 to
``custom_message`` and type 4 to ``http_response_message``; everything else is dropped
silently.  rings-web hands every body to the application.  Storage uses 0.2.5's single-hop
placement (SPEC §7.7): in a 2-node ring an id belongs to the node whose range
``(self, other]`` holds it, and the first node asked is either the owner or linked to it.
"""

from __future__ import annotations

import os

import pytest

from _native import NativeNode
from _peers import GenuinePeer, NativePeer, PagePeer, link
from _support import wait_until
from rings_web.did import RING_SIZE, Did
from rings_web.message.custom import (
    BackendType, HttpRequest, HttpResponse, backend_body, decode_http_request, encode_http_request,
    encode_http_response, raw_body,
)

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
FLAVOURS = ["browser", "native"]


@pytest.fixture(scope="module")
def pairs(genuine, native_loop, open_module_node):
    """flavour -> (genuine peer, rings-web peer), each pair a ring of its own."""
    made, natives = {}, []
    for flavour in FLAVOURS:
        if flavour == "browser":
            r = PagePeer(open_module_node(os.urandom(32).hex()))
        else:
            natives.append(NativeNode(native_loop))
            r = NativePeer(natives[-1])
        g = GenuinePeer(genuine, f"pair-{flavour}", os.urandom(32).hex()).start()
        link(g, r)  # the genuine side offers: no answerer race (SPEC §10 item 2)
        made[flavour] = (g, r)
    yield made
    for n in natives:
        n.close()
    for g, _ in made.values():
        g.close()


def events_of(g: GenuinePeer, kind: str | None = None) -> list[dict]:
    return g.g.events(g.name, kind)


def tx_of(event: dict) -> str:
    return event["args"][0]["tx_id"]


# -- messages ---------------------------------------------------------------------------------
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_every_body_the_genuine_node_sends_reaches_rings_web_intact(pairs, flavour):
    g, r = pairs[flavour]
    data = os.urandom(1000)
    request = HttpRequest("svc", "POST", "/items?q=1", 5000, {"x-a": "1", "content-type": "text/plain"}, b"request body")
    sent = {
        "text": (g.call("sendSimpleText", r.did, "ünïcode text"), backend_body(BackendType.SimpleText, "ünïcode text".encode())),
        "raw": (g.call("sendMessage", r.did, (b"\x09raw " + data[:20]).hex()), raw_body(b"\x09raw " + data[:20])),
        "custom 7": (g.call("sendCustom", r.did, 7, data.hex()), backend_body(7, data)),
        "custom 65535, empty": (g.call("sendCustom", r.did, 65535, ""), backend_body(65535, b"")),
        "custom 4": (g.call("sendCustom", r.did, 4, data[:50].hex()), backend_body(4, data[:50])),
    }
    g.call("sendHttpRequest", r.did, request.name, request.method, request.path, request.timeout,
           request.headers, request.body.hex())
    want = [(g.did, body) for _, body in sent.values()]
    assert wait_until(lambda: all(x in r.inbox() for x in want) and len(r.inbox()) >= len(want) + 1, 15), \
        {k: (g.did, body) in r.inbox() for k, (_, body) in sent.items()}
    (http,) = [body for o, body in r.inbox() if o == g.did and body[:6] == b"\0\0\0\0\x03\0"]
    assert http[6:36] == bytes(30) and decode_http_request(http[36:]) == request
    # the API returns the tx_id (send_message returns true)
    assert [k for k, (tx, _) in sent.items() if not (isinstance(tx, str) and len(tx) == 36)] == ["raw"]
    assert r.rejected() == []


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_genuine_browser_surfaces_types_2_and_4_and_silently_drops_the_rest(pairs, flavour):
    g, r = pairs[flavour]
    before = len(events_of(g))
    response = HttpResponse(201, {"content-type": "text/plain", "x-b": "2"}, b"response body")
    text_tx = r.send_text(g.did, "text from rings-web")
    response_tx = r.send(g.did, backend_body(BackendType.HttpResponse, encode_http_response(response)))
    dropped = {  # none of these reaches JS in a genuine browser (SPEC §6.2, §10 item 18)
        "raw": raw_body(b"raw bytes, not a BackendMessage"),
        "custom 7": backend_body(7, b"application data"),
        "http request": backend_body(BackendType.HttpRequest, encode_http_request(HttpRequest("svc", "GET", "/"))),
        "empty (type 1)": backend_body(BackendType.Empty, b""),
        "flag 2": b"\x02\0\0\0" + backend_body(2, b"text behind an unknown flag")[4:],
    }
    dropped_tx = {r.send(g.did, body): kind for kind, body in dropped.items()}
    marker_tx = r.send_text(g.did, "marker: sent last")
    # the genuine node handles payloads in spawned tasks, not in order (SPEC §10 item 20)
    assert wait_until(lambda: {marker_tx, response_tx} <= {tx_of(e) for e in events_of(g)[before:]}, 15)
    new = events_of(g)[before:]
    texts = [(tx_of(e), bytes.fromhex(e["args"][1]["$bytes"])) for e in new if e["type"] == "custom_message"]
    assert sorted(texts) == sorted([(text_tx, b"text from rings-web"), (marker_tx, b"marker: sent last")])
    (http,) = [e for e in new if e["type"] == "http_response_message"]
    assert tx_of(http) == response_tx
    assert http["args"][1]["status"] == 201
    assert dict(http["args"][1]["headers"]["$map"]) == response.headers
    assert bytes.fromhex(http["args"][1]["body"]["$bytes"]) == response.body  # gunzipped, bincode-decoded
    assert not [e for e in new if tx_of(e) in dropped_tx], "a genuine callback saw a body it should drop"
    arrived = {str(p.tx_id) for d, p in g.g.payloads(g.name) if d == "in"}
    assert set(dropped_tx) <= arrived, "the dropped bodies never reached the genuine node"
    assert not g.g.request("errors"), "the genuine page raised"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_bodies_of_several_pieces_verify_both_ways(pairs, flavour):
    """200 KB bodies of every byte value (4 frames; SPEC §5.4's signed number list ~720 KB,
    written and hashed by js/keccak.mjs in the page): the genuine node verifies rings-web's,
    rings-web verifies the genuine node's."""
    g, r = pairs[flavour]
    to_genuine, to_rings = os.urandom(200_000), os.urandom(200_000)
    before = len(events_of(g))
    tx = r.send(g.did, backend_body(BackendType.SimpleText, to_genuine))
    g.call("sendCustom", r.did, 7, to_rings.hex())
    assert wait_until(lambda: tx in {tx_of(e) for e in events_of(g)[before:]}, 30)
    (event,) = [e for e in events_of(g)[before:] if tx_of(e) == tx]
    assert (event["type"], bytes.fromhex(event["args"][1]["$bytes"])) == ("custom_message", to_genuine)
    assert wait_until(lambda: (g.did, backend_body(7, to_rings)) in r.inbox(), 30)
    assert r.rejected() == [] and not g.g.request("errors")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_genuine_node_decrypts_a_rings_web_encrypted_text(pairs, flavour):
    """SPEC §5.7: rings-web encrypts to the genuine node's session key, recovered from a text
    the genuine session signed; 0.2.5's ``decrypt_msg`` hands its callback the plaintext."""
    g, r = pairs[flavour]
    g.call("sendSimpleText", r.did, "my session signs this")
    assert wait_until(lambda: (g.did, "my session signs this") in r.texts(), 15)
    before = len(events_of(g))
    tx = r.send_encrypted_text(g.did, "sealed ✓ for the genuine node")
    assert wait_until(lambda: tx in {tx_of(e) for e in events_of(g)[before:]}, 15)
    (event,) = [e for e in events_of(g)[before:] if tx_of(e) == tx]
    assert (event["type"], bytes.fromhex(event["args"][1]["$bytes"])) == \
        ("custom_message", "sealed ✓ for the genuine node".encode())
    (arrived,) = [p for d, p in g.g.payloads(g.name) if d == "in" and str(p.tx_id) == tx]
    assert arrived.data.encrypted and "sealed".encode() not in arrived.data.data
    assert not g.g.request("errors"), "the genuine page raised"


@pytest.fixture(scope="module")
def files_service(pairs):
    """The native node of the pairs serves "files" to peers' HttpRequest messages; the test
    puts the bodies (path -> bytes) in the dict, the requests it got are in ``.asked``."""
    from rings_web.native.services import HttpServices

    r = pairs["native"][1]
    files: dict = {}
    files_asked = []

    async def service(url, request):  # stands in for the configured local HTTP service
        files_asked.append((url, request))
        return HttpResponse(200, {"content-type": "application/octet-stream", "x-served-by": "rings-web"},
                            files[url.removeprefix("http://service.invalid")])

    r.n.loop.call(lambda: HttpServices(r.n.client, {"files": "http://service.invalid"}, fetch=service))
    return files, files_asked


@pytest.mark.parametrize("size", [100, 1_000_000])  # one flag-1 piece, two pieces (BACKEND_MTU 900 000)
def test_a_native_node_serves_the_genuine_nodes_http_request(pairs, files_service, size):
    """genuine send_http_request -> the native node's HTTP backend -> HttpResponse back as flag-1
    pieces, each a report with the request's tx_id -> the genuine http_response_message callback."""
    g, r = pairs["native"]
    files, asked = files_service
    files[f"/blob/{size}"] = body = os.urandom(size)  # random: gzip cannot shrink it below two pieces
    tx = g.call("sendHttpRequest", r.did, "files", "POST", f"/blob/{size}", 20_000, {"x-a": "1"}, b"give".hex())
    assert wait_until(lambda: [e for e in events_of(g, "http_response_message") if tx_of(e) == tx], 60)
    (got,) = [e for e in events_of(g, "http_response_message") if tx_of(e) == tx]
    url, request = asked[-1]
    assert url == f"http://service.invalid/blob/{size}" and request.method == "POST" and request.body == b"give"
    assert request.headers == {"x-a": "1"}
    assert got["args"][1]["status"] == 200
    assert dict(got["args"][1]["headers"]["$map"])["x-served-by"] == "rings-web"
    assert bytes.fromhex(got["args"][1]["body"]["$bytes"]) == body
    assert r.rejected() == [] and not g.g.request("errors")


# -- storage and services ---------------------------------------------------------------------
def text_owned_by(owner: str, other: str, prefix: str) -> str:
    """A topic whose id ``sha1(topic)`` the node ``owner`` stores: in 0.2.5's 2-node ring, the
    ids in ``(owner, other]``.

    The keys are random, so ``owner``'s arc is a uniform fraction f of the ring and a search
    needs about 1/f topics: 1 000 were too few for the pair CI drew at 5fb6576 (f = 0.0002).
    Four million miss with odds below 1e-6 and cost at most ~12 s.
    """
    o, arc = int(Did.parse(owner)), (int(Did.parse(other)) - int(Did.parse(owner))) % RING_SIZE
    for i in range(4_000_000):
        if 0 < (int(Did.from_topic(topic := f"{prefix}-{i}")) - o) % RING_SIZE <= arc:
            return topic
    raise AssertionError(f"no topic of 4 000 000 falls in ({owner}, {other}]")


@pytest.mark.parametrize("owner", ["rings-web", "genuine"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_rings_web_stores_and_the_genuine_node_fetches(pairs, flavour, owner):
    g, r = pairs[flavour]
    holder, other = (r, g) if owner == "rings-web" else (g, r)
    text = text_owned_by(holder.did, other.did, f"stored by rings-web {flavour}")
    vid = r.store(text)  # done when the owner holds it (a genuine owner is read back)
    assert vid == Did.from_topic(text).hex()
    if owner == "genuine":  # rings-web sent OperateVNode; the genuine node keeps it
        assert g.stored().get(vid) == [text] and vid not in r.stored()
    else:
        assert r.stored()[vid] == [text] and vid not in g.stored()
    assert g.fetch(vid) == [text]
    assert r.rejected() == []


@pytest.mark.parametrize("owner", ["rings-web", "genuine"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_the_genuine_node_stores_and_rings_web_fetches(pairs, flavour, owner):
    g, r = pairs[flavour]
    holder, other = (r, g) if owner == "rings-web" else (g, r)
    text = text_owned_by(holder.did, other.did, f"stored by genuine {flavour}")
    vid = g.store(text)
    if owner == "rings-web":  # the genuine node sent OperateVNode to rings-web
        assert wait_until(lambda: r.stored().get(vid) == [text], 10)
        assert vid not in g.stored()
    else:
        assert g.stored()[vid] == [text]
    assert r.fetch(vid) == [text]
    assert r.rejected() == []


@pytest.mark.parametrize("owner", ["rings-web", "genuine"])
@pytest.mark.parametrize("flavour", FLAVOURS)
def test_rings_web_registers_a_service_and_the_genuine_node_looks_it_up(pairs, flavour, owner):
    g, r = pairs[flavour]
    holder, other = (r, g) if owner == "rings-web" else (g, r)
    name = text_owned_by(holder.did, other.did, f"service {flavour}")
    r.register_service(name)
    # 0.2.5 stores the DID as 40 hex digits without 0x; lookup_service returns the decoded strings
    assert g.call("lookupService", name) == [r.did[2:]]
    if owner == "genuine":
        assert g.stored()[Did.from_topic(name).hex()] == [r.did[2:]]
    assert r.rejected() == []


@pytest.mark.skip(reason="0.2.5's browser Client has no register_service (rings_node.d.ts): only a native "
                         "0.2.5 node registers services, and none runs here; lookup after a genuine "
                         "storage_store is covered by test_the_genuine_node_stores_and_rings_web_fetches")
def test_the_genuine_node_registers_a_service_and_rings_web_looks_it_up():
    """Kept as a marker of the matrix cell that cannot be exercised against 0.2.5 in a browser."""
