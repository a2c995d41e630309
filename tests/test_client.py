"""The application surface (rings_web.client) over in-memory asyncio nodes with real signatures."""

from __future__ import annotations

import asyncio
import inspect
import json
import os

import pytest

from rings_web import api_args
from rings_web.api_events import PeerConnect, PeerDisconnect, error_json
from rings_web.client import Client, Message, start_client
from rings_web.did import Did
from rings_web.engine.config import Config
from rings_web.errors import DecodeError, InvalidArgument, LocalError
from rings_web.message.custom import BackendType, HttpRequest
from rings_web.native.jsonrpc import JsonRpc
from rings_web.session import LocalKeySigner
from rings_web.transport.memory import MemoryHub, MemoryTransport
from rings_web.wire import base58

pytestmark = pytest.mark.cpython_only(reason="asyncio.run needs stack switching in Pyodide; the browser tests run it there")
NOBODY = "0x" + "00" * 20


async def make(hub: MemoryHub, i: int, http_post=None, transport=None) -> Client:
    return await start_client(LocalKeySigner(os.urandom(32)), transport or hub.transport(f"n{i}"),
                              config=Config(stabilize_interval_ms=200), http_post=http_post)


async def pair() -> tuple[Client, Client, list]:
    hub = MemoryHub()
    a, b = await make(hub, 1), await make(hub, 2)
    events: list = []
    b.on(events.append)
    peer = await a.accept_answer(await b.answer_offer(await a.create_offer()))
    assert peer.did == b.address
    await until(lambda: a.get_peer(b.address) and b.get_peer(a.address))
    return a, b, events


async def until(predicate, timeout: float = 5.0):
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def messages(events) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def test_messages_arrive_decoded_by_kind():
    async def main():
        a, b, events = await pair()
        assert PeerConnect(a.address) in events
        a.send_simple_text_message(b.address, "hello ✓")
        a.send_custom_message(b.address.bare(), 7, b"\xca\xfe")
        a.send_message("0x" + b.address.bare().upper(), b"raw bytes")
        await until(lambda: len(messages(events)) == 3)
        text, custom, raw = messages(events)
        assert (text.origin, text.message_type, text.text) == (a.address, BackendType.SimpleText, "hello ✓")
        assert text.path == (a.address,)  # a direct link: no forwarder
        assert (custom.message_type, custom.data, custom.text) == (7, b"\xca\xfe", None)
        assert (raw.message_type, raw.data, raw.body) == (None, b"raw bytes", bytes(4) + b"raw bytes")
        assert [p.did for p in a.list_peers()] == [b.address] and a.list_peers()[0].state == "connected"
        a.disconnect(b.address)
        await until(lambda: PeerDisconnect(a.address) in events)
        assert a.get_peer(b.address) is None
        a.close(), b.close()

    asyncio.run(main())


def test_storage_services_and_topics_across_two_nodes():
    async def main():
        a, b, _ = await pair()
        vid = await a.storage_store("some text")
        assert vid == Did.from_topic("some text")
        found = await b.storage_fetch(vid)
        assert found.data == (base58.encode_check(b"some text"),)
        assert await b.storage_fetch(Did.from_topic("nothing here")) is None
        await a.register_service("chat")
        await b.register_service("chat")
        await a.register_service("chat")  # Touch: no duplicates
        assert sorted(await b.lookup_service("chat")) == sorted([a.address, b.address])
        assert await a.lookup_service("nobody") == []
        for text in ("one", "two", "three"):
            await b.publish_message_to_topic("news", text)
        assert await a.fetch_messages_of_topic("news", 1) == ["two", "three"]
        info = a.node_info()
        assert info["did"] == a.address.hex() and info["peers"] == 1
        a.close(), b.close()

    asyncio.run(main())


def test_connect_peer_via_http_through_a_json_rpc_endpoint():
    async def main():
        hub = MemoryHub()
        seed = await make(hub, 1)
        rpc = JsonRpc(seed, token="unused")
        posted = []

        async def http_post(url, body):  # the endpoint, without a socket
            posted.append((url, body["method"]))
            return json.loads(await rpc.dispatch(json.dumps(body).encode(), {}))

        browser = await make(hub, 2, http_post)
        tid = await browser.connect_peer_via_http("http://127.0.0.1:50000/")
        assert posted == [("http://127.0.0.1:50000/", "answerOffer")] and tid
        await until(lambda: browser.get_peer(seed.address) is not None)
        with pytest.raises(InvalidArgument):
            await browser.connect_peer_via_http("ftp://127.0.0.1/")

        async def failing(url, body):
            return {"jsonrpc": "2.0", "error": {"code": -32000, "message": "no"}, "id": 0}

        lonely = await make(hub, 3, failing)
        with pytest.raises(LocalError, match="answerOffer"):
            await lonely.connect_peer_via_http("http://127.0.0.1:50000/")
        for c in (seed, browser, lonely):
            c.close()

    asyncio.run(main())


@pytest.mark.parametrize("call", [
    lambda c: c.send_message("not a did", b"x"),
    lambda c: c.send_message("0x" + "00" * 20, "text, not bytes"),
    lambda c: c.send_custom_message("0x" + "00" * 20, 70_000, b""),
    lambda c: c.send_custom_message("0x" + "00" * 20, True, b""),
    lambda c: c.send_simple_text_message("0x" + "00" * 20, b"bytes"),
    lambda c: c.get_peer(42),
    lambda c: c.start_http_request(NOBODY, {"name": "s", "path": "/", "timeout": 0}),
    lambda c: c.start_http_request(NOBODY, {"name": "s", "path": "/", "headers": {"h": 1}}),
    lambda c: c.start_http_request(NOBODY, {"name": "s", "path": "/", "body": "text"}),
    lambda c: c.start_http_request(NOBODY, "GET /"),
    lambda c: c.fetch_messages_of_topic("news", -1),
    lambda c: c.publish_message_to_topic(7, "text"),
    lambda c: c.connect_peer_via_http("ftp://127.0.0.1/"),
    lambda c: c.close_pending_transport(None),
], ids=["bad-did", "data-not-bytes", "type-too-big", "type-bool", "text-not-str", "did-not-str", "http-timeout",
        "http-headers", "http-body-text", "http-not-object", "index-negative", "topic-not-str", "url-ftp", "tid-none"])
def test_bad_arguments_are_typed_errors(call):
    async def main():
        client = await make(MemoryHub(), 1)
        with pytest.raises(InvalidArgument):
            result = call(client)
            if inspect.isawaitable(result):
                await result
        client.close()

    asyncio.run(main())


def test_http_requests_given_as_mappings_are_the_same_requests():
    given = {"name": "s", "path": "/x", "headers": {"k": "v"}, "body": memoryview(b"up"), "timeout": 5000}
    assert api_args.http_request(given) == HttpRequest("s", "GET", "/x", 5000, {"k": "v"}, b"up")
    request = HttpRequest("s", "PUT", "/", 1, {}, None)
    assert api_args.http_request(request) == request


def test_errors_cross_as_name_message_and_family():
    assert error_json(InvalidArgument("bad")) == {"name": "InvalidArgument", "message": "bad",
                                                  "details": {"family": "LocalError"}}
    assert error_json(DecodeError("junk"))["details"] == {"family": "RemoteError"}
    assert error_json(KeyError("k")) == {"name": "KeyError", "message": "'k'", "details": {"family": None}}


def test_a_transport_that_cannot_make_offers_fails_the_call_at_once():
    class NoWebRtc(MemoryTransport):
        async def create_offer(self, transport_id):
            raise LocalError("WebRTC is not available in this runtime")

    async def main():
        hub = MemoryHub()
        client = await make(hub, 1, transport=NoWebRtc(hub, "n1"))
        with pytest.raises(LocalError, match="WebRTC is not available"):
            await asyncio.wait_for(client.create_offer(), 2)  # well before the 10 s request timeout
        assert client.node.node.transport_ids == []
        client.close()

    asyncio.run(main())


def test_http_requests_are_served_by_the_destinations_backend():
    from rings_web.errors import RequestTimeout
    from rings_web.message.custom import HttpResponse
    from rings_web.native.services import HttpServices

    seen = []

    async def fetch(url, request):
        seen.append((url, request.method, request.headers, request.body))
        return HttpResponse(200, {"content-type": "application/octet-stream"}, bytes(range(256)) * 8000)  # 2 MB: 3 pieces

    async def main():
        a, b, _ = await pair()
        HttpServices(b, {"files": "http://127.0.0.1:8080/root/"}, fetch)
        got = await a.send_http_request(b.address, HttpRequest("files", "POST", "/x?y=1", 5000, {"k": "v"}, b"up"))
        assert got.status == 200 and got.body == bytes(range(256)) * 8000
        assert seen == [("http://127.0.0.1:8080/root/x?y=1", "POST", {"k": "v"}, b"up")]
        missing = await a.send_http_request(b.address, HttpRequest("nothing", "GET", "/"))
        assert missing.status == 404 and len(seen) == 1
        with pytest.raises(RequestTimeout):  # a does not serve HTTP: b's request is never answered
            await b.send_http_request(a.address, HttpRequest("files", "GET", "/", timeout=300))
        a.close(), b.close()

    asyncio.run(main())


def test_urllib_fetch_against_a_local_http_server():
    import http.server
    import threading

    from rings_web.message.custom import HttpRequest
    from rings_web.native.services import urllib_fetch

    class Echo(http.server.BaseHTTPRequestHandler):
        def do_PUT(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            self.send_response(201)
            self.send_header("x-echo", self.path)
            self.end_headers()
            self.wfile.write(body[::-1])

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        r = asyncio.run(urllib_fetch(base + "/p", HttpRequest("s", "PUT", "/p", 5000, {}, b"abc")))
        assert (r.status, r.headers["x-echo"], r.body) == (201, "/p", b"cba")
        r = asyncio.run(urllib_fetch(base + "/p", HttpRequest("s", "DELETE", "/p", 5000)))
        assert r.status == 501  # an HTTP error is a response too
    finally:
        server.shutdown()
    r = asyncio.run(urllib_fetch("http://127.0.0.1:9/", HttpRequest("s", "GET", "/", 2000)))
    assert r.status == 502 and b"unreachable" in r.body
