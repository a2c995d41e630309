"""ICE settings of the native transport: servers with credentials, and the default host candidates."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.cpython_only(reason="aiortc is the native transport")
pytest.importorskip("aiortc", reason="aiortc is not installed (pip install aiortc)")

from rings_web.errors import InvalidArgument  # noqa: E402
from rings_web.transport.aiortc import ice_server  # noqa: E402


def test_ice_servers_are_urls_or_browser_style_objects():
    assert ice_server("stun:198.51.100.1:3478").urls == "stun:198.51.100.1:3478"
    turn = ice_server({"urls": ["turn:203.0.113.5:3478?transport=tcp", "turn:203.0.113.5:3478"],
                       "username": "alice", "credential": "s3cret"})
    assert (turn.urls[0], turn.username, turn.credential) == ("turn:203.0.113.5:3478?transport=tcp", "alice", "s3cret")


@pytest.mark.parametrize("entry, says", [
    (42, "got int"),
    ({"url": "stun:x"}, "unknown field(s) ['url']"),
    ({"urls": []}, "non-empty list"),
    ({"urls": "http://203.0.113.5"}, "must start with stun:"),
    ({"urls": "turn:203.0.113.5"}, "needs username and credential"),
    ({"urls": "turn:203.0.113.5", "username": "a", "credential": 7}, "credential must be a string"),
])
def test_a_bad_ice_server_says_which_field(entry, says):
    with pytest.raises(InvalidArgument) as e:
        ice_server(entry)
    assert says in str(e.value)


HOST_ADDRESSES = """
import ifaddr, aioice.ice
from rings_web.transport.aiortc import AiortcTransport
adapters = {adapters!r}
ifaddr.get_adapters = lambda: [ifaddr.Adapter(n, n, [ifaddr.IP(ip, 8, n) for ip in ips]) for n, ips in adapters]
AiortcTransport()
print(aioice.ice.get_host_addresses(True, False))
"""


@pytest.mark.parametrize("adapters, offered", [
    ([("lo", ["127.0.0.1"])], ["127.0.0.1"]),  # a loopback-only host: a browser beside it connects
    ([("lo", ["127.0.0.1"]), ("eth0", ["198.51.100.7"])], ["198.51.100.7"]),  # as aioice chooses
])
def test_host_candidates_fall_back_to_loopback_only_when_there_is_no_other_interface(adapters, offered):
    # a fresh process: aioice's choice is process-wide, and other tests pin it to 127.0.0.1
    out = subprocess.run([sys.executable, "-c", HOST_ADDRESSES.format(adapters=adapters)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == repr(offered)


def test_run_refuses_a_turn_server_without_credentials_in_one_line(tmp_path):
    import json

    cfg = tmp_path / "node.json"
    rings = [sys.executable, "-m", "rings_web"]
    subprocess.run([*rings, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "ice_servers": [{"urls": "turn:203.0.113.5:3478"}]}))
    out = subprocess.run([*rings, "run", "--config", str(cfg), "--bind", "127.0.0.1:0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1, out.stderr
    assert "needs username and credential" in out.stderr
