"""Browser nodes and `rings-web run`: pages bootstrap from a native seed over HTTP JSON-RPC,
talk to it both ways, reach each other through it (relay) and through the ring (connect), and two
native nodes and two pages form one ring. Everything on 127.0.0.1 (loopback-only namespace)."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import urllib.request

import pytest

from _support import wait_until
from rings_web.crypto import default_backend
from rings_web.did import Did
from rings_web.native.jsonrpc import auth_token
from rings_web.session import LocalKeySigner
from rings_web.sim.checks import ring_correct

pytestmark = [pytest.mark.browser, pytest.mark.cpython_only]
pytest.importorskip("aiortc", reason="aiortc is not installed")


class RunningNode:
    """A `rings-web run` process with its JSON-RPC endpoint (X-SIGNATURE from its key file)."""

    def __init__(self, tmp_path, name: str) -> None:
        cfg = tmp_path / f"{name}.json"
        subprocess.run([sys.executable, "-m", "rings_web", "init", "--config", str(cfg)], check=True,
                       capture_output=True, timeout=60)
        # the config exactly as `rings-web init` writes it: a loopback-only host needs no edit
        self.proc = subprocess.Popen([sys.executable, "-m", "rings_web", "run", "--config", str(cfg), "--bind", "127.0.0.1:0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        hello = json.loads(self.proc.stdout.readline())
        self.url, self.did = hello["url"], hello["did"]
        signer = LocalKeySigner((tmp_path / f"{name}.key").read_text().strip())
        self.token = auth_token(signer.sign_digest, default_backend(), signer.address)

    def rpc(self, method: str, *params):
        body = json.dumps({"jsonrpc": "2.0", "method": method, "params": list(params), "id": 1}).encode()
        req = urllib.request.Request(self.url, data=body, headers={"content-type": "application/json",
                                                                   "x-signature": self.token})
        reply = json.loads(urllib.request.urlopen(req, timeout=30).read())
        assert "error" not in reply, reply
        return reply["result"]

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=30)
        return err


def texts(page) -> list[tuple[str, str]]:
    return [(e["detail"]["from"], e["detail"]["text"]) for e in page.events("message") if e["detail"].get("text")]


def _did(text: str | None) -> Did | None:
    return Did.parse(text) if text else None


def test_pages_bootstrap_from_rings_web_run_relay_through_it_connect_and_form_a_ring(open_node, tmp_path):
    seed = RunningNode(tmp_path, "seed")
    other = None
    try:
        p1, p2 = open_node(os.urandom(32).hex(), stabilize_ms=2000), open_node(os.urandom(32).hex(), stabilize_ms=2000)
        a1, a2 = (p.evaluate("window.node.address") for p in (p1, p2))
        for page, did in ((p1, a1), (p2, a2)):
            page.api("connectPeerViaHttp", seed.url)  # CORS preflight + POST answerOffer, from the page
            assert wait_until(lambda: page.api("getPeer", seed.did) and any(p["did"] == did for p in seed.rpc("listPeers")), 20)

        # native <-> browser, both ways
        seed.rpc("sendSimpleText", a1, "seed to page")
        assert wait_until(lambda: (seed.did, "seed to page") in texts(p1), 15)
        p1.api("sendCustomMessage", seed.did, 9, {"$bytes": "c0ffee"})
        assert wait_until(lambda: seed.rpc("pollMessage", True)["message"] == {"message_type": 9, "data": base64.b64encode(b"\xc0\xff\xee").decode()}, 15)

        # page 2 reaches page 1 through the seed while they are not linked: unlinked and sent in
        # one call into page 2, as the ring links them again at once (page 1, told of page 2 by
        # the seed, offers a new link: one run in four under load had it up before a poll could
        # see both ends unlinked); if it is up before the message leaves, it goes direct, and
        # the unlink is retried
        paths = []
        for attempt in range(5):
            text = f"through the seed, try {attempt}"
            linked = p2.evaluate("""async ([did, text]) => {
                await window.rings.call("disconnect", did);
                const linked = (await window.rings.call("getPeer", did)).value;
                await window.rings.call("sendSimpleTextMessage", did, text);
                return linked; }""", [a1, text])
            assert not linked
            assert wait_until(lambda: (a2, text) in texts(p1), 15)
            paths.append(next(e["detail"]["path"] for e in p1.events("message") if e["detail"].get("text") == text))
            if paths[-1] != [a2]:
                break
        assert paths[-1] == [a2, seed.did], paths

        # and connects to it through the ring (ConnectNodeSend via the seed)
        assert p2.api("connectWithAddress", a1) == a1
        assert wait_until(lambda: p1.api("getPeer", a2), 10)

        # a second native node joins: two native nodes and two pages make one ring
        other = RunningNode(tmp_path, "other")
        other.rpc("connectPeerViaHttp", seed.url)
        nodes = {seed.did: seed, other.did: other}

        def ring() -> bool:
            infos = {did: node.rpc("nodeInfo") for did, node in nodes.items()}
            infos.update({did: page.api("getNodeInfo") for did, page in ((a1, p1), (a2, p2))})
            views = [(_did(d), _did(i["successors"][0] if i["successors"] else None), _did(i.get("predecessor")))
                     for d, i in infos.items()]
            return ring_correct(views, sorted(v[0] for v in views))

        assert wait_until(ring, 60, 0.5), "the ring of two native nodes and two pages"
        other.rpc("sendSimpleText", a2, "from the other native node")
        assert wait_until(lambda: (other.did, "from the other native node") in texts(p2), 15)
        assert p1.events("payload:rejected") == [] and p2.events("payload:rejected") == []
    finally:
        errors = seed.stop() + (other.stop() if other else "")
    assert '"event": "payload:rejected"' not in errors  # the native log names events as the API does
