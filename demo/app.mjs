/**
 * @module The demo page: a rings-web node that joins the local network through the native seed
 * (JSON-RPC `answerOffer`), registers as a member of the service "rings-web-demo", greets the
 * other members and shows what arrives. Wallet: MetaMask if present, else a demo key.
 * Query: `?key=<hex>` (a given test key), `?bot=1` (greet every member once, headless runs).
 */
import { createNode } from "/rings-web/js/index.mjs";
import { testWallet } from "/rings-web/js/testing.mjs";

const SERVICE = "rings-web-demo";
const query = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const short = (did) => (did ? `${did.slice(0, 8)}…${did.slice(-4)}` : "–");

function log(line) {
  const row = document.createElement("div");
  row.textContent = `${new Date().toLocaleTimeString()}  ${line}`;
  $("log").append(row);
  $("log").scrollTop = $("log").scrollHeight;
  console.log(`[rings-demo] ${line}`); // demo/run.mjs prints these lines for headless pages
}

function demoWallet() {
  if (window.ethereum && !query.get("key")) return { ethereum: window.ethereum, label: "(MetaMask)" };
  let key = query.get("key") ?? sessionStorage.getItem("rings-demo-key");
  if (!key) {
    key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("rings-demo-key", key);
  }
  return { ethereum: testWallet(key), label: "(demo key in this tab; install MetaMask to use your wallet)" };
}

const config = await (await fetch("/config.json")).json();
const { ethereum, label } = demoWallet();
const t0 = performance.now();
const node = await createNode({ ethereum, iceServers: config.iceServers, stabilizeInterval: 3000, storage: "memory",
  onProgress: (p) => { $("status").textContent = `starting: ${p.stage}`; } })
  .catch((e) => { window.bootError = `${e.name}: ${e.message}`; $("status").textContent = window.bootError; throw e; });
window.demoNode = node; // demo/run.mjs waits for it
$("address").textContent = node.address;
$("wallet").textContent = label;
log(`node ${short(node.address)} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

node.on("message", (m) => log(`${short(m.from)} → me (${m.path.length} hop${m.path.length > 1 ? "s" : ""}): ${m.text ?? `${m.data.length} bytes`}`));
node.on("peer:connect", ({ did }) => log(`link up: ${short(did)}`));
node.on("peer:disconnect", ({ did }) => log(`link down: ${short(did)}`));

$("status").textContent = "joining through the seed…";
await node.connectPeerViaHttp(config.seed);
await until(async () => (await node.listPeers()).length > 0, 30_000);
log(`joined through the seed ${config.seed}`);
$("status").textContent = "online";
await node.registerService(SERVICE);

const greeted = new Set();
async function refresh() {
  const [info, peers, members] = await Promise.all([node.getNodeInfo(), node.listPeers(), node.lookupService(SERVICE)]);
  $("successor").textContent = short(info.successors[0]);
  $("predecessor").textContent = short(info.predecessor);
  $("peer-count").textContent = peers.length;
  $("peers").textContent = peers.map((p) => short(p.did)).join(" ");
  const others = members.filter((d) => d !== node.address);
  $("members").textContent = others.map(short).join(" ") || "(nobody else yet)";
  if (query.get("bot")) {
    for (const did of others.filter((d) => !greeted.has(d))) {
      greeted.add(did);
      await node.sendSimpleTextMessage(did, `hello from ${short(node.address)}`);
      log(`me → ${short(did)}: hello`);
    }
  }
  return others;
}
setInterval(() => refresh().catch((e) => log(`refresh failed: ${e.name}: ${e.message}`)), 2000);
await refresh();

$("send").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text) return;
  for (const did of await refresh()) await node.sendSimpleTextMessage(did, text);
  log(`me → every member: ${text}`);
  $("text").value = "";
};
$("store").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("store-text").value;
  const did = await node.storageStore(text);
  $("stored").textContent = `stored under ${short(did)}; fetched back: ${(await node.storageFetch(did)).data[0]}`;
};

async function until(predicate, timeout) {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) { $("status").textContent = "could not join (is the seed running?)"; throw new Error("join timed out"); }
    await new Promise((r) => setTimeout(r, 100));
  }
}
