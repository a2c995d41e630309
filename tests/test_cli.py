"""``rings-web decode`` (the wire dissector) and ``rings-web demo``."""

from __future__ import annotations

import subprocess
import sys

import pytest

CPYTHON_ONLY = pytest.mark.skipif(sys.platform == "emscripten", reason="needs subprocesses / asyncio.run (CPython tooling)")

from _vectors import VECTORS
from rings_web.native.cli import main
from rings_web.wire import json as wire_json
from rings_web.wire.types import MESSAGE

FRAMES = VECTORS["data_channel_frames"]


def run(capsys, *argv, stdin=None, monkeypatch=None):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("i", range(len(FRAMES)))
def test_decode_frame_prints_json_whose_data_is_the_signed_text(capsys, i):
    f = FRAMES[i]
    code, out, _ = run(capsys, "decode", *f["frames_hex"])
    assert code == 0
    obj = wire_json.loads(out)
    signed_first_line = f["session_key_signed_text"].split("\n")[0]
    data_text = wire_json.dumps(MESSAGE.to_json(MESSAGE.from_json(obj["data"])))
    if "omitted" not in signed_first_line:
        assert data_text == signed_first_line
    assert out.strip() == wire_json.dumps(obj)  # canonical: re-serialises identically
    assert obj["tx_id"] == f["decoded"]["tx_id"] and isinstance(obj["verification"]["sig"], list)


def test_decode_verify_gives_a_verdict_per_signature(capsys):
    f = FRAMES[0]
    now = f["chunk_headers"][0]["meta"]["ts_ms"]
    code, _, err = run(capsys, "decode", "--verify", "--now", str(now), f["frames_hex"][0])
    assert code == 0
    for check in ("expiry", "verification.session.sig", "verification.sig", "origin_verification.sig", "relay.path[0]"):
        assert f"ok   {check}:" in err
    code, _, err = run(capsys, "decode", "--verify", "--now", str(now + 10**7), f["frames_hex"][0])
    assert code == 1 and "FAIL expiry: expired" in err


def test_decode_handshake_string_and_base58(capsys):
    h = VECTORS["manual_handshake"]["answer_from_B"]["string"]
    code, out, _ = run(capsys, "decode", h)
    assert code == 0 and out.strip() == h
    code, out, _ = run(capsys, "decode", "L8wR28mzywFHHnmuAm5DbDJdPcY6z1Zjp")
    assert code == 0 and wire_json.loads(out)["utf8"] == "rings-oracle-topic-0"
    code, out, _ = run(capsys, "decode", "--as", "payload", VECTORS["data_channel_frames"][0]["payload_hex"])
    assert code == 0 and wire_json.loads(out)["tx_id"] == FRAMES[0]["decoded"]["tx_id"]


@pytest.mark.parametrize("bad", ["00ff", "zzzz-not-anything", '{"data":', "L8wR28mzywFHHnmuAm5DbDJdPcY6z1Zjq"])
def test_decode_bad_input_is_one_line_and_exit_2(capsys, bad):
    code, out, err = run(capsys, "decode", bad)
    assert code == 2 and out == "" and err.count("\n") == 1 and "DecodeError" in err


@CPYTHON_ONLY
def test_module_entry_point_reads_stdin_and_fails_cleanly():
    ok = subprocess.run([sys.executable, "-m", "rings_web", "decode"], input=FRAMES[1]["frames_hex"][0],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and '"FindSuccessorReport"' in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "rings_web", "decode", "abc"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


@CPYTHON_ONLY
def test_demo_prints_identity_and_a_verified_frame(capsys):
    code, out, _ = run(capsys, "demo", "--key", VECTORS["test_keys"]["A"]["priv"], "--text", "hi")
    assert code == 0
    assert VECTORS["test_keys"]["A"]["address"] in out and "decoded back   : verified" in out
