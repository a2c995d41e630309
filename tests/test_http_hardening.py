"""The native node's HTTP client and server against hostile peers on 127.0.0.1 (issue 14 item 9)."""

from __future__ import annotations

import asyncio
import json
import threading
from unittest import mock

import pytest

from rings_web import api_args
from rings_web.client import Client
from rings_web.errors import LocalError
from rings_web.native.http import HttpServer
from rings_web.native.http_client import http_post_json
from rings_web.native.jsonrpc import JsonRpc, auth_token
from rings_web.transport.memory import MemoryHub
from rings_web.wire.types import Signer

from test_jsonrpc import call, http, node

pytestmark = pytest.mark.cpython_only(reason="socket servers and clients")
SECRET = b"s3cret-of-an-internal-service"


async def target(reply):
    """A one-shot-per-connection HTTP 'target' on 127.0.0.1: ``reply(reader, writer)`` answers."""
    async def serve(reader, writer):
        await reader.read(65536)
        try:
            await reply(reader, writer)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    return server, f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"


def fixed(raw: bytes):
    async def reply(reader, writer):
        writer.write(raw)
        await writer.drain()
    return reply


def response(status: int, body: bytes, extra: str = "") -> bytes:
    return f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


async def endless(reader, writer):
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n")  # no length: to the close
    for _ in range(100_000):  # 6.5 GB if nothing stops it
        writer.write(b"[" * 65536)
        await writer.drain()


async def trickle(reader, writer):
    for _ in range(600):
        writer.write(b"H")
        await writer.drain()
        await asyncio.sleep(0.05)


def test_client_is_bounded_and_never_repeats_the_target():
    async def main():
        ok = {"jsonrpc": "2.0", "result": {"x": 1}, "id": 0}
        cases = [
            (fixed(response(200, json.dumps(ok).encode())), None),
            (fixed(response(302, SECRET, "Location: http://127.0.0.1:1/\r\n")), "redirects are not followed"),
            (fixed(response(500, SECRET)), "HTTP 500"),
            (fixed(response(200, SECRET)), "not JSON"),
            (fixed(response(200, json.dumps({"error": {"code": -5, "message": SECRET.decode()}}).encode())), "JSON-RPC error -5"),
            (fixed(response(200, json.dumps({"answer": SECRET.decode()}).encode())), "not a JSON-RPC response"),
            (fixed(response(200, b"[" * 5000 + b"]" * 5000)), "not "),  # RecursionError, unless a test raised the limit
            (fixed(b"SSH-2.0-OpenSSH_9.2 " + SECRET + b"\r\n\r\n"), "not HTTP/1.1"),
            (fixed(b""), "not HTTP/1.1"),
            (endless, "reply over 65536 bytes"),
            (trickle, "no complete reply within 1 s"),
        ]
        servers = []
        for reply, expected in cases:
            server, url = await target(reply)
            servers.append(server)
            if expected is None:
                assert await http_post_json(url, {"a": 1}, timeout=20, max_reply=65536) == ok
                continue
            with pytest.raises(LocalError) as e:  # a deadline of 1 s for the trickle, else ample
                await http_post_json(url, {"a": 1}, timeout=1 if reply is trickle else 20, max_reply=65536)
            assert expected in str(e.value) and SECRET.decode() not in str(e.value), e.value
        closed = servers.pop()  # a closed port
        closed.close()
        await closed.wait_closed()
        for url, expected in [(url, "connection failed"), ("ftp://127.0.0.1/", "not an http(s) URL"),
                              ("http://127.0.0.1:99999/", "not an http(s) URL"), ("http:///x", "not an http(s) URL")]:
            with pytest.raises(LocalError) as e:
                await http_post_json(url, {}, timeout=20)
            assert expected in str(e.value)
        for s in servers:
            s.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_client_holds_no_thread_while_targets_trickle():
    async def main():
        slow, slow_url = await target(trickle)
        good, good_url = await target(fixed(response(200, b'{"jsonrpc":"2.0","result":1,"id":0}')))
        threads = threading.active_count()
        calls = [asyncio.ensure_future(http_post_json(slow_url, {}, timeout=2)) for _ in range(40)]
        await asyncio.sleep(0.2)
        assert threading.active_count() == threads  # 0.2.5-style executor threads would be 40 here
        assert (await http_post_json(good_url, {}, timeout=20))["result"] == 1  # later calls still go out
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert all(isinstance(r, LocalError) for r in results)
        slow.close()
        good.close()

    asyncio.run(asyncio.wait_for(main(), 60))


async def seed_server(**kw):
    hub = MemoryHub()
    seed = await node(hub, "seed", Signer.DEFAULT)
    token = auth_token(seed.signer.sign_digest, seed.node.session.crypto, seed.address)
    logged = []
    rpc = JsonRpc(Client(seed, http_post_json), token, log=lambda event, fields: logged.append((event, fields)))
    server = HttpServer(rpc, port=0, log=lambda event, fields: logged.append((event, fields)), **kw)
    return seed, rpc, server, await server.start(), {"X-SIGNATURE": token}, logged


def test_reaching_out_needs_the_signature_and_every_request_is_answered():
    async def main():
        seed, rpc, server, port, auth, logged = await seed_server()
        internal, url = await target(fixed(response(200, json.dumps({"secret": SECRET.decode()}).encode())))
        garbage, garbage_url = await target(fixed(b"garbage status line\r\n\r\n"))
        for method, params in [("connectPeerViaHttp", [url]), ("connectWithSeed", [{"peers": [{"did": "0x" + "11" * 20, "endpoint": url}]}]),
                               ("pollMessage", [False])]:
            for headers in ({}, {"X-SIGNATURE": "AAAA"}, {"X-SIGNATURE": "é" * 88}):  # é: latin-1, not ASCII
                status, _, body = await http(port, call(method, params), headers=headers)
                assert status == 200 and json.loads(body)["error"]["code"] == -32001, (method, headers)
        for target_url, expected in [(url, "not a JSON-RPC response"), (garbage_url, "not HTTP/1.1")]:
            status, _, body = await http(port, call("connectPeerViaHttp", [target_url]), headers=auth)
            error = json.loads(body)["error"]
            assert status == 200 and error["code"] == -32000 and expected in error["message"]
            assert SECRET.decode() not in error["message"]
        # a body a page could send without a preflight is refused
        status, headers, body = await http(port, call("nodeInfo"), headers={"Content-Type": "text/plain"})
        assert status == 415 and json.loads(body)["error"]["code"] == -32600 and "access-control-allow-origin" in headers
        cases = [
            (b"[" * 1000 + b"]" * 1000, (-32700, -32600)),  # RecursionError, or a list if a test raised the limit
            (b'{"jsonrpc":"2.0","method":"nodeInfo","id":NaN}', (-32700,)),
            (b'{"jsonrpc":"2.0","method":"nodeInfo","id":[1]}', (-32600,)),
        ]
        for payload, codes in cases:
            status, _, body = await http(port, payload)
            reply = json.loads(body)  # strict JSON: no NaN came back
            assert status == 200 and reply["error"]["code"] in codes and reply["id"] is None, payload
        rpc.methods["nodeInfo"] = (lambda params: _boom(), False)  # a bug in a method
        status, _, body = await http(port, call("nodeInfo", rid=7))
        assert json.loads(body) == {"jsonrpc": "2.0", "error": {"code": -32603, "message": "Internal error"}, "id": 7}
        assert [e for e, f in logged] == ["RpcError"] and "boom" in logged[0][1]["error"]
        # a second Content-Length, equal or not, is answered 400
        for lengths, status_wanted in [(["2"], 200), (["2", "2"], 400), (["2", "3"], 400), (["2, 2"], 400)]:
            head = "".join(f"Content-Length: {n}\r\n" for n in lengths)
            raw = f"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n{head}\r\n{{}}".encode()
            status, _, body = await http(port, b"", raw=raw)
            assert status == status_wanted and "error" in json.loads(body), lengths
        for s in (internal, garbage):
            s.close()
        await server.close()
        seed.close()

    asyncio.run(asyncio.wait_for(main(), 60))


async def _boom():
    raise RuntimeError("boom")


async def slow_client(port: int, sent: list):
    """Sends a header byte every 0.2 s; returns when the server hangs up."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for b in b"POST / HTTP/1.1\r\nHost: x\r\n" * 100:
            writer.write(bytes([b]))
            await writer.drain()
            sent.append(1)
            try:
                if await asyncio.wait_for(reader.read(1), 0.2) == b"":
                    return True
            except asyncio.TimeoutError:
                pass
        return False
    except ConnectionError:
        return True
    finally:
        writer.close()


def test_slow_clients_are_shed_and_others_served():
    async def main():
        seed, rpc, server, port, auth, logged = await seed_server(max_connections=16, request_timeout=1.5)
        assert server.max_connections == 16
        sent: list = []
        slow = [asyncio.ensure_future(slow_client(port, sent)) for _ in range(40)]  # 40 > the cap of 16
        while len(sent) < 40:  # every one connected (a connection arriving in the same burst may go too)
            await asyncio.sleep(0.05)
        for _ in range(20):
            status, _, body = await http(port, call("nodeInfo"))  # answered meanwhile, every time
            assert status == 200 and json.loads(body)["result"]["did"] == seed.address.hex()
        assert all(await asyncio.gather(*slow))  # each hung up on: evicted or past its deadline
        assert [e for e, _ in logged].count("HttpFlood") == 1  # a flood is logged once
        assert ("HttpFloodOver" in [e for e, _ in logged]) and not server._live
        await server.close()
        seed.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_bodies_in_flight_share_a_bound():
    async def main():
        seed, rpc, server, port, auth, logged = await seed_server(max_buffered=150_000)
        head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
        holders = []
        for _ in range(2):  # each holds 100 KB of a 200 KB body
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(head + b" " * 100_000)
            await writer.drain()
            holders.append((reader, writer))
            await asyncio.sleep(0.2)
        reads = [asyncio.ensure_future(r.readline()) for r, _ in holders]
        done, pending = await asyncio.wait(reads, timeout=20, return_when=asyncio.FIRST_COMPLETED)
        assert len(done) == 1 and done.pop().result().startswith(b"HTTP/1.1 503")  # the one past 150 KB in all
        pending.pop().cancel()
        assert (await http(port, call("nodeInfo")))[0] == 200
        for _, w in holders:
            w.close()
        await server.close()
        seed.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_http_backend_answers_requests_that_break_the_fetch():
    from rings_web.client import Client
    from rings_web.message.custom import HttpRequest
    from rings_web.native.services import HttpServices

    async def main():
        hub = MemoryHub()
        a, b = Client(await node(hub, "a")), Client(await node(hub, "b"))
        await a.accept_answer(await b.answer_offer(await a.create_offer()))
        for _ in range(100):
            if a.get_peer(b.address) and b.get_peer(a.address):
                break
            await asyncio.sleep(0.02)
        service, url = await target(fixed(response(200, b"fine")))
        logged = []
        HttpServices(b, {"svc": url}, fetch=_fetch, log=lambda event, fields: logged.append(event))
        for path, timeout, status in [("/a b", 5000, 400), ("/\x01", 5000, 400), ("/ok", 2 ** 63, 200), ("/ok", 2 ** 64 - 1, 200)]:
            # the asking peer plays one that does not check what it sends (the genuine node does not)
            with mock.patch.object(api_args, "MAX_HTTP_TIMEOUT_MS", 2 ** 64):
                asked = a.start_http_request(b.address, HttpRequest("svc", "GET", path, timeout))[1]
            got = await asyncio.wait_for(asked, 10)
            assert got.status == status, (path, timeout)
        got = await asyncio.wait_for(a.send_http_request(b.address, HttpRequest("svc", "GET", "/broken", 5000)), 10)
        assert got.status == 502 and "HttpServiceError" in logged
        service.close()
        a.close(), b.close()

    asyncio.run(asyncio.wait_for(main(), 60))


async def _fetch(url, request):
    """The real urllib fetch, and a bug on ``/broken``."""
    from rings_web.native.services import urllib_fetch

    if url.endswith("/broken"):
        raise OverflowError("a bug in a fetch")
    return await urllib_fetch(url, request)


def test_node_info_stays_small_while_topics_grow():
    async def main():
        seed, rpc, server, port, auth, logged = await seed_server()

        async def call_rpc(method, params, headers=auth):
            return json.loads((await http(port, call(method, params), headers=headers))[2])

        assert "over the" in (await call_rpc("publishMessageToTopic", ["big", "x" * 700_000]))["error"]["message"]
        for i in range(40):  # each ~137 KB as base58: the topic keeps the newest within 256 KB
            assert (await call_rpc("publishMessageToTopic", [f"t{i % 4}", str(i % 10) * 100_000]))["result"] == {}
        await call_rpc("publishMessageToTopic", ["small", "hello"])
        info = (await call_rpc("nodeInfo", [], headers={}))["result"]
        assert info["stored"] == 5 and sum(len(t) for ts in info["vnodes"].values() for t in ts) <= 64 << 10
        assert len((await call_rpc("fetchMessagesOfTopic", ["t3", 0]))["result"]) == 1
        assert seed.node.storage.bytes <= 5 * (256 << 10)
        await server.close()
        seed.close()

    asyncio.run(asyncio.wait_for(main(), 60))
