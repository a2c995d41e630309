// The main job: a local rings-web network on 127.0.0.1 — a native seed (`rings-web run`), the demo
// page served over HTTP, and headless Chromium pages that join through the seed, find each other
// with lookupService and exchange greetings. Open the printed URL in a browser to join as well.
//
//   node demo/run.mjs [--pages N] [--for SECONDS] [--port PORT] [--seed-port PORT] [--loopback]
//
// --for ends the run once every page heard from every other page (exit 0), or SECONDS after every
// page is ready at most (exit 1); without it the network runs until Ctrl-C. --loopback offers only
// 127.0.0.1 candidates from the seed (a host whose only interface is lo, as in the tests).
import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_FLAGS, newBootedPage, serveFiles, testKey } from "../js/testnet.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const { values: args } = parseArgs({ options: {
  pages: { type: "string", default: "3" }, for: { type: "string" }, port: { type: "string", default: "8000" },
  "seed-port": { type: "string", default: "50000" },
  loopback: { type: "boolean", default: false } } });
const say = (who, line) => console.log(`${who.padEnd(7)} ${line}`);

// 1. the seed: a native node with its JSON-RPC endpoint on 127.0.0.1:50000
const work = path.join(ROOT, "build", "demo");
fs.mkdirSync(work, { recursive: true });
const config = path.join(work, "seed.json");
const rings = path.join(ROOT, ".venv", "bin", "rings-web");
if (!fs.existsSync(config)) execFileSync(rings, ["init", "--config", config], { stdio: "ignore" });
const settings = JSON.parse(fs.readFileSync(config));
fs.rmSync(path.resolve(work, settings.storage_file), { force: true }); // a fresh network each run: no stale members
fs.writeFileSync(config, JSON.stringify({ ...settings, bind: `127.0.0.1:${args["seed-port"]}`,
  host_addresses: args.loopback ? ["127.0.0.1"] : [] }, null, 2));
const seed = spawn(rings, ["run", "--config", config], { stdio: ["ignore", "pipe", "pipe"] });
const listening = await new Promise((resolve, reject) => {
  seed.once("exit", (code) => reject(new Error(`rings-web run exited (${code})`)));
  seed.stdout.on("data", (chunk) => {
    for (const line of chunk.toString().split("\n")) if (line.includes('"listening"')) resolve(JSON.parse(line));
  });
});
seed.stderr.on("data", () => {}); // JSON logs; the seed's view shows in the pages
say("seed", `${listening.did} — JSON-RPC at ${listening.url}`);

// 2. the demo page and what it imports
const routes = {
  "/demo/": path.join(ROOT, "demo"), "/rings-web/": ROOT, "/pyodide/": path.join(ROOT, "node_modules", "pyodide"),
  "/@noble/curves/": path.join(ROOT, "node_modules", "@noble", "curves"), "/@noble/hashes/": path.join(ROOT, "node_modules", "@noble", "hashes"),
};
const site = await serveFiles(routes, {
  "/": fs.readFileSync(path.join(ROOT, "demo", "index.html"), "utf8").replace('src="./app.mjs"', 'src="/demo/app.mjs"'),
  "/config.json": JSON.stringify({ seed: listening.url, iceServers: [] }),
}, Number(args.port));
say("demo", `open ${site.url}/ in a browser to join (MetaMask if installed, else a demo key)`);

// 3. headless pages, each a node with its own test wallet; a renderer that crashes while booting
// gets one more try (newBootedPage), a page not ready in 120 s says where it stood
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS });
const pages = Number(args.pages);
const heard = new Map();
const problems = [];
await Promise.all(Array.from({ length: pages }, async (_, i) => {
  const who = `page ${i + 1}`;
  heard.set(who, new Set());
  try {
    const { page } = await newBootedPage(browser, { permissions: ["camera", "microphone"] }, async (page) => { // 127.0.0.1 candidates
      page.on("console", (m) => {
        const text = m.text();
        if (text.startsWith("[rings-demo] ")) {
          say(who, text.slice(13));
          const from = text.match(/^\[rings-demo\] (0x\w+…\w+) → me/);
          if (from) heard.get(who).add(from[1]);
        } else if (m.type() === "error") problems.push(`${who}: ${text}`);
      });
      page.on("pageerror", (e) => problems.push(`${who}: ${e.message}`));
      await page.goto(`${site.url}/?bot=1&key=${testKey(100 + i)}`);
      await page.waitForFunction("window.demoNode || window.bootError", null, { timeout: 120_000 }).catch(async (e) => {
        const status = await page.textContent("#status", { timeout: 1000 }).catch(() => "unknown");
        throw new Error(`${String(e.message).split("\n")[0]} (status: ${status})`);
      });
    });
    page.on("crash", () => problems.push(`${who}: the renderer crashed`));
  } catch (e) {
    problems.push(`${who} did not start: ${e.message}`);
  }
}));

// 4. run until --for seconds pass (then judge) or Ctrl-C
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await browser.close();
  await site.close();
  seed.kill("SIGTERM");
  process.exit(code);
}
process.on("SIGINT", () => stop(0));
process.on("SIGTERM", () => stop(0));
if (args.for !== undefined) {
  const everyone = () => [...heard.values()].every((from) => from.size >= pages - 1);
  const deadline = Date.now() + Number(args.for) * 1000;
  while (Date.now() < deadline && !everyone()) await new Promise((r) => setTimeout(r, 500));
  const ok = everyone();
  say("demo", `${ok ? "every page heard from every other page" : "NOT every page heard from every other"}` +
    `; ${problems.length} page errors${problems.length ? ": " + problems.join(" | ") : ""}`);
  await stop(ok && !problems.length ? 0 : 1);
}
