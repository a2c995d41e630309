"""The native node's JSON-RPC endpoint over real HTTP on 127.0.0.1: methods, auth, hostile input."""

from __future__ import annotations

import asyncio
import json
import os
import random

import pytest

from rings_web.client import Client
from rings_web.crypto import default_backend
from rings_web.drivers.aio import AsyncDriver, wall_clock_ms
from rings_web.engine.config import Config
from rings_web.engine.core import Engine
from rings_web.message.custom import HttpResponse, backend_body
from rings_web.native.services import HttpServices
from rings_web.message.payload import payload_to_json
from rings_web.native.http import HttpServer
from rings_web.native.jsonrpc import JsonRpc, auth_token
from rings_web.session import LocalKeySigner, SessionManager
from rings_web.transport.memory import MemoryHub
from rings_web.wire.types import PAYLOAD, Signer

pytestmark = pytest.mark.cpython_only(reason="a socket server (the native node)")


async def node(hub, name, mode=Signer.EIP191):
    signer = LocalKeySigner(os.urandom(32), mode)
    session = await SessionManager.create(signer, crypto=default_backend(), now=wall_clock_ms(), random_bytes=os.urandom)
    n = AsyncDriver(Engine(session, rng=random.Random(), config=Config(stabilize_interval_ms=1000)), hub.transport(name))
    n.start()
    n.signer = signer
    return n


async def http(port: int, body: bytes, method="POST", path="/", headers=None, raw: bytes | None = None):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}", "Content-Type: application/json",
            "Connection: close", *[f"{k}: {v}" for k, v in (headers or {}).items()]]
    writer.write(raw if raw is not None else ("\r\n".join(head) + "\r\n\r\n").encode() + body)
    try:
        await writer.drain()
    except ConnectionResetError:  # the server answered early (413) and closed
        pass
    data = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    status_line, _, rest = data.partition(b"\r\n")
    headers_blob, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]) if status_line else 0, headers_blob.decode().lower(), payload


def call(method, params=None, rid=1):
    return json.dumps({"jsonrpc": "2.0", "method": method, "params": params if params is not None else [], "id": rid}).encode()


def test_jsonrpc_server_methods_auth_and_hostile_input():
    async def main():
        hub = MemoryHub()
        seed = await node(hub, "seed", Signer.DEFAULT)  # a native node signs its own session (DEFAULT)
        token = auth_token(seed.signer.sign_digest, seed.node.session.crypto, seed.address)  # the node key
        server = HttpServer(JsonRpc(Client(seed), token), port=0)
        port = await server.start()
        auth = {"X-SIGNATURE": token}

        status, headers, body = await http(port, call("nodeInfo"))
        assert status == 200 and "x-node-version" in headers and "access-control-allow-origin: *" in headers
        assert json.loads(body)["result"]["did"] == seed.address.hex()
        status, headers, _ = await http(port, b"", method="OPTIONS")  # CORS preflight
        assert status == 200 and "access-control-allow-headers: *" in headers
        assert json.loads((await http(port, b"", "GET", "/status"))[2])["status"] == "ok"

        # a browser-style bootstrap: answerOffer over HTTP, then accept the answer
        joiner = await node(hub, "joiner")
        offer = await joiner.create_offer()
        status, _, body = await http(port, call("answerOffer", [offer]))
        answer = json.loads(body)["result"]
        assert isinstance(answer, dict) and "ConnectNodeReport" in answer["data"]
        assert await joiner.accept_answer(payload_to_json(PAYLOAD.from_json(answer))) == seed.address
        for _ in range(50):
            if seed.node.peers:
                break
            await asyncio.sleep(0.05)
        peers = json.loads((await http(port, call("listPeers"), headers=auth))[2])["result"]
        assert [p["did"] for p in peers] == [joiner.address.hex()]

        # auth: missing and wrong X-SIGNATURE
        for hdrs in ({}, {"X-SIGNATURE": "AAAA"}):
            err = json.loads((await http(port, call("listPeers"), headers=hdrs))[2])["error"]
            assert err["code"] == -32001
        # hostile input: the server answers every one and keeps answering
        cases = [
            (b"{not json", -32700), (b"[]", -32600), (b'{"jsonrpc":"1.0","method":"nodeInfo","id":1}', -32600),
            (call("noSuchMethod"), -32601), (call("answerOffer", [42]), -32602), (call("answerOffer", "x"), -32602),
            (call("answerOffer", ["{garbage"]), -32000), (call("sendSimpleText", ["0x12", "hi"]), -32001),
        ]
        for payload, code in cases:
            status, _, body = await http(port, payload)
            assert status == 200 and json.loads(body)["error"]["code"] == code, payload
        bad = await http(port, call("sendCustomMessage", [joiner.address.hex(), 70000, "AA=="]), headers=auth)
        assert json.loads(bad[2])["error"]["code"] == -32602
        status, _, body = await http(port, b"x" * (10 << 20))  # 10 MB
        assert status == 413
        status, _, _ = await http(port, b"", raw=b"GARBAGE\r\n\r\n")
        assert status in (0, 400)
        assert (await http(port, call("nodeInfo")))[0] == 200  # still up
        ok = json.loads((await http(port, call("sendSimpleText", [joiner.address.hex(), "hi"]), headers=auth))[2])
        assert "tx_id" in ok["result"]
        await server.close()
        for n in (seed, joiner):
            n.close()

    asyncio.run(asyncio.wait_for(main(), 60))


async def served():
    """A native seed serving JSON-RPC on a free port (with its X-SIGNATURE), and another node."""
    hub = MemoryHub()
    seed, other = await node(hub, "seed", Signer.DEFAULT), await node(hub, "other")
    token = auth_token(seed.signer.sign_digest, seed.node.session.crypto, seed.address)
    server = HttpServer(JsonRpc(Client(seed), token), port=0)
    return seed, other, server, await server.start(), token


async def bootstrap(seed, other, rpc):
    """``other`` joins the seed through its ``answerOffer``; both list the link."""
    answer = (await rpc("answerOffer", [await other.create_offer()]))["result"]
    await other.accept_answer(payload_to_json(PAYLOAD.from_json(answer)))
    for _ in range(50):
        if other.node.peers and seed.node.peers:
            break
        await asyncio.sleep(0.05)


def test_topics_services_poll_and_pendings():
    async def main():
        seed, other, server, port, token = await served()
        auth = {"X-SIGNATURE": token}

        async def rpc(method, params=None, headers=auth):
            return json.loads((await http(port, call(method, params), headers=headers))[2])

        for text in ["one", "two", "three"]:
            assert (await rpc("publishMessageToTopic", ["news", text]))["result"] == {}
        assert (await rpc("fetchMessagesOfTopic", ["news", 1]))["result"] == ["two", "three"]
        assert (await rpc("fetchMessagesOfTopic", ["nothing", 0]))["result"] == []
        assert (await rpc("registerService", ["ipfs"]))["result"] == {}
        assert (await rpc("lookupService", ["ipfs"]))["result"] == [seed.address.bare()]
        # pollMessage: a message from another node, then nothing
        await bootstrap(seed, other, rpc)
        other.send_message(seed.address, backend_body(7, b"\x01\x02"))
        assert (await rpc("pollMessage", [True], headers={}))["error"]["code"] == -32001  # beyond 0.2.5: auth
        polled = (await rpc("pollMessage", [True]))["result"]["message"]
        assert polled == {"message_type": 7, "data": "AQI="}
        assert (await rpc("pollMessage", [False]))["result"] == {"message": None}
        # pending transports: one offer left unanswered
        await seed.create_offer()
        pend = (await rpc("listPendings"))["result"]
        assert len(pend) == 1
        assert (await rpc("closePendingTransport", [pend[0]["transport_id"]]))["result"] == {}
        assert (await rpc("listPendings"))["result"] == []
        assert (await rpc("closePendingTransport", ["nope"]))["error"]["code"] == -32000
        assert "tx_id" in (await rpc("sendTo", {"destination": other.address.hex(), "text": "raw"}))["result"]
        # sendHttpRequestMessage: the other node serves "echo" (its HTTP backend, fetch faked)
        async def echo(url, request):
            return HttpResponse(200, {"x-url": url}, request.body[::-1])

        HttpServices(Client(other), {"echo": "http://127.0.0.1:8081"}, echo)
        req = {"name": "echo", "method": "POST", "path": "/a", "headers": {"h": "v"}, "body": "AQID", "timeout": 5000}
        done = (await rpc("sendHttpRequestMessage", [other.address.hex(), req]))["result"]
        assert done["response"] == {"status": 200, "headers": {"x-url": "http://127.0.0.1:8081/a"}, "body": "AwIB"}
        assert len(done["tx_id"]) == 36
        for bad in ([other.address.hex(), "x"], [other.address.hex(), {**req, "timeout": True}],
                    [other.address.hex(), {**req, "headers": {"h": 1}}], [other.address.hex(), {**req, "body": "%%"}],
                    [other.address.hex(), {**req, "name": None}]):
            assert (await rpc("sendHttpRequestMessage", bad))["error"]["code"] == -32602, bad
        await server.close()
        seed.close()
        other.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_sends_take_an_encrypt_flag():
    """Beyond 0.2.5: ``sendSimpleText``, ``sendCustomMessage`` and ``sendTo`` take an optional
    ``encrypt`` (last param; a field of sendTo's object) as the JS and Python sends do."""
    async def main():
        seed, other, server, port, token = await served()
        received = []
        Client(other).on(received.append)  # a rings-web node: it answers the seed's key request

        async def rpc(method, params):
            return json.loads((await http(port, call(method, params), headers={"X-SIGNATURE": token}))[2])

        await bootstrap(seed, other, rpc)
        did = other.address.hex()
        for method, params in (("sendSimpleText", [did, "secret", True]), ("sendCustomMessage", [did, 7, "AQI=", True]),
                               ("sendTo", {"destination": did, "text": "raw secret", "encrypt": True}),
                               ("sendSimpleText", [did, "plain", False]), ("sendSimpleText", [did, "plain too", None])):
            assert "tx_id" in (await rpc(method, params))["result"], (method, params)
        for _ in range(100):
            if len([m for m in received if hasattr(m, "encrypted")]) == 5:
                break
            await asyncio.sleep(0.05)
        got = [(m.message_type, m.data, m.encrypted) for m in received if hasattr(m, "encrypted")]
        assert got == [(2, b"secret", True), (7, b"\x01\x02", True), (None, b"raw secret", True),
                       (2, b"plain", False), (2, b"plain too", False)]
        for method, params in (("sendSimpleText", [did, "x", "yes"]), ("sendCustomMessage", [did, 7, "AQI=", 1]),
                               ("sendTo", {"destination": did, "text": "x", "encrypt": "true"})):
            assert (await rpc(method, params))["error"]["code"] == -32602, (method, params)
        await server.close()
        seed.close()
        other.close()

    asyncio.run(asyncio.wait_for(main(), 60))
