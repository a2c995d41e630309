"""rings_web.browser (the Python half of ``createNode``) inside Pyodide, in Node and in Chromium.

The page's objects come from the real shims where they work without a network — js/testing.mjs
(the test EIP-1193 wallet: MetaMask's code path), js/crypto.mjs (wasm crypto, cross-checked with
@noble), js/storage.mjs (IndexedDB, in Chromium) — loaded as bundled data: modules, since
pytest-pyodide's page has no import map. An in-memory JS transport stands in for WebRTC (two
nodes in one interpreter); WebRTC itself is exercised end to end by tests/js/.
"""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest
from pytest_pyodide import run_in_pyodide

from test_in_pyodide import REPO, check_dist

HERE = Path(__file__).resolve().parent

# globalThis.glue: factories for the stand-ins and the options object js/index.mjs passes
STAND_INS = """
globalThis.glue = {
  wallet(key, reject, code) {
    const w = testWallet(key);
    if (reject) w.rejectNext(reject, code);
    return { kind: "eip1193", request: (method, params) => w.request({ method, params }), account: undefined, chainId: undefined };
  },
  signer(key) { // a custom signer (createNode's "signer" option) that counts its signatures
    const w = testWallet(key);
    const hex = (text) => "0x" + Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
    const o = { kind: "signer", mode: "EIP191", address: w.address, publicKey: undefined, signs: 0 };
    o.sign = (text) => { o.signs++; return w.request({ method: "personal_sign", params: [hex(text), w.address] }); };
    return o;
  },
  kept() { // js/storage.mjs openSessionStore's interface, in memory
    const o = { record: null, async get() { return o.record ?? undefined; }, async put(r) { o.record = r; },
                async delete() { o.record = null; }, close() {} };
    return o;
  },
  brokenKept() { // an IndexedDB that fails every read and write
    const fail = async () => { throw new DOMException("quota exceeded", "QuotaExceededError"); };
    return { get: fail, put: fail, delete: fail, close() {} };
  },
  hub() {
    const ends = new Map();
    return (name, failing) => (events) => {
      const me = { events, links: new Map() };
      ends.set(name, me);
      const token = (tid, type) => ({ sdp: JSON.stringify({ sdp: `fake:${name}:${tid}`, type }), candidates: [] });
      return {
        async createOffer(tid) { if (failing) throw new Error("RTCPeerConnection is not available"); return token(tid, "offer"); },
        async acceptOffer(tid, sdp) { JSON.parse(sdp); return token(tid, "answer"); },
        async applyAnswer(tid, sdp) {
          const [, far, ftid] = JSON.parse(sdp).sdp.split(":");
          const other = ends.get(far);
          me.links.set(tid, [other, ftid]);
          other.links.set(ftid, [me, tid]);
          setTimeout(() => { me.events.opened(tid); other.events.opened(ftid); });
        },
        send(tid, frame) {
          const link = me.links.get(tid);
          if (link) { const copy = frame.slice(); setTimeout(() => link[0].events.frame(link[1], copy)); }
        },
        pair(tid) { return me.links.has(tid) ? { local: "host", remote: "host", protocol: "udp" } : null; },
        fail(tid, failure) { me.links.delete(tid); setTimeout(() => me.events.closed(tid, failure)); }, // as ICE failing
        close(tid) {
          const link = me.links.get(tid);
          me.links.delete(tid);
          if (link && link[0].links.delete(link[1])) setTimeout(() => link[0].events.closed(link[1]));
        },
      };
    };
  },
  db() {
    const stores = { owned: new Map(), replicas: new Map() };
    return { stores, async load(s) { return [...stores[s]]; }, put(s, k, bytes) { stores[s].set(k, bytes.slice()); },
             delete(s, k) { stores[s].delete(k); }, async flush() {}, close() {} };
  },
  options(wallet, createTransport, vnodeDb, sessionDb) {
    const log = [];
    return { log, wallet, createTransport, iceServers: [], stabilizeInterval: 200, vnodeDb, sessionDb,
             emit: (name, detail) => log.push([name, detail]), progress: (p) => log.push(["progress", p.stage]) };
  },
};
"""


@pytest.fixture(scope="session")
def shim_bundles() -> dict[str, str]:
    out = subprocess.run(["node", str(HERE / "bundle_shims.mjs")], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def selenium_glue(request, runtime, shim_bundles, selenium_module_scope):
    check_dist(request.config.option.dist_dir)
    selenium = selenium_module_scope
    selenium.load_package(["rings-web"])
    # the wasm crypto sits in the repo's dist/ for Node, and in the test dist (the page's own
    # directory) for Chromium
    dist = (REPO / "dist").as_uri() + "/" if runtime == "node" else selenium.base_url + "/"
    url = {name: "data:text/javascript;base64," + base64.b64encode(code.encode()).decode() for name, code in shim_bundles.items()}
    selenium.run_js(f"""
        const [testing, shim, storage] = await Promise.all([
            import({json.dumps(url["testing"])}), import({json.dumps(url["crypto"])}), import({json.dumps(url["storage"])})]);
        await shim.registerCrypto(pyodide, {{ dist: {json.dumps(dist)} }});
        pyodide.registerJsModule("rings_web_crypto_noble", await shim.cryptoFunctions({{ fast: false }}));
        globalThis.openVNodeDb = storage.openVNodeDb;
        globalThis.testWallet = testing.testWallet;
    """)
    selenium.run_js(STAND_INS)
    return selenium


@run_in_pyodide
async def test_two_nodes_link_talk_and_store(selenium_glue):
    import asyncio

    import js
    from js import glue
    from rings_web.browser import start

    async def until(predicate):
        for _ in range(200):
            if predicate():
                return
            await asyncio.sleep(0.02)
        raise AssertionError("condition not reached")

    hub = glue.hub()
    a_opts = glue.options(glue.wallet("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"), hub("a"), None)
    b_opts = glue.options(glue.wallet("0c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00c0ffee0"), hub("b"), None)
    a, b = await start(a_opts), await start(b_opts)
    assert a.address == "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"  # the wallet's address is the DID
    assert [stage for name, stage in a_opts.log.to_py() if name == "progress"] == ["wallet", "storage"]

    peer = await a.accept_answer(await b.answer_offer(await a.create_offer()))
    assert peer["did"] == b.address
    await until(lambda: a.get_peer(b.address) is not None and b.get_peer(a.address) is not None)
    assert [p["did"] for p in a.list_peers()] == [b.address]

    from pyodide.ffi import to_js

    a.send_simple_text_message(b.address, "hi from a")
    a.send_message(b.address, to_js(b"\x01\x02raw"))
    a.send_custom_message(b.address, 9, to_js(b"\xca\xfe"))
    await until(lambda: len([e for e in b_opts.log.to_py() if e[0] == "message"]) == 3)
    text, raw, custom = [d for name, d in b_opts.log.to_py() if name == "message"]
    assert (text["from"], text["type"], text["text"], text["path"]) == (a.address, 2, "hi from a", [a.address])
    assert (raw["type"], bytes(raw["data"])) == (None, b"\x01\x02raw")
    assert (custom["type"], bytes(custom["data"])) == (9, b"\xca\xfe")
    assert ["peer:connect", {"did": a.address}] in b_opts.log.to_py()

    vid = await a.storage_store("kept by the ring")
    assert (await b.storage_fetch(vid))["data"] == ["kept by the ring"]
    assert await b.storage_fetch("0x" + "00" * 20) is None
    await a.register_service("echo")
    assert await b.lookup_service("echo") == [a.address]
    from rings_web.message.custom import HttpResponse
    from rings_web.native.services import HttpServices

    async def fetch(url, request):
        return HttpResponse(200, {"x-url": url}, request.body[::-1])

    HttpServices(b.client, {"rev": "http://127.0.0.1:9/api"}, fetch)
    request = to_js({"name": "rev", "method": "POST", "path": "/x", "body": to_js(b"abc"), "timeout": 5000},
                    dict_converter=js.Object.fromEntries)
    response = await a.send_http_request(b.address, request)
    assert (response["status"], response["headers"], bytes(response["body"])) == (200, {"x-url": "http://127.0.0.1:9/api/x"}, b"cba")
    decoded = b.decode(await a.create_offer())
    assert decoded["kind"] == "handshake" and '"ConnectNodeSend"' in decoded["json"]

    # the JS transport's pair and its failure record cross to Python
    assert a.get_peer(b.address)["pair"] == {"local": "host", "remote": "host", "protocol": "udp"}
    failure = {"ice": "disconnected", "connection": "failed", "up": True, "waitedMs": None,
               "local": ["host"], "remote": ["host", "srflx"]}
    a.client.node.transport._js.fail(a.get_peer(b.address)["transportId"], to_js(failure, dict_converter=js.Object.fromEntries))
    await until(lambda: a.get_peer(b.address) is None)
    reason = ("the link failed after it was up: the peer stopped answering (ICE disconnected, connection failed; "
              "local candidates: host; remote: host, srflx)")
    assert ["peer:failed", {"did": b.address, "reason": reason}] in a_opts.log.to_py()
    await a.close()
    await b.close()


@run_in_pyodide
async def test_wallet_rejection_and_webrtc_failure_are_typed(selenium_glue):
    import pytest
    from js import glue
    from rings_web.browser import start
    from rings_web.errors import InvalidArgument, LocalError, SignatureRejected, WalletLocked

    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    hub = glue.hub()
    with pytest.raises(SignatureRejected, match="4001"):
        await start(glue.options(glue.wallet(key, "personal_sign"), hub("x"), None))
    with pytest.raises(WalletLocked, match="4100"):
        await start(glue.options(glue.wallet(key, "eth_requestAccounts", 4100), hub("x"), None))
    node = await start(glue.options(glue.wallet(key), hub("y", True), None))
    with pytest.raises(LocalError, match="WebRTC: Error: RTCPeerConnection is not available"):
        await node.create_offer()
    with pytest.raises(InvalidArgument):
        node.send_message(node.address, "text, not bytes")
    assert node.list_peers() == []
    await node.close()
    working = await start(glue.options(glue.wallet(key), hub("z"), None))
    with pytest.raises(LocalError, match="POST http://127.0.0.1:9/ failed"):  # nothing listens there
        await working.connect_peer_via_http("http://127.0.0.1:9/")
    await working.close()


@run_in_pyodide
async def test_js_calls_settle_into_values_and_structured_errors(selenium_glue):
    import js
    from js import glue
    from rings_web.api_events import EVENT_NAMES
    from rings_web.browser import boot
    from rings_web.did import Did

    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    refused = (await boot(glue.options(glue.wallet(key, "personal_sign"), glue.hub()("r"), None))).to_py()
    assert refused["ok"] is False and refused["error"]["name"] == "SignatureRejected"
    assert refused["error"]["details"] == {"family": "LocalError"} and "4001" in refused["error"]["message"]

    opts = glue.options(glue.wallet(key), glue.hub()("s"), None)
    booted = await boot(opts)
    assert booted.ok and booted.value.address == "0x2c7536e3605d9c16a7a3d7b1898e529396a65c23"
    assert list(booted.value.events.to_py()) == list(EVENT_NAMES)
    node = booted.value.node
    bad = node.invoke("send_message", booted.value.address, "text, not bytes").to_py()
    assert bad["ok"] is False and bad["error"]["name"] == "InvalidArgument" and "must be bytes" in bad["error"]["message"]
    stored = (await node.invoke("storage_store", "settled")).to_py()
    assert stored == {"ok": True, "value": Did.from_topic("settled").hex()}
    assert (await node.invoke("fetch_messages_of_topic", "t", -1)).to_py()["error"]["name"] == "InvalidArgument"
    assert node.invoke("_event", None).to_py()["error"]["message"] == "no method '_event'"
    node.invoke("accounts_changed", js.Array.of("0x" + "ab" * 20))
    changed = {"accounts": ["0x" + "ab" * 20], "address": booted.value.address}
    assert ["wallet:accountsChanged", changed] in opts.log.to_py()
    await node.invoke("close")


@run_in_pyodide
async def test_vnodes_are_mirrored_to_the_database_and_loaded_back(selenium_glue):
    from js import glue
    from pyodide.ffi import to_js
    from rings_web.browser import start
    from rings_web.browser.storage import open_store
    from rings_web.did import Did

    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    db = glue.db()
    node = await start(glue.options(glue.wallet(key), glue.hub()("z"), db))
    vid = await node.storage_store("persisted")
    await node.publish_message_to_topic("log", "one")
    await node.publish_message_to_topic("log", "two")
    assert sorted(db.stores.owned.keys()) == sorted([vid, Did.from_topic("log").hex()])
    await node.close()

    db.stores.owned.set("0x" + "ab" * 20, to_js(b"not a vnode"))  # a row this version cannot read
    store = await open_store(db)
    assert [v.did.hex() for v in store] and len(store) == 2
    again = await start(glue.options(glue.wallet(key), glue.hub()("z"), db))
    assert await again.fetch_messages_of_topic("log", 0) == ["one", "two"]
    assert (await again.storage_fetch(vid))["data"] == ["persisted"]
    await again.close()


@run_in_pyodide
async def test_a_kept_session_is_restored_without_signing_until_logout(selenium_glue):
    from js import glue
    from rings_web.browser import start

    key, other_key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "11" * 32
    kept, signer = glue.kept(), glue.signer(key)
    first = await start(glue.options(signer, glue.hub()("k"), None, kept))
    assert signer.signs == 1 and kept.record.account == first.address
    secret = kept.record.secret.to_bytes()
    assert len(secret) == 32 and kept.record.expires > 0
    await first.close()
    again = await start(glue.options(signer, glue.hub()("k"), None, kept))
    assert signer.signs == 1 and again.address == first.address
    assert kept.record.secret.to_bytes() == secret  # restored, not replaced
    await again.logout()
    assert not kept.record
    third = await start(glue.options(signer, glue.hub()("k"), None, kept))
    assert signer.signs == 2
    await third.close()
    other = glue.signer(other_key)  # another wallet finds this one's session and signs its own
    fourth = await start(glue.options(other, glue.hub()("k"), None, kept))
    assert other.signs == 1 and fourth.address != first.address and kept.record.account == fourth.address
    await fourth.close()
    for _ in range(2):  # a store that fails costs a signature per load, not the boot
        await (await start(glue.options(other, glue.hub()("k"), None, glue.brokenKept()))).close()
    assert other.signs == 3


@run_in_pyodide
def test_wasm_crypto_agrees_with_noble(selenium_glue):
    import random

    import rings_web_crypto as fast
    import rings_web_crypto_noble as noble
    from pyodide.ffi import to_js
    from rings_web.crypto import default_backend, is_low_s
    from rings_web.crypto._checks import SECP256K1_N

    assert fast.implementation.startswith("wasm") and noble.implementation == "@noble"
    assert default_backend().name == "pyodide"
    rng = random.Random(5)
    js = lambda b: to_js(memoryview(b))  # noqa: E731
    for size in (0, 1, 135, 136, 137, 3700, 200_000):  # around the keccak rate (136 bytes)
        raw = rng.randbytes(size)
        data = js(raw)
        assert fast.keccak256(data).to_bytes() == noble.keccak256(data).to_bytes()
        parts = (js(b'{"x":['), data, js(b"]}"))
        listed = noble.keccak256(js(b'{"x":[' + ",".join(map(str, raw)).encode() + b"]}")).to_bytes()
        assert fast.keccak256ByteList(*parts).to_bytes() == noble.keccak256ByteList(*parts).to_bytes() == listed
    for _ in range(20):
        secret, other, digest = js(rng.randbytes(32)), js(rng.randbytes(32)), js(rng.randbytes(32))
        pub = fast.secp256k1PublicKey(secret).to_bytes()
        assert pub == noble.secp256k1PublicKey(secret).to_bytes()
        sig = fast.secp256k1Sign(digest, secret).to_bytes()
        assert sig == noble.secp256k1Sign(digest, secret).to_bytes()  # RFC 6979, low S: the same bytes
        assert is_low_s(sig)
        assert fast.secp256k1Recover(digest, js(sig)).to_bytes() == pub == noble.secp256k1Recover(digest, js(sig)).to_bytes()
        # both take the high-S twin as well: the payload verifier refuses it itself
        twin = sig[:32] + (SECP256K1_N - int.from_bytes(sig[32:64], "big")).to_bytes(32, "big") + bytes([sig[64] ^ 1])
        assert fast.secp256k1Recover(digest, js(twin)).to_bytes() == pub == noble.secp256k1Recover(digest, js(twin)).to_bytes()
        compressed = bytes([2 + (pub[63] & 1)]) + pub[:32]
        assert fast.secp256k1Decompress(js(compressed)).to_bytes() == pub
        other_pub = js(noble.secp256k1PublicKey(other).to_bytes())
        assert fast.secp256k1Ecdh(secret, other_pub).to_bytes() == noble.secp256k1Ecdh(secret, other_pub).to_bytes()
        # a message text's signer in one call: head = signature, prefix, suffix
        body = rng.randbytes(rng.choice((1, 1024)))
        text_sig = fast.secp256k1Sign(noble.keccak256ByteList(js(b'{"x":['), js(body), js(b"]}\n1")), secret).to_bytes()
        head = js(text_sig + b'{"x":[' + b"]}\n1")
        assert fast.secp256k1RecoverByteList(head, js(body), 6).to_bytes() == pub == noble.secp256k1RecoverByteList(head, js(body), 6).to_bytes()
        assert fast.secp256k1RecoverByteList(head, js(body), 5).to_bytes() != pub


@run_in_pyodide
async def test_vnodes_persist_in_indexeddb(selenium_glue):
    import js
    import pytest
    from rings_web.browser.storage import open_store
    from rings_web.did import Did
    from rings_web.wire.types import Extend, VirtualNode

    if not hasattr(js, "indexedDB"):
        pytest.skip("IndexedDB exists only in the browser runtime")
    db = await js.openVNodeDb("glue-test")
    store = await open_store(db)
    vid = Did.from_topic("glue")
    store.operate(Extend(VirtualNode(vid, ("a",))))
    store.operate(Extend(VirtualNode(vid, ("b",))))
    store.keep_replica(VirtualNode(Did.from_topic("theirs"), ("c",)))
    await db.flush()
    db.close()
    again = await open_store(await js.openVNodeDb("glue-test"))
    assert again.get(vid).data == ("a", "b") and again.get(Did.from_topic("theirs")).data == ("c",)
    assert len(again) == 1  # the replica is not owned



@run_in_pyodide
async def test_a_crypto_backend_that_throws_fails_the_boot_and_only_logs_the_warm_up(selenium_glue):
    import asyncio
    import gc
    import logging

    import rings_web.crypto.pyodide as backend
    from js import glue
    from pyodide.code import run_js
    from rings_web.browser import boot, start

    key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
    real = backend._js
    # the function throws its first 20 calls (as crypto.mjs did for a Uint8Array of another
    # realm), then works: a boot that retried it succeeds, so this fails rather than hangs
    breaking = run_js("""(real, name) => { let left = 20; return { ...real, [name](...args) {
        if (left-- > 0) throw new TypeError(`${name}: expected Uint8Array, got object`); return real[name](...args); } }; }""")
    for name in ("secp256k1PublicKey", "keccak256"):  # the session key's address, at boot
        backend._js = breaking(real, name)
        try:
            failed = (await boot(glue.options(glue.wallet(key), glue.hub()(name), None))).to_py()
        finally:
            backend._js = real
        assert failed["ok"] is False, name
        assert failed["error"]["name"] == "CryptoError" and f"TypeError: {name}: expected Uint8Array" in failed["error"]["message"]

    # the wallet signs in JS: a throwing secp256k1Sign fails only the warm-up after boot
    loop, unhandled, logged = asyncio.get_running_loop(), [], []
    loop.set_exception_handler(lambda loop, context: unhandled.append(context))
    handler = logging.Handler()
    handler.emit = logged.append
    logging.getLogger("rings_web.browser.bridge").addHandler(handler)
    backend._js = breaking(real, "secp256k1Sign")
    try:
        node = await start(glue.options(glue.wallet(key), glue.hub()("w"), None))
        for _ in range(500):
            if logged or unhandled:
                break
            await asyncio.sleep(0.02)
        gc.collect()  # an unretrieved task exception is reported when the task goes
    finally:
        backend._js = real
        loop.set_exception_handler(None)
        logging.getLogger("rings_web.browser.bridge").removeHandler(handler)
    assert unhandled == []
    assert [r.getMessage() for r in logged] == [
        "the warm-up after boot failed: CryptoError('TypeError: secp256k1Sign: expected Uint8Array, got object')"]
    await node.close()
    closed = await start(glue.options(glue.wallet(key), glue.hub()("c"), None))
    await closed.close()  # before its warm-up is over: that stops too
    await asyncio.sleep(0)
    assert closed._warming.cancelled()
