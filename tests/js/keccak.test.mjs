// js/keccak.mjs (the Keccak-256 the wasm crypto uses) against @noble's keccak_256: every length
// around the 136-byte rate, inputs that make the module's memory grow, and the serde_json
// number list of SPEC §5.4 against the text built in JS.
import assert from "node:assert/strict";
import { test } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { keccakWasm } from "../../js/keccak.mjs";

const hex = (u) => Buffer.from(u).toString("hex");
const bytes = (n, seed) => { const out = new Uint8Array(n); let x = seed; for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; out[i] = x >>> 24; } return out; };
const text = (s) => new TextEncoder().encode(s);

test("keccak256 is @noble's for every length near the rate, and far above it", async () => {
  const k = await keccakWasm();
  assert.equal(hex(k.keccak256(new Uint8Array())), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  const lengths = [...Array(3 * 136 + 2).keys(), 4095, 65_536, 200_001, 1_500_000]; // the last ones grow the memory
  for (const n of lengths) {
    const data = bytes(n, n + 1);
    assert.equal(hex(k.keccak256(data)), hex(keccak_256(data)), `length ${n}`);
  }
});

test("keccak256ByteList hashes prefix + the bytes as a number list + suffix", async () => {
  const k = await keccakWasm();
  const prefix = text('{"CustomMessage":{"Plain":['), suffix = text("]}}\n1765000000000\n300000");
  for (const n of [0, 1, 2, 33, 34, 35, 136, 1000, 51_200, 300_000]) {
    for (const data of [bytes(n, 7 * n + 3), new Uint8Array(n).fill(7), new Uint8Array(n).fill(255), new Uint8Array(n)]) {
      const listed = keccak_256(text(`{"CustomMessage":{"Plain":[${data.join(",")}]}}\n1765000000000\n300000`));
      assert.equal(hex(k.keccak256ByteList(prefix, data, suffix)), hex(listed), `length ${n}, first byte ${data[0]}`);
    }
  }
  assert.equal(hex(k.keccak256ByteList(new Uint8Array(), new Uint8Array(), new Uint8Array())), hex(keccak_256(new Uint8Array())));
});

test("a digest is the caller's: the next call does not overwrite it", async () => {
  const k = await keccakWasm();
  const first = k.keccak256(text("first"));
  const kept = hex(first);
  k.keccak256ByteList(text("["), bytes(100_000, 1), text("]"));
  assert.equal(hex(first), kept);
  assert.equal(kept, hex(keccak_256(text("first"))));
});
