// Browser figures for rings-web, measured in one headless Chromium run on 127.0.0.1, next to a raw
// RTCDataChannel pair in the same browser:
//   page load → node ready (cold: fresh context; warm: reload with the HTTP cache filled),
//   manual handshake → usable link, signed 1 KB messages per second page → page,
//   bulk throughput with 50 KB messages, and the ratios rings-web / raw.
// Run inside a loopback-only namespace after scripts/setup.sh:
//   unshare -n sh -c 'ip link set lo up && exec node bench/bench_browser.mjs [--messages N] [--bulk-mb M] [--profile]'
// --profile: V8 profiles of both pages during the bulk run (self time per function, a message)
import { parseArgs } from "node:util";
import { testKey, testnet, until } from "../js/testnet.mjs";
import { speed } from "./_report.mjs";
import { cpuLine, cpuSpent, cpuThreads, profileLines, profilePage, udpDrops } from "./_cpu.mjs";

const { values: args } = parseArgs({ options: { profile: { type: "boolean", default: false }, messages: { type: "string", default: "2000" }, "bulk-mb": { type: "string", default: "16" } } });
const N = Number(args.messages);
const BULK = Number(args["bulk-mb"]) << 20;
const fmt = (x, unit) => `${x.toFixed(x < 10 ? 2 : x < 100 ? 1 : 0)} ${unit}`;
const rows = [];
const row = (what, value, note = "") => { rows.push({ what, value, note }); console.log(`${what.padEnd(44)} ${value.padStart(14)}  ${note}`); };

const net = await testnet(0);
try {
  // -- boot ---------------------------------------------------------------------------------------
  const [a, b] = [await net.open(testKey(200), { events: "0" }), await net.open(testKey(201), { events: "0" })];
  row("page load → node ready, cold (fresh context)", fmt(a.bootMs, "ms"), `second page: ${fmt(b.bootMs, "ms")}`);
  await a.page.reload();
  await a.page.waitForFunction("window.ready || window.bootError", null, { timeout: 120_000 });
  row("page load → node ready, warm (HTTP cache)", fmt(await a.page.evaluate("window.bootMs"), "ms"), "reload of the first page");
  a.address = await a.page.evaluate("window.node.address");

  // -- handshake ----------------------------------------------------------------------------------
  const linked = (page, did) => page.waitForFunction((d) => window.linked?.has(d), did, { polling: 2, timeout: 30_000 });
  for (const page of [a.page, b.page]) {
    await page.evaluate(() => {
      window.linked = new Set();
      node.on("peer:connect", ({ did }) => linked.add(did));
      node.on("peer:disconnect", ({ did }) => linked.delete(did));
    });
  }
  const shakes = [];
  for (let i = 0; i < 5; i++) {
    if (await a.call("getPeer", b.address)) { await a.call("disconnect", b.address); await until(async () => !(await b.call("getPeer", a.address)), 10_000); }
    const t0 = performance.now();
    await a.call("acceptAnswer", await b.call("answerOffer", await a.call("createOffer")));
    await Promise.all([linked(a.page, b.address), linked(b.page, a.address)]);
    shakes.push(performance.now() - t0);
  }
  shakes.sort((x, y) => x - y);
  row("manual handshake → usable link (median of 5)", fmt(shakes[2], "ms"), `min ${fmt(shakes[0], "ms")}`);

  // -- messages -----------------------------------------------------------------------------------
  const install = (page) => page.evaluate(() => {
    window.bench = { count: 0, bytes: 0 };
    node.on("message", (m) => { bench.count += 1; bench.bytes += m.data.length; });
  });
  await install(b.page);
  const blast = async (size, count) => {
    await b.page.evaluate(() => { bench.count = 0; bench.bytes = 0; });
    const t0 = performance.now();
    await a.page.evaluate(async ([did, size, count]) => {
      const data = new Uint8Array(size).fill(7);
      for (let i = 0; i < count; i++) {
        await node.sendMessage(did, data);
        if (i % 64 === 63) await new Promise((r) => setTimeout(r, 0)); // let the page breathe
      }
    }, [b.address, size, count]);
    const sent = performance.now() - t0;
    await b.page.waitForFunction((n) => window.bench.count >= n, count, { timeout: 600_000, polling: 20 });
    return { sent, total: performance.now() - t0 };
  };
  await blast(1024, 100); // warm-up: JIT, first-hop session caches
  const small = await blast(1024, N);
  const perSecond = N / (small.total / 1000);
  row("signed 1 KB messages/s page → page, rings-web", fmt(perSecond, "msg/s"), `${N} messages; sender side alone ${fmt(N / (small.sent / 1000), "msg/s")}`);
  const bulkCount = Math.ceil(BULK / (50 << 10));
  // -- the raw RTCDataChannel pair, same browser: its bulk figure taken just before and just
  // after rings-web's, their mean the reference (the load of a shared machine drifts); warmed
  // up first as rings-web's link was by the 1 KB run (a new channel's first 8 MB ran at 3-5 MB/s,
  // the next at 20-38 MB/s)
  const raw = await rawPair(net.browser);
  await raw.bulk(bulkCount);
  let cpu = cpuThreads(), drops = udpDrops();
  const rawBefore = await raw.bulk(bulkCount);
  const rawCpu = cpuSpent(cpu, cpu = cpuThreads()), rawDrops = -drops + (drops = udpDrops());
  const profiles = args.profile ? await Promise.all([a.page, b.page].map((page) => profilePage(page))) : [];
  const bulk = await blast(50 << 10, bulkCount);
  const [sender, receiver] = await Promise.all(profiles.map((stop) => stop()));
  const ringsCpu = cpuSpent(cpu, cpuThreads()), ringsDrops = udpDrops() - drops;
  const ringsMBs = (bulkCount * (50 << 10)) / (1 << 20) / (bulk.total / 1000);
  row("bulk, 50 KB messages, rings-web", fmt(ringsMBs, "MB/s"), `${bulkCount} messages`);
  const rawAfter = await raw.bulk(bulkCount);
  raw.bulkMBs = (rawBefore + rawAfter) / 2;
  raw.smallPerSecond = await raw.small(N);
  row("raw RTCDataChannel: handshake → open", fmt(raw.handshakeMs, "ms"), "offer/answer/gathering in-page, no signaling hop");
  row("raw RTCDataChannel: 1 KB messages/s", fmt(raw.smallPerSecond, "msg/s"), `${N} messages`);
  row("raw RTCDataChannel: bulk, 50 KB messages", fmt(raw.bulkMBs, "MB/s"),
    `4 MB high-water backpressure; before ours ${fmt(rawBefore, "MB/s")}, after ${fmt(rawAfter, "MB/s")}`);
  row("ratio rings-web / raw, 1 KB messages/s", fmt(perSecond / raw.smallPerSecond, "×"), "target ≥ 1 000 msg/s absolute");
  row("ratio rings-web / raw, bulk", fmt(ringsMBs / raw.bulkMBs, "×"), "target ≥ 0.8");
  // where the CPU goes (all of the browser's processes, per thread): on this 2-core machine a
  // bulk run is bound by the CPU both pages and the browser share
  // (cores busy: CPU ms over wall ms; UDP drops: a reader fell behind, SCTP resends after a wait)
  const wallMs = (MBs) => (bulkCount * (50 << 10)) / (1 << 20) / MBs * 1000;
  const cpuNote = (spent, MBs, lost) => `${cpuLine(spent, bulkCount)}; ${(spent.total / wallMs(MBs)).toFixed(2)} cores busy, UDP receive-buffer drops ${lost}`;
  console.log(`bulk, raw (before ours): ${cpuNote(rawCpu, rawBefore, rawDrops)}`);
  console.log(`bulk, rings-web:         ${cpuNote(ringsCpu, ringsMBs, ringsDrops)}`);
  if (sender) {
    console.log(`bulk, sending page's V8 profile (self time a message):\n${profileLines(sender, bulkCount)}`);
    console.log(`bulk, receiving page's V8 profile (self time a message):\n${profileLines(receiver, bulkCount)}`);
  }
  speed(`signed 1 KB messages/s page → page (after a warm-up, ${N})`, perSecond, "msg/s", "raw RTCDataChannel", raw.smallPerSecond,
    ">= 1 000 msg/s (the dApp-way figure: bench_interop.py)", perSecond >= 1000);
  speed("bulk, 50 KB messages", ringsMBs, "MB/s", "raw RTCDataChannel", raw.bulkMBs, ">= 0.8x raw", ringsMBs >= 0.8 * raw.bulkMBs);
  if (net.errors.length) console.log("page errors:", net.errors);
} finally {
  await net.close();
}

/** Two RTCPeerConnections in two pages of one browser, plain DataChannels: `small(n)` (1 KB
 * messages/s) and `bulk(n)` (50 KB messages, MB/s) run the same workload. */
async function rawPair(browser) {
  const open = async () => {
    const ctx = await browser.newContext({ permissions: ["camera", "microphone"] });
    const page = await ctx.newPage();
    await page.setContent("<!doctype html><title>raw</title>");
    return page;
  };
  const [x, y] = [await open(), await open()];
  const setup = () => {
    window.pc = new RTCPeerConnection({ iceServers: [] });
    window.got = { count: 0, bytes: 0 };
    pc.ondatachannel = (e) => { e.channel.binaryType = "arraybuffer"; e.channel.onmessage = (m) => { got.count += 1; got.bytes += m.data.byteLength; }; };
    window.dc = pc.createDataChannel("raw");
    dc.binaryType = "arraybuffer";
    dc.bufferedAmountLowThreshold = 1 << 20;
    window.gathered = () => new Promise((r) => { if (pc.iceGatheringState === "complete") r(); else pc.onicegatheringstatechange = () => pc.iceGatheringState === "complete" && r(); });
  };
  await x.evaluate(setup);
  await y.evaluate(setup);
  const t0 = performance.now();
  const offer = await x.evaluate(async () => { await pc.setLocalDescription(await pc.createOffer()); await gathered(); return pc.localDescription.toJSON(); });
  const answer = await y.evaluate(async (o) => { await pc.setRemoteDescription(o); await pc.setLocalDescription(await pc.createAnswer()); await gathered(); return pc.localDescription.toJSON(); }, offer);
  await x.evaluate((a) => pc.setRemoteDescription(a), answer);
  await x.waitForFunction(() => dc.readyState === "open");
  await y.waitForFunction(() => dc.readyState === "open");
  const handshakeMs = performance.now() - t0;
  const send = (size, n) => x.evaluate(async ([size, n]) => {
    const data = new Uint8Array(size).fill(7);
    for (let i = 0; i < n; i++) {
      if (dc.bufferedAmount > 4 << 20) await new Promise((r) => { dc.onbufferedamountlow = r; });
      dc.send(data);
    }
  }, [size, n]);
  const measure = async (size, n) => {
    await y.evaluate(() => { got.count = 0; got.bytes = 0; });
    const s = performance.now();
    await send(size, n);
    await y.waitForFunction((k) => got.count >= k, n, { timeout: 600_000, polling: 10 });
    return performance.now() - s;
  };
  return {
    handshakeMs,
    small: async (n) => n / ((await measure(1024, n)) / 1000),
    bulk: async (n) => (n * (50 << 10)) / (1 << 20) / ((await measure(50 << 10, n)) / 1000),
  };
}
