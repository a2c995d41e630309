/**
 * @module The demo page: "Connect wallet" starts a rings-web node that joins the local network
 * through the native seed (JSON-RPC `answerOffer`), registers as a member of the service
 * "rings-web-demo" and shows the ring live (ring.mjs), a per-peer chat (encrypted by default)
 * and the DHT storage. Wallet: the installed one (window.ethereum), else a demo key.
 * Query: `?key=<hex>` (a test wallet with that key stands in for the installed one),
 * `?bot=1` (connect at once, greet every member once and answer people: headless runs).
 */
import { createNode } from "/rings-web/js/index.mjs";
import { testWallet } from "/rings-web/js/testing.mjs";
import { RingPicture } from "./ring.mjs";

const SERVICE = "rings-web-demo";
const STAGES = ["runtime", "python", "wallet", "storage", "ready", "joining", "online"];
const query = new URLSearchParams(location.search);
const bot = Boolean(query.get("bot"));
const $ = (id) => document.getElementById(id);
const short = (did) => (did ? `${did.slice(0, 8)}…${did.slice(-4)}` : "–");
let node, ring, picked;
const chats = new Map(); // did → [{out, text, encrypted, note}]

function log(line) {
  const row = document.createElement("div");
  row.textContent = `${new Date().toLocaleTimeString()}  ${line}`;
  $("log").append(row);
  $("log").scrollTop = $("log").scrollHeight;
  console.log(`[rings-demo] ${line}`); // demo/run.mjs prints these lines for headless pages
}
const stage = (name, words = name) => { $("progress").value = STAGES.indexOf(name) + 1; $("status").textContent = words; };
const note = (words) => { $("wallet-note").textContent = words; };

// 1. the wallet: the installed one (or ?key=), else the button says so and offers a demo key
const installed = query.get("key") ? { ethereum: testWallet(query.get("key")), label: "(test wallet)" }
  : window.ethereum ? { ethereum: window.ethereum, label: window.ethereum.isMetaMask ? "(MetaMask)" : "(your wallet)" } : null;
window.demoWallet = installed?.ethereum; // tests: a test wallet's rejectNext(), lock(), switchChain()
if (!installed) note("No wallet is installed in this browser: use a demo key (kept in this tab only).");
else listen(installed);

function demoWallet() {
  let key = sessionStorage.getItem("rings-demo-key");
  if (!key) {
    key = Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("rings-demo-key", key);
  }
  return { ethereum: testWallet(key), label: "(demo key in this tab)" };
}

function walletWords(e) {
  if (e.code === 4001 || e.name === "SignatureRejected") return "You refused the request in your wallet. Click Connect wallet to try again.";
  if (e.code === -32002) return "Your wallet already shows a request: answer it there.";
  if (e.code === 4100 || e.locked || e.name === "WalletLocked") return "Your wallet is locked: unlock it, then click Connect wallet.";
  return `Could not connect: ${e.name ?? "Error"}: ${e.message}`;
}

// the wallet's own events, said in words whether or not the node runs yet
function listen(wallet) {
  wallet.ethereum.on?.("accountsChanged", (accounts) => {
    const [account] = accounts ?? [];
    if (!node) note(account ? `Your wallet shows ${short(account)}: click Connect wallet.` : "Your wallet locked.");
    else if (!account) note("The wallet locked or disconnected this site; this node keeps its session until you reload.");
    else if (account.toLowerCase() === node.address) note(`The wallet is back on ${short(account)}, this node's account.`);
    else note(`The wallet switched to ${short(account)}; this node keeps its session for ${short(node.address)} (reload to use the new account).`);
  });
  wallet.ethereum.on?.("chainChanged", (id) => note(`The wallet switched to chain ${Number(id)}; a rings-web session does not depend on the chain.`));
}

async function connect(wallet) {
  $("connect").disabled = $("demo-key").disabled = true;
  note("Asking your wallet for an account…");
  try {
    const accounts = await wallet.ethereum.request({ method: "eth_requestAccounts" });
    if (!accounts?.length) throw Object.assign(new Error("no account"), { locked: true });
    note(`Account ${short(accounts[0])} ${wallet.label}: sign the session key in your wallet.`);
    await start(wallet);
  } catch (e) {
    note(walletWords(e));
    $("connect").disabled = $("demo-key").disabled = false;
    if (bot) throw e;
  }
}
$("connect").onclick = () => (installed ? connect(installed) : ($("demo-key").hidden = false, note(
  "No wallet is installed in this browser (no window.ethereum). Use a demo key instead, or install MetaMask.")));
$("demo-key").hidden = Boolean(installed);
$("demo-key").onclick = () => { const wallet = demoWallet(); listen(wallet); connect(wallet); };

// 2. the node: boot, join through the seed, register in the service
async function start(wallet) {
  const config = await (await fetch("/config.json")).json();
  const t0 = performance.now();
  node = await createNode({ ethereum: wallet.ethereum, iceServers: config.iceServers, stabilizeInterval: 3000, storage: "memory",
    onProgress: (p) => stage(p.stage, `starting: ${p.stage}`) })
    .catch((e) => { window.bootError = `${e.name}: ${e.message}`; stage("runtime", window.bootError); throw e; });
  window.demoNode = node; // demo/run.mjs waits for it
  delete window.bootError; // a refused signature before, a second click now
  $("address").textContent = node.address;
  $("wallet").textContent = wallet.label;
  note("");
  $("connect").textContent = "Connected";
  $("demo-key").hidden = true;
  ring = new RingPicture($("ring"), node.address);
  log(`node ${short(node.address)} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  node.on("message", received);
  node.on("peer:connect", ({ did }) => { log(`link up: ${short(did)}`); refresh(); });
  node.on("peer:disconnect", ({ did }) => { log(`link down: ${short(did)}`); ring.closed(did); refresh(); });

  stage("joining", "joining through the seed…");
  await node.connectPeerViaHttp(config.seed).catch((e) => { stage("joining", "could not join the seed"); throw e; });
  await until(async () => (await node.listPeers()).length > 0, 30_000);
  log(`joined through the seed ${config.seed}`);
  stage("online", "online");
  await node.registerService(SERVICE);
  setInterval(refresh, 2000);
  await refresh();
}

// 3. the ring picture and the members list, redrawn every 2 s and on every link change
const known = new Set();
let members = [];
const greeted = new Set();
let refreshing = null; // one refresh at a time: link events come in bursts while the ring forms
const refresh = () => (refreshing ??= redraw().finally(() => { refreshing = null; }));
async function redraw() {
  try {
    const [info, peers, found] = await Promise.all([node.getNodeInfo(), node.listPeers(), node.lookupService(SERVICE)]);
    const links = peers.map((p) => p.did);
    members = found.filter((d) => d !== node.address);
    for (const did of [node.address, ...links, ...info.successors, ...info.fingers, ...members]) known.add(did);
    if (info.predecessor) known.add(info.predecessor);
    ring.draw({ nodes: known, links, successor: info.successors[0], predecessor: info.predecessor, fingers: info.fingers });
    $("successor").textContent = short(info.successors[0]);
    $("predecessor").textContent = short(info.predecessor);
    $("peer-count").textContent = links.length;
    $("peers").textContent = links.map(short).join(" ");
    showMembers();
    if (bot) for (const did of members.filter((d) => !greeted.has(d))) { greeted.add(did); await send(did, `hello from ${short(node.address)}`); }
  } catch (e) {
    log(`refresh failed: ${e.name}: ${e.message}`);
  }
}

// 4. per-peer chat: pick a member, type, send (encrypted unless the box is unticked)
function showMembers() {
  $("members").replaceChildren(...members.map((did) => {
    const b = document.createElement("button");
    b.dataset.did = did;
    b.textContent = short(did) + (chats.get(did)?.unread ? ` (${chats.get(did).unread})` : "");
    b.className = did === picked ? "picked" : "";
    b.onclick = () => { picked = did; showMembers(); showThread(); $("text").focus(); };
    return b;
  }));
  if (!members.length) $("members").textContent = "(nobody else yet)";
  $("text").placeholder = picked ? `message to ${short(picked)}` : "pick a member, then type";
}

function chat(did) {
  if (!chats.has(did)) chats.set(did, Object.assign([], { unread: 0 }));
  return chats.get(did);
}

function showThread() {
  const thread = chat(picked);
  thread.unread = 0;
  $("thread").replaceChildren(...thread.map((m) => {
    const row = document.createElement("div");
    row.className = `msg ${m.out ? "out" : "in"}`;
    const lock = padlock(m.encrypted);
    const small = document.createElement("small");
    small.textContent = m.note;
    row.append(lock, m.text, small);
    return row;
  }));
  $("thread").scrollTop = $("thread").scrollHeight;
}

// an inline padlock (headless Chromium on Debian has no emoji font)
const SHACKLE = { true: "M5 7V5a3 3 0 0 1 6 0v2", false: "M5 7V5a3 3 0 0 1 5.8-1.1" };
function padlock(encrypted) {
  const lock = document.createElement("span");
  lock.className = `lock ${encrypted ? "closed" : "open"}`;
  lock.dataset.encrypted = encrypted;
  lock.title = encrypted ? "end-to-end encrypted" : "not encrypted";
  lock.innerHTML = `<svg viewBox="0 0 16 16" width="13" height="13"><rect x="3" y="7" width="10" height="8" rx="1.5" fill="currentColor"/>` +
    `<path d="${SHACKLE[encrypted]}" fill="none" stroke="currentColor" stroke-width="1.8"/></svg>`;
  return lock;
}

async function send(did, text, encrypt = true) {
  const thread = chat(did);
  try {
    await node.sendSimpleTextMessage(did, text, { encrypt });
    thread.push({ out: true, text, encrypted: encrypt, note: encrypt ? "sent, encrypted" : "sent in the clear" });
    ring.travel([node.address, did], true);
    log(`me → ${short(did)}${encrypt ? " (encrypted)" : ""}: ${text}`);
  } catch (e) {
    thread.push({ out: true, text, encrypted: false, note: `not sent: ${e.name}: ${e.message}` });
    log(`me → ${short(did)} failed: ${e.name}: ${e.message}`);
  }
  if (did === picked) showThread();
}

function received(m) {
  const text = m.text ?? `${m.data.length} bytes`;
  const hops = m.path.length;
  log(`${short(m.from)} → me (${hops} hop${hops > 1 ? "s" : ""}${m.encrypted ? ", encrypted" : ""}): ${text}`);
  for (const did of m.path) known.add(did);
  ring.travel([...m.path, node.address]);
  const thread = chat(m.from);
  thread.push({ out: false, text, encrypted: m.encrypted, note: `${hops} hop${hops > 1 ? "s" : ""}, ${m.encrypted ? "encrypted" : "in the clear"}` });
  if (m.from === picked) showThread(); else { thread.unread += 1; showMembers(); }
  // a headless page answers people (not other pages' greetings or answers: no endless loop)
  if (bot && m.text && !/^(hello from|you said:) /.test(m.text)) send(m.from, `you said: ${m.text}`, m.encrypted);
}

$("send").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("text").value.trim();
  if (!text || !picked) return;
  $("text").value = "";
  await send(picked, text, $("encrypt").checked);
};

// 5. storage: store text, fetch by id, and say which node holds it
$("store").onsubmit = async (e) => {
  e.preventDefault();
  const did = await node.storageStore($("store-text").value);
  $("fetch-id").value = did;
  $("stored").textContent = `stored under ${did}`;
};
$("fetch").onsubmit = async (e) => {
  e.preventDefault();
  const id = $("fetch-id").value.trim();
  try {
    const vnode = await node.storageFetch(id);
    // heldBy: the node whose answer brought it, as the network says (not guessed from the ring)
    $("stored").dataset.heldBy = vnode?.heldBy ?? "";
    $("stored").textContent = vnode ? `${id.slice(0, 10)}… = "${vnode.data.join(", ")}", held by ${
      vnode.heldBy === node.address ? "this node" : short(vnode.heldBy)}` : `nothing stored under ${id}`;
  } catch (e) {
    $("stored").textContent = `${e.name}: ${e.message}`;
  }
};

async function until(predicate, timeout) {
  const deadline = Date.now() + timeout;
  while (!(await predicate())) {
    if (Date.now() > deadline) { $("status").textContent = "could not join (is the seed running?)"; throw new Error("join timed out"); }
    await new Promise((r) => setTimeout(r, 100));
  }
}

if (bot) connect(installed ?? demoWallet());
