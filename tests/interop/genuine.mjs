// Drives genuine @ringsnetwork/rings-node@0.2.5 clients in headless Chromium for pytest.
// Protocol: one JSON request per stdin line {id, op, args}; one JSON reply per stdout line
// {id, ok, result | error}. Logs go to stderr. Loopback only: serves on 127.0.0.1, answers
// STUN on 127.0.0.1:3478. Exits when stdin closes or after HARD_LIMIT_MS.
import http from "node:http";
import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { serveTestnet } from "../../js/testnet.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, "../..");
const ORACLE = process.env.RINGS_ORACLE_DIR || path.join(HERE, "oracle");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const HARD_LIMIT_MS = Number(process.env.GENUINE_HARD_LIMIT_MS || 600_000);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (...a) => console.error("[genuine]", ...a);

// The oracle page, with its bare module specifiers mapped to this repo's node_modules.
const NM = "/node_modules";
const INDEX = `<!doctype html><html><head><meta charset="utf-8">
<script src="/oracle/wiretap.js"></script>
<script type="importmap">${JSON.stringify({ imports: {
  "@noble/curves/secp256k1": `${NM}/oracle-noble-curves/esm/secp256k1.js`,
  "@noble/hashes/sha3": `${NM}/oracle-noble-hashes/esm/sha3.js`,
  "@noble/hashes/sha256": `${NM}/oracle-noble-hashes/esm/sha256.js`,
  "@noble/hashes/sha512": `${NM}/oracle-noble-hashes/esm/sha512.js`,
  "@noble/hashes/hmac": `${NM}/oracle-noble-hashes/esm/hmac.js`,
  "@noble/hashes/utils": `${NM}/oracle-noble-hashes/esm/utils.js`,
  "@noble/hashes/crypto": `${NM}/oracle-noble-hashes/esm/crypto.js`,
  "@noble/hashes/blake2s": `${NM}/oracle-noble-hashes/esm/blake2s.js`,
  "rings-node": `${NM}/@ringsnetwork/rings-node/rings_node.js`,
} })}</script>
<script type="module" src="/oracle/oracle.js"></script>
<script type="module" src="/ext/oracle_ext.mjs"></script></head><body>genuine 0.2.5</body></html>`;
const MIME = { ".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json" };

function serve() {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (url === "/" || url === "/index.html") { res.writeHead(200, { "content-type": "text/html" }).end(INDEX); return; }
    let file = null;
    if (url.startsWith("/oracle/")) file = path.join(ORACLE, url.slice(8));
    else if (url === "/ext/oracle_ext.mjs") file = path.join(HERE, "oracle_ext.mjs");
    else if (url.startsWith(NM + "/")) file = path.join(REPO, url);
    const roots = [ORACLE, HERE, path.join(REPO, "node_modules")];
    if (!file || !roots.some((r) => file.startsWith(r)) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end(); return;
    }
    res.writeHead(200, { "content-type": MIME[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** Minimal STUN Binding responder (RFC 5389): the genuine create_offer waits for gathering. */
async function stun() {
  const sock = dgram.createSocket("udp4");
  sock.on("message", (m, r) => {
    if (m.length < 20 || m.readUInt16BE(0) !== 0x0001 || m.readUInt32BE(4) !== 0x2112a442) return;
    const attr = Buffer.alloc(12);
    attr.writeUInt16BE(0x0020, 0); attr.writeUInt16BE(8, 2); attr.writeUInt16BE(0x0001, 4);
    attr.writeUInt16BE(r.port ^ 0x2112, 6);
    attr.writeUInt32BE((r.address.split(".").reduce((a, x) => a * 256 + Number(x), 0) ^ 0x2112a442) >>> 0, 8);
    const hdr = Buffer.alloc(20); hdr.writeUInt16BE(0x0101, 0); hdr.writeUInt16BE(attr.length, 2);
    hdr.writeUInt32BE(0x2112a442, 4); m.copy(hdr, 8, 8, 20);
    sock.send(Buffer.concat([hdr, attr]), r.port, r.address);
  });
  try { await new Promise((ok, err) => { sock.once("error", err); sock.bind(3478, "127.0.0.1", ok); }); return sock; }
  catch (e) { sock.close(); log("STUN port busy:", e.message); return null; }
}

const server = await serve();
const stunSock = await stun();
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: CHROMIUM, headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--allow-loopback-in-peer-connection",
    "--disable-features=WebRtcHideLocalIpsWithMdns"],
});
const pages = new Map();
const errors = [];
const consoleLog = new Map(); // page -> [{type, text}] of its console errors and warnings

async function open(name) {
  const ctx = await browser.newContext({ permissions: ["camera", "microphone"] });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { errors.push({ page: name, error: String(e) }); log(name, "pageerror", String(e).slice(0, 300)); });
  consoleLog.set(name, []);
  page.on("console", (m) => {
    if (m.type() !== "error" && m.type() !== "warning") return;
    consoleLog.get(name).push({ type: m.type(), text: m.text().slice(0, 2000) });
    if (m.type() === "error") log(name, m.text().slice(0, 300));
  });
  await page.goto(base);
  await page.waitForFunction(() => window.oracle, null, { timeout: 30_000 });
  await page.evaluate(() => window.oracle.ready);
  await page.waitForFunction(() => window.oracleExt, null, { timeout: 30_000 });
  pages.set(name, page);
  return name;
}

/** A rings-web node page in the same browser: the product's test page (js/testnet.mjs; needs dist/). */
let ringsWebSite = null;
async function openRingsWeb(name, key, stabilizeMs = 3000, query = {}) {
  ringsWebSite ??= await serveTestnet();
  const ctx = await browser.newContext({ permissions: ["camera", "microphone"] });
  const page = await ctx.newPage();
  page.on("pageerror", (e) => { errors.push({ page: name, error: String(e) }); log(name, "pageerror", String(e).slice(0, 300)); });
  await page.goto(ringsWebSite.pageURL({ key, stabilize: stabilizeMs, ...query }));
  await page.waitForFunction(() => window.ready || window.bootError, null, { timeout: 120_000 });
  const bootError = await page.evaluate(() => window.bootError);
  if (bootError) throw new Error(`rings-web page ${name}: ${bootError.name}: ${bootError.message}`);
  pages.set(name, page);
  return name;
}

const call = (name, fn, ...args) => {
  const page = pages.get(name);
  if (!page) throw new Error(`no page ${name}`);
  return page.evaluate(([f, a]) => window.oracle[f](...a), [fn, args]);
};

/** Start clients on pages a, b and connect them by manual handshake (retrying quirk 10.2:
 * a genuine answerer loses its registration race more often on a loaded machine). */
const PAIR_ATTEMPTS = 5;
async function pair(a, keyA, b, keyB, stuns = "stun://127.0.0.1:3478") {
  for (const [n, k] of [[a, keyA], [b, keyB]]) { if (!pages.has(n)) await open(n); await call(n, "start", k, stuns, `oracle-${n}`); }
  for (let attempt = 1; attempt <= PAIR_ATTEMPTS; attempt++) {
    const offer = await call(a, "createOffer");
    const answer = await call(b, "answerOffer", offer);
    await call(a, "acceptAnswer", answer);
    for (let i = 0; i < 40; i++) {
      const pa = await call(a, "listPeers"), pb = await call(b, "listPeers");
      if (pa.some((p) => p.state === "connected") && pb.some((p) => p.state === "connected")) return { attempt };
      await sleep(200);
    }
    log("handshake race lost, attempt", attempt);
  }
  throw new Error(`genuine peers did not register after ${PAIR_ATTEMPTS} handshakes`);
}

const ops = {
  open: (name) => open(name),
  call: (name, fn, ...args) => call(name, fn, ...args),
  pair,
  events: (name) => pages.get(name).evaluate(() => window.oracle.events),
  openRingsWeb,
  /** Evaluate a JS function (source text) in a page with one argument (for the bench). */
  evaluate: (name, source, arg) => pages.get(name).evaluate(([src, a]) => (0, eval)(`(${src})`)(a), [source, arg]),
  errors: () => errors,
  console: (name) => consoleLog.get(name) || [],
  /** Close a page (its client and links go with it). */
  close: async (name) => { const page = pages.get(name); pages.delete(name); if (page) await page.context().close(); },
};

async function shutdown(code = 0) {
  try { await browser.close(); } catch {}
  server.close(); if (stunSock) stunSock.close();
  await ringsWebSite?.close();
  process.exit(code);
}
setTimeout(() => { log("hard time limit reached"); shutdown(3); }, HARD_LIMIT_MS).unref();

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", async (line) => {
  let req;
  try { req = JSON.parse(line); } catch { return; }
  let reply;
  try {
    if (!ops[req.op]) throw new Error(`unknown op ${req.op}`);
    reply = { id: req.id, ok: true, result: (await ops[req.op](...(req.args || []))) ?? null };
  } catch (e) {
    reply = { id: req.id, ok: false, error: String(e && e.message || e).slice(0, 2000) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
});
rl.on("close", () => shutdown(0));
process.stdout.write(JSON.stringify({ id: 0, ok: true, result: "ready" }) + "\n");
