"""``rings-web doctor`` against a loopback coturn (STUN + TURN with long-term credentials) and a
running https seed: all ok; a wrong TURN password, a silent STUN port and a stopped node each
FAIL with the reason, and the exit code says so."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time

import pytest

from _support import only_loopback
from _tls import make_certs
from test_native_cli import RINGS, stop_node

pytestmark = pytest.mark.cpython_only(reason="runs coturn and the native node")
pytest.importorskip("aiortc", reason="aiortc is not installed")
USER, PASSWORD = "doctor", "doctor-secret"
TIMEOUT = "2"  # s per check: coturn answers on loopback in milliseconds


def free_port(kind: int) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def coturn(tmp_path_factory):
    """coturn on 127.0.0.1 (UDP and TCP), bounded by ``timeout``; yields its port."""
    if not only_loopback():
        pytest.skip("coturn runs only in a loopback-only network namespace (scripts/test.sh)")
    if not shutil.which("turnserver"):
        pytest.skip("turnserver is not installed (apt-get install coturn; scripts/setup.sh does)")
    work, port = tmp_path_factory.mktemp("coturn"), free_port(socket.SOCK_DGRAM)
    relay = free_port(socket.SOCK_DGRAM)
    proc = subprocess.Popen(["timeout", "300", "turnserver", "-n", "--listening-ip=127.0.0.1", f"--listening-port={port}",
                             "--relay-ip=127.0.0.1", f"--min-port={relay}", f"--max-port={relay + 20}",
                             "--lt-cred-mech", f"--user={USER}:{PASSWORD}", "--realm=doctor", "--no-cli", "--no-tls",
                             "--no-dtls", "--fingerprint", f"--db={work / 'turndb'}", f"--pidfile={work / 'turn.pid'}",
                             "--log-file=stdout", "--simple-log"],
                            stdout=open(work / "turn.log", "w"), stderr=subprocess.STDOUT)
    for _ in range(100):  # coturn writes its pid file once it listens (~0.1 s)
        if (work / "turn.pid").exists() or proc.poll() is not None:
            break
        time.sleep(0.1)
    assert (work / "turn.pid").exists(), (work / "turn.log").read_text()[-1000:]
    yield port
    proc.terminate()
    proc.wait(timeout=30)


def config(tmp_path, **fields):
    cfg = tmp_path / "node.json"
    subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "host_addresses": ["127.0.0.1"],
                               "bind": f"127.0.0.1:{free_port(socket.SOCK_STREAM)}", **fields}))
    return cfg


def doctor(cfg) -> tuple[int, dict[str, str], str]:
    out = subprocess.run([*RINGS, "doctor", "--config", str(cfg), "--timeout", TIMEOUT], capture_output=True, text=True,
                         timeout=120)
    lines = {line[5:].split(": ", 1)[0]: line for line in out.stdout.splitlines()}
    return out.returncode, lines, out.stderr


def test_doctor_passes_with_coturn_and_a_running_https_node(tmp_path, coturn):
    certs = make_certs(tmp_path)
    cfg = config(tmp_path, tls_cert=certs.cert.name, tls_key=certs.key.name, ice_servers=[
        f"stun:127.0.0.1:{coturn}", {"urls": f"turn:127.0.0.1:{coturn}", "username": USER, "credential": PASSWORD},
        {"urls": f"turn:127.0.0.1:{coturn}?transport=tcp", "username": USER, "credential": PASSWORD}])
    node = subprocess.Popen([*RINGS, "run", "--config", str(cfg)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        hello = json.loads(node.stdout.readline())
        code, lines, err = doctor(cfg)
    finally:
        stop_node(node)
    assert code == 0 and err == "", (lines, err)
    assert all(line.startswith("ok   ") for line in lines.values()), lines
    assert lines["node key"].endswith(hello["did"]) and "host 127.0.0.1:" in lines["candidates"]
    assert "certificate for 127.0.0.1, localhost" in lines["tls"]
    assert "mapped address 127.0.0.1:" in lines[f"stun:127.0.0.1:{coturn}"]
    assert "allocation ok over udp: relayed 127.0.0.1:" in lines[f"turn:127.0.0.1:{coturn}"]
    assert "not used" in lines[f"turn:127.0.0.1:{coturn}?transport=tcp"]  # aiortc takes the first TURN URL only
    assert f"{hello['url']}status answered: this node, did {hello['did']}" in lines["json-rpc"]


def test_doctor_names_each_failure_and_exits_non_zero(tmp_path, coturn):
    silent = free_port(socket.SOCK_DGRAM)  # nothing listens there
    cfg = config(tmp_path, ice_servers=[f"stun:127.0.0.1:{silent}",
                                        {"urls": f"turn:127.0.0.1:{coturn}", "username": USER, "credential": "wrong"}])
    code, lines, err = doctor(cfg)  # and the node is not running
    assert code == 1, lines
    assert lines[f"stun:127.0.0.1:{silent}"].startswith("FAIL") and f"no answer within {TIMEOUT} s" in lines[f"stun:127.0.0.1:{silent}"]
    turn = lines[f"turn:127.0.0.1:{coturn}"]
    assert turn.startswith("FAIL") and "401" in turn and "wrong username or credential" in turn
    assert lines["json-rpc"].startswith("FAIL") and "is the node running?" in lines["json-rpc"]
    assert lines["node key"].startswith("ok") and lines["candidates"].startswith("ok")
    assert "3 of 5 checks failed" in err
