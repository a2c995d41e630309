"""JSON-RPC over TLS: the seed serves https:// from a PEM certificate and key, the native client
verifies the certificates of https:// seeds (system CAs + ``ca_file``). A test CA, 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest

from _support import only_loopback
from _tls import make_certs
from rings_web.errors import InvalidArgument, LocalError
from rings_web.native.http import tls_context
from rings_web.native.http_client import http_post_json
from test_http_hardening import seed_server
from test_native_cli import RINGS, start_node, stop_node

pytestmark = pytest.mark.cpython_only(reason="TLS sockets and the native node")
pytest.importorskip("cryptography", reason="the test CA is made with cryptography (an aiortc dependency)")


def test_tls_context_says_which_file_is_wrong(tmp_path):
    (tmp_path / "other").mkdir()
    certs, other = make_certs(tmp_path), make_certs(tmp_path / "other")
    assert tls_context(str(certs.cert), str(certs.key)).minimum_version >= ssl.TLSVersion.TLSv1_2
    (tmp_path / "junk.pem").write_text("not PEM\n")
    for cert, key, says in [(tmp_path / "none.pem", certs.key, "No such file"),
                            (tmp_path / "junk.pem", certs.key, "cannot load"),
                            (certs.cert, other.key, "KEY_VALUES_MISMATCH")]:
        with pytest.raises(InvalidArgument) as e:
            tls_context(str(cert), str(key))
        assert str(cert) in str(e.value) and says in str(e.value), e.value


def test_the_client_posts_to_an_https_seed_and_checks_its_certificate(tmp_path):
    certs = make_certs(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    wrong_name = make_certs(tmp_path / "elsewhere", names=("seed.example.org",))

    async def main():
        seed, _, server, port, _, _ = await seed_server(tls=tls_context(str(certs.cert), str(certs.key)))
        assert server.url == f"https://127.0.0.1:{port}/"
        call = {"jsonrpc": "2.0", "method": "nodeInfo", "params": [], "id": 1}
        reply = await http_post_json(server.url, call, timeout=20, ca_file=str(certs.ca))
        assert reply["result"]["did"] == seed.address.hex()
        with pytest.raises(LocalError, match="TLS certificate not trusted"):  # the system's CAs only
            await http_post_json(server.url, call, timeout=20)
        with pytest.raises(LocalError, match="not trusted"):  # a CA the client trusts, for another name
            other, _, named, _, _, _ = await seed_server(tls=tls_context(str(wrong_name.cert), str(wrong_name.key)))
            try:
                await http_post_json(named.url, call, timeout=20, ca_file=str(wrong_name.ca))
            finally:
                await named.close()
        with pytest.raises(LocalError):  # plain HTTP to the TLS port gets no JSON-RPC answer
            await http_post_json(server.url.replace("https", "http"), call, timeout=20)
        await server.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_a_client_that_never_starts_the_tls_handshake_is_dropped(tmp_path):
    certs = make_certs(tmp_path)

    async def main():
        _, _, server, port, _, _ = await seed_server(tls=tls_context(str(certs.cert), str(certs.key)), request_timeout=1)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(reader.read(), 20) == b""  # closed by the server, not by wait_for
        writer.close()
        await server.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def tls_config(tmp_path, name: str, **fields) -> object:
    cfg = tmp_path / f"{name}.json"
    subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), **fields}))
    return cfg


def test_run_serves_https_from_the_configured_certificate_and_links_native_nodes(tmp_path):
    certs = make_certs(tmp_path)
    seed_cfg = tls_config(tmp_path, "seed", tls_cert=certs.cert.name, tls_key=certs.key.name)  # relative to the config
    seed, hello = start_node(seed_cfg)
    other = None
    try:
        assert hello["url"].startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=str(certs.ca))
        status = json.loads(urllib.request.urlopen(hello["url"] + "status", timeout=10, context=trust).read())
        assert status["did"] == hello["did"]
        # a native node that trusts the test CA bootstraps from the https:// seed
        other, mine = start_node(tls_config(tmp_path, "other", tls_ca_file=str(certs.ca)))
        out = subprocess.run([*RINGS, "connect", hello["url"], "--config", str(tmp_path / "other.json"), "--url", mine["url"]],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr  # the seed answered the offer over TLS
        if only_loopback():  # WebRTC between the two processes only in a loopback-only namespace
            peers = lambda: subprocess.run([*RINGS, "peers", "--config", str(tmp_path / "other.json"), "--url", mine["url"]],
                                           capture_output=True, text=True, timeout=60).stdout
            for _ in range(100):
                if hello["did"] in peers():
                    break
                time.sleep(0.1)
            assert hello["did"] in peers()
    finally:
        stop_node(seed)
        if other:
            stop_node(other)


@pytest.mark.parametrize("fields, says", [
    ({"tls_cert": "missing.pem", "tls_key": "missing.key"}, "cannot load the TLS certificate"),
    ({"tls_cert": "server.pem"}, "tls_cert and tls_key go together"),
    ({"tls_ca_file": "nowhere.pem"}, "is not a file"),
])
def test_run_with_bad_tls_settings_is_one_line_and_exit_2(tmp_path, fields, says):
    make_certs(tmp_path)
    out = subprocess.run([*RINGS, "run", "--config", str(tls_config(tmp_path, "node", **fields)), "--bind", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "InvalidArgument" in out.stderr, out.stderr
    assert says in out.stderr
