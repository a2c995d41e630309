"""``rings-web init`` and ``rings-web run`` as an operator uses them (subprocesses, 127.0.0.1)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from _support import only_loopback

pytestmark = pytest.mark.cpython_only(reason="spawns the native node")
RINGS = [sys.executable, "-m", "rings_web"]


def start_node(config: Path) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen([*RINGS, "run", "--config", str(config), "--bind", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line, proc.stderr.read()
    return proc, json.loads(line)


def stop_node(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    return err


def test_init_writes_config_and_a_private_key(tmp_path):
    cfg = tmp_path / "node.json"
    out = subprocess.run([*RINGS, "init", "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    key = tmp_path / "node.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert key.read_text().strip() not in out.stdout + out.stderr  # never printed
    written = json.loads(cfg.read_text())
    assert written["bind"] == "127.0.0.1:50000" and (written["tls_cert"], written["tls_key"]) == ("", "")
    again = subprocess.run([*RINGS, "init", "--config", str(cfg)], capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "not overwriting" in again.stderr


def test_run_serves_status_and_json_rpc_and_stops_cleanly(tmp_path):
    cfg = tmp_path / "node.json"
    subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    proc, hello = start_node(cfg)
    try:
        status = json.loads(urllib.request.urlopen(hello["url"] + "status", timeout=10).read())
        assert status["did"] == hello["did"]
        req = urllib.request.Request(hello["url"], data=b'{"jsonrpc":"2.0","method":"nodeInfo","id":7}',
                                     headers={"content-type": "application/json"})
        info = json.loads(urllib.request.urlopen(req, timeout=10).read())
        assert info["id"] == 7 and info["result"]["did"] == hello["did"]
    finally:
        err = stop_node(proc)
    assert '"stopping"' in err and (tmp_path / "node.key").read_text().strip() not in err


@pytest.mark.parametrize("command", ["decode", "demo", "init", "run", "doctor"])
def test_every_command_has_help(command):
    out = subprocess.run([*RINGS, command, "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "usage:" in out.stdout


def test_run_with_a_bad_config_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    out = subprocess.run([*RINGS, "run", "--config", str(bad)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "InvalidArgument" in out.stderr


HIDE_NATIVE = """
import importlib.abc, sys
from rings_web.native.cli import NATIVE_MODULES, main

class Hide(importlib.abc.MetaPathFinder):  # as after a plain `pip install rings-web`
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in NATIVE_MODULES | {"coincurve"}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)

sys.meta_path.insert(0, Hide())
sys.exit(main(sys.argv[1:]))
"""


def test_every_command_without_the_native_extra_works_or_says_which_in_one_line(tmp_path):
    cfg = str(tmp_path / "node.json")
    runs = {"init": ["init", "--config", cfg], "decode": ["decode", "L8wR28mzywFHHnmuAm5DbDJdPcY6z1Zjp"], "demo": ["demo"],
            "run": ["run", "--config", cfg, "--bind", "127.0.0.1:0"],
            "info": ["info", "--config", cfg, "--url", "127.0.0.1:9"]}  # nothing listens on port 9
    for name, argv in runs.items():
        out = subprocess.run([sys.executable, "-c", HIDE_NATIVE, *argv], capture_output=True, text=True, timeout=120)
        if name in ("init", "decode", "demo"):
            assert out.returncode == 0, out.stderr
        else:
            assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr
    run = subprocess.run([sys.executable, "-c", HIDE_NATIVE, *runs["run"]], capture_output=True, text=True, timeout=120)
    assert run.stderr.startswith("rings-web run: needs the module") and "rings-web[native]" in run.stderr


def test_run_with_a_bad_bind_or_a_busy_port_is_one_line_and_exit_2(tmp_path):
    cfg = tmp_path / "node.json"
    subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        for bind in ("nonsense", f"127.0.0.1:{busy.getsockname()[1]}"):
            out = subprocess.run([*RINGS, "run", "--config", str(cfg), "--bind", bind], capture_output=True, text=True, timeout=60)
            assert out.returncode == 2 and out.stderr.count("\n") == 1 and "Traceback" not in out.stderr, out.stderr


def test_two_running_nodes_connect_and_talk_through_the_cli(tmp_path):
    nodes = []
    try:
        for name in ("a", "b"):
            cfg = tmp_path / f"{name}.json"
            subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)
            proc, hello = start_node(cfg)
            nodes.append((cfg, proc, hello))
        (cfg_a, _, a), (cfg_b, _, b) = nodes

        def cli(cfg, hello, *args):
            out = subprocess.run([*RINGS, args[0], "--config", str(cfg), "--url", hello["url"], *args[1:]],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            return json.loads(out.stdout)

        if only_loopback():  # WebRTC between the two processes only in a loopback-only namespace
            cli(cfg_a, a, "connect", b["url"])
            for _ in range(100):
                if cli(cfg_a, a, "peers"):
                    break
                time.sleep(0.1)
            assert [p["did"] for p in cli(cfg_a, a, "peers")] == [b["did"]]
            assert "tx_id" in cli(cfg_a, a, "send", b["did"], "over the CLI")
        assert cli(cfg_a, a, "publish", "cli-topic", "first") == {}
        assert cli(cfg_a, a, "fetch", "cli-topic") == ["first"]
        assert cli(cfg_b, b, "register", "svc") == {}
        assert cli(cfg_b, b, "lookup", "svc") == [b["did"][2:]]
        assert cli(cfg_a, a, "info")["did"] == a["did"]
    finally:
        errs = [stop_node(proc) for _, proc, _ in nodes]
    if len(errs) == 2 and '"peer:connect"' in errs[0]:
        assert '"message"' in errs[1]


def test_restart_keeps_stored_vnodes(tmp_path):
    cfg = tmp_path / "node.json"
    subprocess.run([*RINGS, "init", "--config", str(cfg)], check=True, capture_output=True, timeout=60)

    def cli(hello, *args):
        out = subprocess.run([*RINGS, args[0], "--config", str(cfg), "--url", hello["url"], *args[1:]],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    proc, hello = start_node(cfg)
    try:
        cli(hello, "publish", "durable", "kept across restarts")
        cli(hello, "register", "svc")
    finally:
        stop_node(proc)
    assert (tmp_path / "node.db").exists()
    proc, hello = start_node(cfg)
    try:
        assert cli(hello, "fetch", "durable") == ["kept across restarts"]
        assert cli(hello, "lookup", "svc") == [hello["did"][2:]]
    finally:
        stop_node(proc)
