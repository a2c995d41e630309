/**
 * @module A headless test network of rings-web pages (Playwright + Chromium, loopback only).
 * Each page runs one node with its own test wallet (an EIP-1193 provider, js/testing.mjs),
 * served from a static server on 127.0.0.1. Needs `playwright-core` and a Chromium binary.
 *
 * Run inside a network namespace that has only `lo` for tests that must stay on loopback:
 * pages use `iceServers: []` (or the JSON list in `?ice=`, for the NAT lab) and gather
 * 127.0.0.1 candidates only under the flags below.
 *
 * CLI: `node testnet.mjs serve` prints `{"url": …}` and serves the test page until stdin closes
 * (the Python tests' fixture uses it).
 */
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { keccak_256 } from "@noble/hashes/sha3.js";

const PACKAGE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(path.join(PACKAGE, "package.json"));
const ROUTES = {
  "/rings-web/": PACKAGE,
  "/pyodide/": path.dirname(require.resolve("pyodide/pyodide.mjs")),
  "/@noble/curves/": path.dirname(require.resolve("@noble/curves/secp256k1.js")),
  "/@noble/hashes/": path.dirname(require.resolve("@noble/hashes/sha3.js")),
};
const MIME = { ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
  ".html": "text/html", ".whl": "application/zip", ".zip": "application/zip" };

/** Chromium flags: headless as root, quiet on a closed network, raw 127.0.0.1 candidates (RECIPES.md). */
export const CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run", "--allow-loopback-in-peer-connection",
  "--disable-features=WebRtcHideLocalIpsWithMdns"];

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

/** Deterministic test keys: keccak("rings-web testnet <i>"). Public knowledge, tests only. */
export const testKey = (i) => hex(keccak_256(new TextEncoder().encode(`rings-web testnet ${i}`)));

/** The page: one node, `window.rings.call(method, ...args)` for the test (bytes as `{$bytes: hex}`). */
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>rings-web test node</title>
<link rel="icon" href="data:,">
<script type="importmap">${JSON.stringify({ imports: {
  pyodide: "/pyodide/pyodide.mjs", "@noble/curves/": "/@noble/curves/", "@noble/hashes/": "/@noble/hashes/" } })}</script>
<script type="module">
import { createNode } from "/rings-web/js/index.mjs";
import { testWallet } from "/rings-web/js/testing.mjs";
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const unhex = (t) => Uint8Array.from(t.match(/../g) ?? [], (h) => parseInt(h, 16));
const enc = (v) => v instanceof Uint8Array ? { $bytes: hex(v) } : Array.isArray(v) ? v.map(enc)
  : v && typeof v === "object" ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)])) : v;
const dec = (v) => v && typeof v === "object" && typeof v.$bytes === "string" ? unhex(v.$bytes) : Array.isArray(v) ? v.map(dec) : v;
const q = new URLSearchParams(location.search);
const ethereum = window.ethereum = testWallet(q.get("key"));
if (q.get("reject")) ethereum.rejectNext(q.get("reject"));
const events = [];
if (q.get("tap")) { // keep every data-channel frame this page sends (a relay that must see no plaintext)
  window.sent = [];
  const send = RTCDataChannel.prototype.send;
  RTCDataChannel.prototype.send = function (data) { window.sent.push(hex(new Uint8Array(data.buffer ?? data))); return send.call(this, data); };
}
// "refuse": a validator that drops plaintext custom messages holding that text
const refuse = q.get("refuse") && new TextEncoder().encode(q.get("refuse")).join(",");
const validate = refuse ? (p) => !(p.data.CustomMessage?.Plain ?? []).join(",").includes(refuse) : undefined;
window.rings = {
  events: (name) => events.filter((e) => !name || e.name === name),
  async call(method, ...args) {
    try { return { ok: true, value: enc(await window.node[method](...args.map(dec))) }; }
    catch (e) { return { ok: false, error: { name: e.name, message: e.message } }; }
  },
};
try {
  const t0 = performance.now();
  window.node = await createNode({ ethereum, iceServers: JSON.parse(q.get("ice") ?? "[]"), iceTransportPolicy: q.get("policy") ?? "all", stabilizeInterval: Number(q.get("stabilize") ?? 3000),
    storage: q.get("storage") ?? "memory", storageName: q.get("storageName") ?? "rings-web", persistSession: q.get("persist") !== "0",
    requireEncryption: q.get("requireEncryption") === "1", validate,
    onProgress: (p) => { if (p.stage === "python") window.bootWarm = p.warm; } });
  window.bootMs = performance.now() - t0;
  if (q.get("events") !== "0") { // benchmarks turn the recording off
    for (const name of node.events) {
      node.on(name, (detail) => events.push({ name, detail: enc(detail) }));
    }
  }
  window.ready = true;
} catch (e) {
  window.bootError = { name: e.name, message: e.message };
}
</script></head><body>rings-web</body></html>`;

/**
 * A static file server on 127.0.0.1: `routes` maps URL prefixes to directories, `pages` paths to
 * contents (HTML, or JSON for paths ending in .json).
 * @returns {Promise<{url: string, close: () => Promise<void>}>}
 */
export async function serveFiles(routes, pages = {}, port = 0) {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (pages[url] !== undefined) {
      res.writeHead(200, { "content-type": MIME[path.extname(url)] ?? "text/html" }).end(pages[url]);
      return;
    }
    const prefix = Object.keys(routes).find((p) => url.startsWith(p));
    const file = prefix && path.join(routes[prefix], url.slice(prefix.length));
    if (!file || !file.startsWith(routes[prefix] + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": MIME[path.extname(file)] ?? "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((ok, fail) => { server.once("error", fail); server.listen(port, "127.0.0.1", ok); });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

/**
 * Serve the rings-web package, Pyodide, @noble and the test page (`/node.html?key=…`).
 * @returns {Promise<{url: string, pageURL: (query: object) => string, close: () => Promise<void>}>}
 */
export async function serveTestnet() {
  const served = await serveFiles(ROUTES, { "/node.html": PAGE });
  return { ...served, pageURL: (query) => `${served.url}/node.html?${new URLSearchParams(query)}` };
}

/** Raised in Node when a page's call failed: `name` is the rings-web error type. */
export class PageError extends Error {
  constructor(error) {
    super(error.message);
    this.name = error.name;
  }
}

/**
 * A page in a new browser context, with `boot(page)` run on it. A renderer that crashes
 * meanwhile ("Target crashed": Debian's Chromium did, twice in about ten full runs of the
 * suites, while Pyodide started) gets one fresh context more, with a warning; a second
 * crash, or any other error, is thrown.
 */
export async function newBootedPage(browser, contextOptions, boot) {
  for (let attempt = 1; ; attempt++) {
    const context = await browser.newContext(contextOptions);
    const page = await context.newPage();
    try {
      await boot(page);
      return { context, page };
    } catch (e) {
      await context.close().catch(() => {});
      if (attempt > 1 || !/Target crashed/.test(String(e?.message))) throw e;
      console.warn(`rings-web: a page's renderer crashed while booting (${String(e.message).split("\n")[0]}); one more try`);
    }
  }
}

/**
 * Start `n` pages, each a rings-web node with its own test wallet.
 * @param {number} n
 * `net.open(key, query)` opens one more; its query: `tap=1` (keep the page's sent frames in
 * `window.sent`), `requireEncryption=1`, `refuse=<text>` (a validator that drops plaintext
 * custom messages holding it).
 * @param {object} [options] - `keys` (hex private keys), `stabilizeInterval` (ms, default 3000),
 *   `executablePath` (default `$CHROMIUM` or /usr/bin/chromium), `bootTimeout` (ms, default 120 000).
 * @example
 * const net = await testnet(3);
 * await net.link(net.nodes[0], net.nodes[1]);
 * await net.nodes[0].call("sendSimpleTextMessage", net.nodes[1].address, "hi");
 * await net.close();
 */
export async function testnet(n, options = {}) {
  const { chromium } = await import("playwright-core");
  const keys = options.keys ?? Array.from({ length: n }, (_, i) => testKey(i));
  const server = await serveTestnet();
  const browser = await chromium.launch({ executablePath: options.executablePath ?? process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true, args: CHROMIUM_FLAGS });
  const errors = [];
  const net = {
    server, browser, errors, nodes: [],
    /** Open one more page; resolves when its node is ready. */
    async open(key, query = {}) {
      // a context per page: separate storage, and camera/mic granted so Chromium gathers 127.0.0.1
      const { context, page } = await newBootedPage(browser, { permissions: ["camera", "microphone"] }, async (page) => {
        page.on("pageerror", (e) => errors.push(`${key.slice(0, 8)} pageerror: ${e.message}`));
        page.on("console", (m) => { if (m.type() === "error") errors.push(`${key.slice(0, 8)} console: ${m.text()}`); });
        await page.goto(server.pageURL({ key, stabilize: options.stabilizeInterval ?? 3000, ...query }));
        await page.waitForFunction("window.ready || window.bootError", null, { timeout: options.bootTimeout ?? 120_000 });
      });
      const bootError = await page.evaluate("window.bootError");
      if (bootError) { await context.close(); throw new PageError(bootError); }
      const node = {
        page, key, context,
        address: await page.evaluate("window.node.address"),
        bootMs: await page.evaluate("window.bootMs"),
        /** `node[method](...args)` in the page; bytes travel as `{$bytes: hex}`. */
        async call(method, ...args) {
          const r = await page.evaluate(([m, a]) => window.rings.call(m, ...a), [method, args]);
          if (!r.ok) throw new PageError(r.error);
          return r.value;
        },
        events: (name) => page.evaluate((x) => window.rings.events(x), name),
        close: () => context.close(),
      };
      net.nodes.push(node);
      return node;
    },
    /** Manual handshake: `a` offers, `b` answers, `a` accepts; resolves when both list the link. */
    async link(a, b, timeout = 30_000) {
      const offer = await a.call("createOffer");
      const answer = await b.call("answerOffer", offer);
      await a.call("acceptAnswer", answer);
      await until(async () => (await a.call("getPeer", b.address)) && (await b.call("getPeer", a.address)), timeout);
    },
    async close() {
      await browser.close();
      await server.close();
    },
  };
  await Promise.all(keys.map((k) => net.open(k)));
  net.nodes.sort((x, y) => keys.indexOf(x.key) - keys.indexOf(y.key));
  return net;
}

/** Poll `predicate` (async) every 100 ms until truthy; throws after `timeout` ms. */
export async function until(predicate, timeout = 30_000, what = "condition") {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await predicate();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === "serve") {
  const served = await serveTestnet();
  console.log(JSON.stringify({ url: served.url }));
  process.stdin.resume();
  process.stdin.on("end", () => served.close().then(() => process.exit(0)));
}
