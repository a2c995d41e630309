"""``micropip.install`` of the rings-web wheel into a plain Pyodide (no createNode, no shim), in
Node and in Chromium: from a URL (``file:`` in Node, ``http:`` in Chromium) and from the
Emscripten file system (``emfs:``); then the codec, the dissector and a session work.  The
shim (``rings-web/shim``) and a node that connects are in tests/js/micropip.test.mjs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from _vectors import VECTORS
from rings_web.dissect import dissect
from rings_web.session import LocalKeySigner
from test_in_pyodide import check_dist

FRAME = next(f for f in VECTORS["data_channel_frames"] if len(f["frames_hex"]) == 1)["frames_hex"]
KEY = VECTORS["test_keys"]["A"]["priv"]


@pytest.mark.parametrize("source", ["url", "emfs"])
def test_micropip_installs_a_working_rings_web(selenium_standalone, runtime, source, request):
    dist = Path(request.config.option.dist_dir).resolve()
    check_dist(dist)
    if "micropip" not in json.loads((dist / "pyodide-lock.json").read_text())["packages"]:
        pytest.fail(f"{dist} does not ship micropip: run `python scripts/build_pyodide_dist.py`", pytrace=False)
    selenium = selenium_standalone
    wheel = next(dist.glob("rings_web-*-py3-none-any.whl"))
    url = wheel.as_uri() if runtime == "node" else f"{selenium.base_url}/{wheel.name}"
    if source == "emfs":
        read = f"require('fs').readFileSync({json.dumps(str(wheel))})" if runtime == "node" \
            else f"new Uint8Array(await (await fetch({json.dumps(url)})).arrayBuffer())"
        selenium.run_js(f"pyodide.FS.mkdirTree('/wheels'); pyodide.FS.writeFile('/wheels/{wheel.name}', {read});")
        url = f"emfs:/wheels/{wheel.name}"
    selenium.load_package("micropip")
    expected = {"frame": dissect(FRAME).json, "address": LocalKeySigner(KEY).address.hex()}
    got = selenium.run_async(f"""
        import micropip
        await micropip.install({url!r})
        import json, os
        from rings_web.crypto import default_backend
        from rings_web.dissect import dissect
        from rings_web.session import LocalKeySigner, SessionManager, verify_session
        crypto = default_backend()
        session = await SessionManager.create(LocalKeySigner({KEY!r}, crypto=crypto), crypto=crypto,
                                              now=1_795_339_300_000, random_bytes=os.urandom)
        json.dumps({{"frame": dissect({FRAME!r}).json, "address": verify_session(session.session, crypto).hex(),
                    "backend": crypto.name, "installed": [p.name for p in micropip.list().values()]}})
    """)
    got = json.loads(got)
    assert got.pop("backend") == "pure"  # no shim registered: the pure-Python crypto
    assert "rings-web" in got.pop("installed")
    assert got == expected
