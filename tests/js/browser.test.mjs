// One rings-web page at a time in headless Chromium: the wallet path (EIP-1193, as MetaMask),
// IndexedDB persistence across a reload, and typed errors from bad calls.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PageError, testKey, testnet } from "../../js/testnet.mjs";

let net;
before(async () => { net = await testnet(0); });
after(async () => { await net?.close(); });

test("a rejected signature is a typed SignatureRejected error; the node does not start", async () => {
  await assert.rejects(net.open(testKey(10), { reject: "personal_sign" }),
    (e) => e instanceof PageError && e.name === "SignatureRejected" && /4001/.test(e.message));
  await assert.rejects(net.open(testKey(10), { reject: "eth_requestAccounts" }), (e) => e.name === "SignatureRejected");
});

test("the wallet's address is the node's DID; an account switch is reported, the session kept", async () => {
  const node = await net.open(testKey(11));
  assert.equal(node.address, await node.page.evaluate(() => window.ethereum.address));
  await node.page.evaluate((k) => window.ethereum.switchAccount(k), testKey(12));
  const [changed] = await node.events("wallet:accountsChanged");
  assert.equal(changed.detail.address, node.address);
  assert.notEqual(changed.detail.accounts[0], node.address);
  assert.equal((await node.call("getNodeInfo")).did, node.address);
  await node.close();
});

test("VNodes stored in IndexedDB survive a page reload, which boots warm from the snapshot", async () => {
  const node = await net.open(testKey(13), { storage: "indexeddb", storageName: "persist-test" });
  const vid = await node.call("storageStore", "kept across reloads");
  await node.call("publishMessageToTopic", "diary", "day one");
  await node.call("close"); // flushes IndexedDB
  assert.equal(await node.page.evaluate("window.bootWarm"), false, "a fresh context boots cold");
  await node.page.reload();
  await node.page.waitForFunction("window.ready || window.bootError", null, { timeout: 120_000 });
  assert.equal(await node.page.evaluate("window.bootWarm"), true, "the reload boots from the memory snapshot");
  assert.deepEqual((await node.call("storageFetch", vid)).data, ["kept across reloads"]);
  assert.deepEqual(await node.call("fetchMessagesOfTopic", "diary", 0), ["day one"]);
  assert.equal((await node.call("getNodeInfo")).stored, 2);
  await node.close();
});

test("bad arguments are typed errors and the node keeps working", async () => {
  const node = await net.open(testKey(14));
  const bad = [
    ["sendSimpleTextMessage", "not a did", "x", "InvalidArgument"],
    ["sendMessage", node.address, "text, not bytes", "InvalidArgument"],
    ["sendCustomMessage", node.address, 1 << 20, { $bytes: "00" }, "InvalidArgument"],
    ["answerOffer", "{not json", "DecodeError"],
    ["acceptAnswer", JSON.stringify({ data: {} }), "DecodeError"],
    ["connectPeerViaHttp", "ftp://127.0.0.1/", "InvalidArgument"],
    ["decode", "zz", "DecodeError"],
  ];
  for (const [method, ...rest] of bad) {
    const name = rest.pop();
    await assert.rejects(node.call(method, ...rest), (e) => e.name === name, `${method} → ${name}`);
  }
  const vid = await node.call("storageStore", "still fine");
  assert.deepEqual((await node.call("storageFetch", vid)).data, ["still fine"]);
  assert.deepEqual(net.errors, []);
  await node.close();
});

test("the session is kept across reloads and the wallet asked nothing; another account, persistSession: false and logout sign anew", async () => {
  const node = await net.open(testKey(15), { storage: "indexeddb", storageName: "session-test" });
  const asked = (method) => node.page.evaluate((m) => window.ethereum.count(m), method);
  const load = async (key, query = {}) => { // the same browser context: IndexedDB stays
    await node.page.goto(net.server.pageURL({ key, stabilize: 3000, storage: "indexeddb", storageName: "session-test", ...query }));
    await node.page.waitForFunction("window.ready || window.bootError", null, { timeout: 120_000 });
    assert.equal(await node.page.evaluate("window.bootError"), undefined);
    return node.page.evaluate("window.node.address");
  };
  assert.equal(await asked("personal_sign"), 1);
  await node.call("close");
  assert.equal(await load(testKey(15)), node.address, "a reload keeps the address");
  assert.equal(await asked("personal_sign"), 0, "a reload asks for no signature");
  assert.equal(await asked("eth_requestAccounts"), 0, "… nor for the accounts (eth_accounts does not prompt)");
  const other = await load(testKey(16)); // the user switched accounts in the wallet
  assert.equal(other, await node.page.evaluate(() => window.ethereum.address));
  assert.notEqual(other, node.address);
  assert.equal(await asked("personal_sign"), 1, "another account signs anew");
  assert.equal(await load(testKey(16)), other);
  assert.equal(await asked("personal_sign"), 0);
  for (let i = 0; i < 2; i++) {
    assert.equal(await load(testKey(16), { persist: "0" }), other);
    assert.equal(await asked("personal_sign"), 1, "persistSession: false signs at every load");
  }
  assert.equal(await load(testKey(16)), other);
  assert.equal(await asked("personal_sign"), 0, "persistSession: false neither used nor dropped the kept session");
  await node.call("logout");
  assert.equal(await load(testKey(16)), other);
  assert.equal(await asked("personal_sign"), 1, "after logout the wallet signs again");
  assert.deepEqual(net.errors, []);
  await node.close();
});
