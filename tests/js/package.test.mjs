// The npm package as users get it: `npm pack`, installed into a scratch project (offline, from
// the npm cache, its dependencies at the versions of package-lock.json), then used from Node, from TypeScript, and in Chromium through an import map
// and through the <script> build. dist/ must be built first (`npm run build`; scripts/setup.sh does).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, newBootedPage, serveFiles, testKey, until } from "../../js/testnet.mjs";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const VECTORS = JSON.parse(fs.readFileSync(path.join(REPO, "tests/vectors/vectors.json")));
const npm = (args, cwd) => execFileSync("npm", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
let scratch;

before(() => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "rings-web-scratch-"));
  const packed = JSON.parse(npm(["pack", "--ignore-scripts", "--json", "--pack-destination", scratch], REPO))[0];
  const files = packed.files.map((f) => f.path);
  for (const f of ["js/index.mjs", "js/index.d.ts", "js/testing.mjs", "dist/rings-web.js", "dist/pyodide-lock.json", "dist/python_stdlib.zip"]) {
    assert.ok(files.includes(f), `the package ships ${f}`);
  }
  assert.ok(files.some((f) => /^dist\/rings_web-.*-py3-none-any\.whl$/.test(f)), "the package ships the wheel");
  assert.ok(!files.some((f) => f.startsWith("src/") || f.startsWith("tests/")), "no sources or tests in the package");
  // Offline, npm resolves each range against the registry metadata in its cache, which may list
  // releases newer than the tarballs scripts/setup.sh cached (ws@^8.5.0 → 8.23.1 beside the
  // lock's 8.23.0: ENOTCACHED). Overrides pin every runtime dependency to this repo's lock, so the
  // install needs exactly what setup cached, whatever the registry has released since.
  const lock = JSON.parse(fs.readFileSync(path.join(REPO, "package-lock.json"))).packages;
  const overrides = Object.fromEntries(Object.entries(lock).filter(([k, v]) => k && !v.dev)
    .map(([k, v]) => [k.split("node_modules/").pop(), v.version]));
  fs.writeFileSync(path.join(scratch, "package.json"), JSON.stringify({ name: "scratch", private: true, type: "module", overrides }));
  npm(["install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", path.join(scratch, packed.filename),
    `typescript@${lock["node_modules/typescript"].version}`], scratch);
  const installed = (name) => JSON.parse(fs.readFileSync(path.join(scratch, "node_modules", name, "package.json"))).version;
  for (const [name, version] of Object.entries(overrides)) assert.equal(installed(name), version, `${name} as locked`);
});
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

test("in Node: a session from an EIP-1193 wallet, storage, the codec, typed errors", () => {
  const frame = VECTORS.data_channel_frames.find((f) => f.frames_hex.length === 1);
  fs.writeFileSync(path.join(scratch, "node.mjs"), `
    import { createNode, RingsError } from "rings-web";
    import { testWallet } from "rings-web/testing";
    const stages = [];
    const ethereum = testWallet("${testKey(1)}");
    const node = await createNode({ ethereum, onProgress: (p) => stages.push(p.stage) });
    const did = await node.storageStore("from node");
    const out = { stages, address: node.address, wallet: ethereum.address, fetched: await node.storageFetch(did),
      missing: await node.storageFetch("0x" + "00".repeat(20)), decoded: await node.decode("${frame.frames_hex[0]}") };
    for (const [name, fn] of [["offer", () => node.createOffer()], ["badDid", () => node.sendSimpleTextMessage("nope", "x")],
                              ["badBytes", () => node.sendMessage(node.address, "not bytes")]]) {
      try { await fn(); out[name] = "no error"; } catch (e) { out[name] = [e instanceof RingsError, e.name, e.message]; }
    }
    await node.close();
    console.log(JSON.stringify(out));`);
  const out = JSON.parse(execFileSync("node", ["node.mjs"], { cwd: scratch, encoding: "utf8", timeout: 120_000 }).trim().split("\n").pop());
  assert.deepEqual(out.stages, ["runtime", "python", "wallet", "storage", "ready"]);
  assert.equal(out.address, out.wallet);
  assert.deepEqual(out.fetched.data, ["from node"]);
  assert.equal(out.missing, undefined);
  assert.equal(out.decoded.kind, "frame");
  assert.deepEqual(JSON.parse(out.decoded.json).data, frame.decoded.data);
  assert.deepEqual(out.offer.slice(0, 2), [true, "LocalError"]);
  assert.match(out.offer[2], /RTCPeerConnection is not available/);
  assert.deepEqual(out.badDid.slice(0, 2), [true, "InvalidArgument"]);
  assert.deepEqual(out.badBytes.slice(0, 2), [true, "InvalidArgument"]);
});

test("TypeScript: the .d.ts types a real use of the API", () => {
  fs.writeFileSync(path.join(scratch, "use.ts"), `
    import { createNode, RingsError, type Message } from "rings-web";
    import { testWallet } from "rings-web/testing";
    import { registerShim } from "rings-web/shim";
    // (pyodide's own .d.ts needs @types/node: a stand-in with the one method the shim calls)
    const implementation: string = await registerShim({ registerJsModule(name: string, module: object) {} }, { dist: "https://example.org/dist/" });
    const node = await createNode({ ethereum: testWallet("${testKey(2)}"), stabilizeInterval: 3000, persistSession: false });
    node.on("message", (m: Message) => console.log(m.from, m.text, m.data.byteLength, m.path.length));
    const peers: { did: string }[] = await node.listPeers();
    const tx: string = await node.sendCustomMessage(peers[0].did, 7, new Uint8Array([1]));
    const found = await node.storageFetch(await node.storageStore("x"));
    if (found) console.log(found.data[0].toUpperCase(), tx, implementation);
    await node.logout();
    try { await node.connectPeerViaHttp("http://127.0.0.1:50000/"); } catch (e) { if (e instanceof RingsError) console.log(e.type); }
    // @ts-expect-error: sendMessage takes bytes, not text
    await node.sendMessage(peers[0].did, "text");
    export {};`);
  fs.writeFileSync(path.join(scratch, "tsconfig.json"), JSON.stringify({ compilerOptions: {
    target: "es2022", module: "nodenext", moduleResolution: "nodenext", strict: true, noEmit: true, lib: ["es2022", "dom"] },
    files: ["use.ts"] }));
  execFileSync(path.join(scratch, "node_modules/.bin/tsc"), ["-p", "."], { cwd: scratch, encoding: "utf8" });
});

test("in Chromium: through an import map and through the <script> build, two pages link and talk", async () => {
  const nm = path.join(scratch, "node_modules");
  const importMap = JSON.stringify({ imports: {
    "rings-web": "/node_modules/rings-web/js/index.mjs", "rings-web/testing": "/node_modules/rings-web/js/testing.mjs",
    pyodide: "/node_modules/pyodide/pyodide.mjs", "@noble/curves/": "/node_modules/@noble/curves/", "@noble/hashes/": "/node_modules/@noble/hashes/" } });
  const pages = {
    "/esm.html": `<!doctype html><link rel="icon" href="data:,"><script type="importmap">${importMap}</script>
      <script type="module">
        import { createNode } from "rings-web";
        import { testWallet } from "rings-web/testing";
        window.node = await createNode({ ethereum: testWallet("${testKey(3)}"), iceServers: [] });
        window.inbox = []; node.on("message", (m) => inbox.push(m.text));
      </script>`,
    "/script.html": `<!doctype html><link rel="icon" href="data:,"><script src="/node_modules/rings-web/dist/rings-web.js"></script>
      <script type="module">
        window.node = await RingsWeb.createNode({ ethereum: RingsWeb.testWallet("${testKey(4)}"), iceServers: [],
                                                   indexURL: "/node_modules/pyodide/" });
        window.inbox = []; node.on("message", (m) => inbox.push(m.text));
      </script>`,
  };
  const served = await serveFiles({ "/node_modules/": nm }, pages);
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS });
  try {
    const errors = [];
    const open = async (name) => (await newBootedPage(browser, { permissions: ["camera", "microphone"] }, async (page) => {
      page.on("pageerror", (e) => errors.push(`${name}: ${e.message}`));
      page.on("console", (m) => { if (m.type() === "error") errors.push(`${name}: ${m.text()}`); });
      await page.goto(served.url + name);
      await page.waitForFunction("window.node", null, { timeout: 120_000 });
    })).page;
    const [esm, script] = await Promise.all([open("/esm.html"), open("/script.html")]);
    const offer = await esm.evaluate(() => node.createOffer());
    const answer = await script.evaluate((o) => node.answerOffer(o), offer);
    const peer = await esm.evaluate((a) => node.acceptAnswer(a), answer);
    const [a, b] = await Promise.all([esm.evaluate(() => node.address), script.evaluate(() => node.address)]);
    assert.equal(peer.did, b);
    await until(async () => (await esm.evaluate((d) => node.getPeer(d), b)) && (await script.evaluate((d) => node.getPeer(d), a)), 30_000, "the link");
    await esm.evaluate((d) => node.sendSimpleTextMessage(d, "esm → script"), b);
    await script.evaluate((d) => node.sendSimpleTextMessage(d, "script → esm"), a);
    await until(async () => (await script.evaluate(() => inbox)).length && (await esm.evaluate(() => inbox)).length, 20_000, "both messages");
    assert.deepEqual(await script.evaluate(() => inbox), ["esm → script"]);
    assert.deepEqual(await esm.evaluate(() => inbox), ["script → esm"]);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await served.close();
  }
});
