// A plain Pyodide page (no createNode): micropip installs the rings-web wheel from an http URL,
// registerShim (rings-web/shim) is the one JS call, and a node made in Python links to a
// createNode page and trades messages with it. Needs build/pyodide-dist (it ships micropip:
// python scripts/build_pyodide_dist.py); run inside a loopback-only network namespace.
import assert from "node:assert/strict";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { newBootedPage, serveFiles, testKey, testnet, until } from "../../js/testnet.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const DIST = path.join(REPO, "build", "pyodide-dist");
const require = createRequire(path.join(REPO, "package.json"));
const lock = fs.existsSync(path.join(DIST, "pyodide-lock.json")) && JSON.parse(fs.readFileSync(path.join(DIST, "pyodide-lock.json"), "utf8"));
const missing = !lock ? "build/pyodide-dist is not built (python scripts/build_pyodide_dist.py)"
  : !lock.packages.micropip ? "build/pyodide-dist does not ship micropip: rebuild it (python scripts/build_pyodide_dist.py)" : null;

// what a Pyodide user writes: plain Pyodide, the shim in one call, micropip for the wheel
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify({ imports: { "@noble/curves/": "/@noble/curves/", "@noble/hashes/": "/@noble/hashes/" } })}</script>
<script type="module">
import { loadPyodide } from "/pyodide/pyodide.mjs";
import { registerShim } from "/rings-web/js/shim.mjs";
try {
  const pyodide = window.pyodide = await loadPyodide({ indexURL: "/pyodide/" });
  window.cryptoImplementation = await registerShim(pyodide, { dist: new URL("/rings-web/dist/", location.href) });
  await pyodide.loadPackage("micropip", { errorCallback: (e) => { throw new Error(e); } });
  await pyodide.runPythonAsync("import micropip; await micropip.install(" + JSON.stringify(new URL(new URLSearchParams(location.search).get("wheel"), location.href).href) + ")");
  window.ready = true;
} catch (e) {
  window.bootError = { name: e.name, message: e.message };
}
</script></head><body>plain Pyodide</body></html>`;

let net;
let server;
before(async () => {
  if (missing) return;
  net = await testnet(0);
  server = await serveFiles({
    "/rings-web/": REPO, "/pyodide/": DIST,
    "/@noble/curves/": path.dirname(require.resolve("@noble/curves/secp256k1.js")),
    "/@noble/hashes/": path.dirname(require.resolve("@noble/hashes/sha3.js")),
  }, { "/plain.html": PAGE });
});
after(async () => { await net?.close(); await server?.close(); });

test("micropip.install + registerShim: a node made in Python links to a createNode page and talks", { skip: missing ?? false }, async () => {
  const wheel = lock.packages["rings-web"].file_name;
  const { page } = await newBootedPage(net.browser, { permissions: ["camera", "microphone"] }, async (p) => {
    p.on("pageerror", (e) => net.errors.push(`plain pageerror: ${e.message}`));
    await p.goto(`${server.url}/plain.html?wheel=/pyodide/${wheel}`);
    await p.waitForFunction("window.ready || window.bootError", null, { timeout: 120_000 });
  });
  assert.equal(await page.evaluate("window.bootError"), undefined);
  assert.match(await page.evaluate("window.cryptoImplementation"), /^wasm/);
  const py = (code) => page.evaluate((c) => window.pyodide.runPythonAsync(c).then((v) => v?.toJs?.() ?? v), code);
  const address = await py(`
from rings_web.browser import start_in_page
from rings_web.crypto import default_backend
from rings_web.session import LocalKeySigner
assert default_backend().name == "pyodide"  # the shim's wasm crypto, not the pure fallback
heard = []
client = await start_in_page(LocalKeySigner("${testKey(21)}"))
client.on(lambda e: heard.append({"from": e.origin.hex(), "text": e.text}) if e.name == "message" else None)
client.address.hex()`);
  const other = await net.open(testKey(22));
  const answer = await other.call("answerOffer", await py("await client.create_offer()"));
  await py(`await client.accept_answer(${JSON.stringify(answer)})`);
  await until(async () => (await other.call("getPeer", address)) && (await py(`client.get_peer("${other.address}") is not None`)), 30_000, "the link");
  await py(`client.send_simple_text_message("${other.address}", "from micropip")`);
  await other.call("sendSimpleTextMessage", address, "to micropip");
  const [got] = await until(() => other.events("message"), 30_000, "the Python node's message");
  assert.equal(got.detail.from, address);
  assert.equal(got.detail.text, "from micropip");
  const heard = JSON.parse(await until(() => py("import json; heard and json.dumps(heard)"), 30_000, "the page's message"));
  assert.equal(heard[0].from, other.address);
  assert.equal(heard[0].text, "to micropip");
  assert.deepEqual(net.errors, []);
});
