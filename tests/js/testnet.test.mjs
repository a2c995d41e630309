// A six-page rings-web network in headless Chromium, built with the reusable helper js/testnet.mjs.
// Run inside a loopback-only network namespace (tests/browser/test_js.py does).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { newBootedPage, testnet, until } from "../../js/testnet.mjs";

const N = 6;
let net;
const hexId = (did) => BigInt(did);
const byId = (a, b) => (hexId(a.address) < hexId(b.address) ? -1 : 1);

/** Every node's successor and predecessor are the true ones among `nodes`. */
async function ringCorrect(nodes) {
  const sorted = [...nodes].sort(byId);
  const infos = await Promise.all(sorted.map((n) => n.call("getNodeInfo")));
  return sorted.every((n, i) => infos[i].successors[0] === sorted[(i + 1) % sorted.length].address
    && infos[i].predecessor === sorted[(i + sorted.length - 1) % sorted.length].address);
}

/** From each node, a custom message (type 7) to every other; resolves with the paths they took. */
async function allPairsMessages(nodes, tag) {
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      await a.call("sendCustomMessage", b.address, 7, { $bytes: Buffer.from(`${tag}:${a.address}`).toString("hex") });
    }
  }
  const paths = [];
  for (const b of nodes) {
    const want = nodes.filter((a) => a !== b).map((a) => `${tag}:${a.address}`).sort();
    const got = await until(async () => {
      const mine = (await b.events("message")).filter((e) => Buffer.from(e.detail.data.$bytes, "hex").toString().startsWith(`${tag}:`));
      return mine.length >= want.length && mine;
    }, 30_000, `${want.length} messages at ${b.address}`);
    assert.deepEqual(got.map((e) => Buffer.from(e.detail.data.$bytes, "hex").toString()).sort(), want);
    for (const e of got) {
      assert.equal(e.detail.type, 7);
      assert.equal(e.detail.path[0], e.detail.from);
      paths.push(e.detail.path);
    }
  }
  return paths;
}

before(async () => { net = await testnet(N, { stabilizeInterval: 2000 }); });
after(async () => { await net?.close(); });

test("six pages: chain, ring, multi-hop messages, connect all, storage, one page leaves and the rest heal", async () => {
  const nodes = net.nodes;
  for (let i = 1; i < N; i++) await net.link(nodes[i - 1], nodes[i]);

  await until(() => ringCorrect(nodes), 60_000, "the ring after stabilization");

  await allPairsMessages(nodes, "ring");
  // six pages are all linked by now (three successors each): unlink a pair, and it must talk
  // through the others. The ring soon links the pair again, maybe before the messages leave:
  // then both go direct, and the unlink is tried again.
  const [a, b] = [nodes[0], nodes[1]];
  const tries = [];
  for (let attempt = 0; attempt < 5 && !tries.some((paths) => paths.every((p) => p.length >= 2)); attempt++) {
    await a.call("disconnect", b.address);
    await until(async () => !(await a.call("getPeer", b.address)) && !(await b.call("getPeer", a.address)), 10_000, "the unlink");
    tries.push(await allPairsMessages([a, b], `relayed ${attempt}`));
  }
  assert.ok(tries.some((paths) => paths.every((p) => p.length >= 2)), `a and b talk through another page: ${JSON.stringify(tries)}`);
  console.log(`# a and b relayed after ${tries.length} unlink(s)`);

  for (const a of nodes) {
    for (const b of nodes) {
      if (a !== b && !(await a.call("getPeer", b.address))) assert.equal(await a.call("connectWithAddress", b.address), b.address);
    }
  }
  // the far end's channel may open a moment after connectWithAddress resolved here
  await until(async () => (await Promise.all(nodes.map((n) => n.call("listPeers")))).every((p) => p.length === N - 1),
    10_000, "every page linked to every other");

  const vid = await nodes[0].call("storageStore", "stored by page 0");
  for (const n of nodes) assert.deepEqual((await n.call("storageFetch", vid)).data, ["stored by page 0"]);

  // the page that stores the id (0.2.5 placement: the node preceding it) leaves
  const sorted = [...nodes].sort(byId);
  const owner = [...sorted].reverse().find((n) => hexId(n.address) < hexId(vid)) ?? sorted[sorted.length - 1];
  await owner.close();
  const rest = nodes.filter((n) => n !== owner);
  await until(async () => (await Promise.all(rest.map((n) => n.call("listPeers")))).every((p) => p.length === N - 2),
    30_000, "the others to drop the closed page");
  await until(() => ringCorrect(rest), 60_000, "the ring without the closed page");
  await allPairsMessages(rest, "healed");
  for (const n of rest) assert.deepEqual((await n.call("storageFetch", vid)).data, ["stored by page 0"], "a replica survives");

  assert.deepEqual(net.errors, [], "no page errors, console errors or unhandled rejections");
});

test("a renderer that crashes while a page boots gets one fresh context more, not two", async () => {
  const opened = [];
  const context = () => {
    const c = { closed: false, newPage: async () => ({}), close: async () => { c.closed = true; } };
    opened.push(c);
    return c;
  };
  const browser = { newContext: async () => context() };
  const crashOnce = async () => { if (opened.length === 1) throw new Error("page.waitForFunction: Target crashed"); };
  const booted = await newBootedPage(browser, {}, crashOnce);
  assert.deepEqual(opened.map((c) => c.closed), [true, false]);
  assert.equal(booted.context, opened[1]);
  await assert.rejects(newBootedPage(browser, {}, async () => { throw new Error("Target crashed"); }), /Target crashed/);
  await assert.rejects(newBootedPage(browser, {}, async () => { throw new Error("boot failed"); }), /boot failed/);
  assert.equal(opened.length, 5); // 2 + the crashing pair + the one other error
});
