// Encrypted messages between pages through a relay page whose data channels carry no plaintext
// (SPEC §5.7), requireEncryption and the validator hook. Run inside a loopback-only network
// namespace (tests/browser/test_js.py does).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { testKey, testnet, until } from "../../js/testnet.mjs";

const SECRET = "sealed for c only ✓";
const hexOf = (text) => Buffer.from(text).toString("hex");
let net;

before(async () => { net = await testnet(0, { stabilizeInterval: 600_000 }); });
after(async () => { await net?.close(); });

test("a → relay → c: encrypted text arrives, the relay forwards only ciphertext, c drops plaintext", async () => {
  const a = await net.open(testKey(0));
  const relay = await net.open(testKey(1), { tap: "1" });
  const c = await net.open(testKey(2), { requireEncryption: "1", refuse: "forbidden" });
  await net.link(a, relay);
  await net.link(relay, c);

  await a.call("sendSimpleTextMessage", c.address, "forbidden word");
  await a.call("sendSimpleTextMessage", c.address, "harmless, but plain");
  const rejected = await until(async () => { const r = await c.events("payload:rejected"); return r.length >= 2 && r; },
    20_000, "two refusals at c");
  assert.deepEqual(rejected.map((e) => e.detail.error), ["MessageRefused", "MessageRefused"]);
  assert.match(rejected.map((e) => e.detail.message).join("\n"), /validator refused[\s\S]*encryption required/);

  // joining, a may have linked to c through the relay: then unlink, until the text goes via the relay
  let got;
  for (let attempt = 0; attempt < 5 && !(got?.detail.path.length >= 2); attempt++) {
    if (await a.call("getPeer", c.address)) {
      // the ring links them again within ~0.1 s (a's next successor names c), maybe before a poll
      // sees both ends unlinked: go on as soon as c has seen this unlink
      const seen = (await c.events("peer:disconnect")).length;
      await a.call("disconnect", c.address);
      await c.page.waitForFunction((n) => window.rings.events("peer:disconnect").length > n, seen, { polling: 5, timeout: 10_000 });
    }
    const before = await relay.page.evaluate("window.sent.length");
    const tx = await a.call("sendSimpleTextMessage", c.address, SECRET, { encrypt: true });
    got = await until(async () => (await c.events("message")).find((e) => e.detail.txId === tx), 20_000, "the encrypted text");
    if (got.detail.path.length >= 2) {
      const forwarded = (await relay.page.evaluate("window.sent")).slice(before).join("");
      assert.ok(forwarded.length > 0 && !forwarded.includes(hexOf(SECRET)), "the relay sent the plaintext");
    }
  }
  assert.deepEqual([got.detail.text, got.detail.encrypted, got.detail.path], [SECRET, true, [a.address, relay.address]]);
  assert.ok((await c.events("message")).every((e) => e.detail.encrypted && e.detail.text === SECRET),
    "only the encrypted texts reached c's application");

  await assert.rejects(a.call("sendMessage", a.address.replace(/.$/, (d) => (d === "0" ? "1" : "0")), { $bytes: "00" }, { encrypt: true }),
    (e) => e.name === "NoSessionKey");
  assert.deepEqual(net.errors, [], "no page errors, console errors or unhandled rejections");
});

test("a recipient that restarted with a new session still gets the text a encrypted to its old one", async () => {
  const a = await net.open(testKey(3));
  const c = await net.open(testKey(4));
  await net.link(a, c);
  await a.call("sendSimpleTextMessage", c.address, "first", { encrypt: true }); // a learns c's session key
  await until(async () => (await c.events("message")).length === 1, 20_000, "the first text");
  await c.close(); // c's tab closes; it comes back in a new one: same wallet, a new session key
  const c2 = await net.open(testKey(4));
  await net.link(a, c2);
  assert.equal(c2.address, c.address);
  const tx = await a.call("sendSimpleTextMessage", c2.address, SECRET, { encrypt: true }); // to the old key
  const got = await until(async () => (await c2.events("message"))[0], 20_000, "the text, sent again");
  assert.deepEqual([got.detail.text, got.detail.encrypted, got.detail.from], [SECRET, true, a.address]);
  assert.notEqual(got.detail.txId, tx, "the first try did not decrypt: a sent it once more");
  assert.deepEqual((await c2.events("payload:rejected")).map((e) => e.detail.error), ["DecryptionFailed"]);
  assert.deepEqual(await a.events("payload:rejected"), [], "nothing failed at the sender");
  assert.deepEqual(net.errors, []);
});
