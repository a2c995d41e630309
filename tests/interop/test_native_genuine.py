"""Native rings-web (aiortc) and the genuine 0.2.5 node: manual handshakes both ways, messages both ways."""

from __future__ import annotations

import asyncio
import os
import random

import pytest

from _native import NativeNode
from _peers import GenuinePeer, NativePeer, link
from _support import wait_until
from _vectors import VECTORS

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
pytest.importorskip("aiortc", reason="aiortc is not installed")

from rings_web.client import Client  # noqa: E402
from rings_web.crypto import default_backend  # noqa: E402
from rings_web.did import Did  # noqa: E402
from rings_web.drivers.aio import AsyncDriver, wall_clock_ms  # noqa: E402
from rings_web.engine.config import Config  # noqa: E402
from rings_web.engine.events import MessageReceived  # noqa: E402
from rings_web.engine.core import Engine  # noqa: E402
from rings_web.message.custom import BackendType, backend_body  # noqa: E402
from rings_web.session import LocalKeySigner, SessionManager  # noqa: E402
from rings_web.transport.aiortc import AiortcTransport, loopback_only  # noqa: E402

KEYS = VECTORS["test_keys"]


async def native_node() -> AsyncDriver:
    loopback_only()
    session = await SessionManager.create(LocalKeySigner(os.urandom(32)), crypto=default_backend(),
                                          now=wall_clock_ms(), random_bytes=os.urandom)
    node = AsyncDriver(Engine(session, rng=random.Random(), config=Config(stabilize_interval_ms=3000)), AiortcTransport())
    node.start()
    return node


async def until(predicate, timeout: float) -> bool:
    for _ in range(int(timeout / 0.1)):
        if await predicate():
            return True
        await asyncio.sleep(0.1)
    return await predicate()


@pytest.mark.parametrize("offerer", ["genuine", "native"])
def test_manual_handshake_and_text_both_ways(genuine, native_loop, offerer):
    g = GenuinePeer(genuine, f"G-{offerer}", KEYS["A"]["priv"]).start()
    n = NativePeer(NativeNode(native_loop))
    # a genuine answerer may never register the link (SPEC §10 item 2): link() retries that, counted
    attempts = link(g, n) if offerer == "genuine" else link(n, g)
    print(f"link up after {attempts} handshake(s), {offerer} offering")
    # genuine -> native: send_simple_text_message arrives as a BackendMessage type 2
    g.send_text(n.did, "from the genuine node")
    assert wait_until(lambda: (g.did, backend_body(BackendType.SimpleText, b"from the genuine node")) in n.inbox(), 20)
    # native -> genuine: reaches its custom_message callback
    n.send_text(g.did, "from rings-web, ünïcode")
    assert wait_until(lambda: (n.did, "from rings-web, ünïcode") in g.texts(), 20)
    assert n.rejected() == []
    n.n.close()
    g.close()


def test_genuine_client_bootstraps_from_a_native_node_over_http(genuine):
    from rings_web.native.http import HttpServer
    from rings_web.native.jsonrpc import JsonRpc

    page = "G-http"
    call = lambda fn, *args: asyncio.to_thread(genuine.call, page, fn, *args, timeout=60)  # noqa: E731

    async def main():
        await asyncio.to_thread(genuine.request, "open", page)
        g = await call("start", KEYS["B"]["priv"], "stun://127.0.0.1:3478", f"oracle-{page}")
        g_did = Did.parse(g["address"])
        seed = await native_node()
        inbox: asyncio.Queue = asyncio.Queue()
        seed.on_event(lambda e: inbox.put_nowait(e) if isinstance(e, MessageReceived) else None)
        server = HttpServer(JsonRpc(Client(seed), "no auth methods used here"), port=0)
        await server.start()
        # connect_peer_via_http: CORS preflight, POST answerOffer, accept_answer -- the genuine way
        transport_uuid = await call("connectPeerViaHttp", server.url)
        assert isinstance(transport_uuid, str) and len(transport_uuid) == 36

        async def linked():
            peers = await call("listPeers")
            return g_did in seed.node.peers and any(p["state"] == "connected" for p in peers)

        assert await until(linked, 20), "the genuine client did not join the native seed"
        await call("sendSimpleText", seed.address.bare(), "hello seed")
        got = await asyncio.wait_for(inbox.get(), 20)
        assert got.origin == g_did and got.body.endswith(b"hello seed")
        seed.send_message(g_did, backend_body(BackendType.SimpleText, b"welcome"))

        async def delivered():
            return b"welcome" in await asyncio.to_thread(genuine.custom_texts, page)

        assert await until(delivered, 20)
        await server.close()
        seed.close()
        await seed.transport.aclose()

    asyncio.run(asyncio.wait_for(main(), 120))


def test_genuine_client_joins_rings_web_run_and_talks_through_json_rpc(genuine, tmp_path):
    import json
    import signal
    import subprocess
    import sys
    import urllib.request

    from rings_web.crypto import default_backend as backend
    from rings_web.native.jsonrpc import auth_token

    cfg = tmp_path / "node.json"
    subprocess.run([sys.executable, "-m", "rings_web", "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    proc = subprocess.Popen([sys.executable, "-m", "rings_web", "run", "--config", str(cfg), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hello = json.loads(proc.stdout.readline())
        signer = LocalKeySigner((tmp_path / "node.key").read_text().strip())
        token = auth_token(signer.sign_digest, backend(), signer.address)

        def rpc(method, params):
            body = json.dumps({"jsonrpc": "2.0", "method": method, "params": params, "id": 1}).encode()
            req = urllib.request.Request(hello["url"], data=body, headers={"content-type": "application/json",
                                                                           "x-signature": token})
            return json.loads(urllib.request.urlopen(req, timeout=20).read())

        page = "G-run"
        genuine.request("open", page)
        g = genuine.call(page, "start", KEYS["C"]["priv"], "stun://127.0.0.1:3478", f"oracle-{page}")
        genuine.call(page, "connectPeerViaHttp", hello["url"], timeout=60)
        assert genuine.wait_for(lambda: [p for p in rpc("listPeers", [])["result"] if p["did"] == g["address"]], 20)
        assert genuine.wait_for(lambda: any(p["state"] == "connected" for p in genuine.call(page, "listPeers")), 20)
        assert "tx_id" in rpc("sendSimpleText", [g["address"], "hello from rings-web run"])["result"]
        assert genuine.wait_for(lambda: b"hello from rings-web run" in genuine.custom_texts(page), 20)
        genuine.call(page, "sendSimpleText", hello["did"][2:], "hello back")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert '"event": "message"' in err and proc.returncode == 0
