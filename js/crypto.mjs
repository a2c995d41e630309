/**
 * @module Crypto for the Pyodide backend of rings-web: the functions Python calls as the module
 * `rings_web_crypto` (src/rings_web/crypto/pyodide.py). libsecp256k1 compiled to wasm
 * (dist/fast-crypto.mjs, built from tiny-secp256k1: recover ~8x faster than @noble here; recover
 * 3x and sign 1.7x again where the build compiled libsecp256k1 itself, scripts/fast-crypto) and
 * Keccak in wasm of our own (keccak.mjs: ~50x @noble's) where they load; @noble otherwise, and
 * always for ed25519.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { keccakWasm } from "./keccak.mjs";

const DIST = new URL("../dist/", import.meta.url);

const u8 = (name, v, len) => {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${typeof v}`);
  if (len !== undefined && v.length !== len) throw new RangeError(`"${name}" expected Uint8Array of length ${len}, got length=${v.length}`);
  return v;
};
const uncompressed64 = (pub) => secp256k1.Point.fromBytes(pub).toBytes(false).subarray(1);
const withPrefix = (pub64) => { const p = new Uint8Array(65); p[0] = 4; p.set(pub64, 1); return p; };

// "n," of every byte n as one little-endian word, and its length: a byte list is written a
// word a byte (the next one overwrites the spare), ~10x faster than data.join(",") (50 KB:
// 0.12 ms against 0.8-2.6 ms, Node on this machine)
const DIGITS = new Uint32Array(256), DIGITS_LEN = new Uint8Array(256);
for (let n = 0; n < 256; n++) {
  const text = `${n},`;
  DIGITS_LEN[n] = text.length;
  for (let j = 0; j < text.length; j++) DIGITS[n] |= text.charCodeAt(j) << (8 * j);
}
let listBuffer = new Uint8Array(0), listView = new DataView(listBuffer.buffer);

/** `prefix + "n0,n1,…" + suffix`: the bytes as serde_json writes a Vec<u8> (SPEC §2.2), as
 * a view of a buffer reused by the next call (hash it before calling again). */
function byteList(prefix, data, suffix) {
  u8("prefix", prefix); u8("data", data); u8("suffix", suffix);
  const size = prefix.length + 4 * data.length + suffix.length + 4;
  if (listBuffer.length < size) {
    listBuffer = new Uint8Array(Math.max(size, 2 * listBuffer.length));
    listView = new DataView(listBuffer.buffer);
  }
  const out = listBuffer, view = listView;
  out.set(prefix, 0);
  let at = prefix.length;
  for (let i = 0; i < data.length; i++) {
    const n = data[i];
    view.setUint32(at, DIGITS[n], true);
    at += DIGITS_LEN[n];
  }
  if (data.length) at -= 1; // no comma after the last number
  out.set(suffix, at);
  return out.subarray(0, at + suffix.length);
}

/** The @noble implementations; bytes in and out are Uint8Array. */
const noble = {
  /** @example keccak256(new Uint8Array()) // c5d2…a470 */
  keccak256: (data) => keccak_256(u8("data", data)),
  /** Keccak-256 of a message text whose body is a byte list, without building it in Python. */
  keccak256ByteList: (prefix, data, suffix) => keccak_256(byteList(prefix, data, suffix)),
  secp256k1PublicKey: (secret) => secp256k1.getPublicKey(u8("secret", secret, 32), false).subarray(1),
  /** r||s||recid (noble's "recovered" format puts recid first). */
  secp256k1Sign: (digest, secret) => {
    const sig = secp256k1.sign(u8("digest", digest, 32), u8("secret", secret, 32), { prehash: false, format: "recovered" });
    const out = new Uint8Array(65);
    out.set(sig.subarray(1), 0);
    out[64] = sig[0];
    return out;
  },
  secp256k1Recover: (digest, sig) => {
    u8("signature", sig, 65);
    const recovered = new Uint8Array(65);
    recovered[0] = sig[64];
    recovered.set(sig.subarray(0, 64), 1);
    return uncompressed64(secp256k1.recoverPublicKey(recovered, u8("digest", digest, 32), { prehash: false }));
  },
  secp256k1Decompress: (pub) => uncompressed64(u8("public_key", pub, 33)),
  /** The shared point 04||X||Y (ecies 0.2.3 hashes the full point). */
  secp256k1Ecdh: (secret, pub) => secp256k1.getSharedSecret(u8("secret", secret, 32), withPrefix(u8("public_key", pub, 64)), false),
  ed25519Verify: (pub, msg, sig) => {
    try { return ed25519.verify(u8("signature", sig, 64), u8("message", msg), u8("public_key", pub, 32)); }
    catch { return false; }
  },
};

/** The same functions over libsecp256k1 (`fast` = dist/fast-crypto.mjs) and Keccak in wasm. */
async function wasm(fast) {
  // keccak.mjs, not hash-wasm: 1.5-1.8x less CPU for a 50 KB body's list (0.58 against
  // 0.88-1.1 ms), the list written inside the module (Node, CPU time, this machine)
  const keccak = await keccakWasm();
  const secp = fast.secp256k1, own = fast.libsecp256k1; // own: built here (scripts/fast-crypto), or its functions null
  const key = (pub) => { if (!pub) throw new Error("not a valid secp256k1 key or signature"); return pub.subarray(1); };
  return {
    ...noble,
    keccak256: (data) => keccak.keccak256(u8("data", data)),
    keccak256ByteList: (prefix, data, suffix) => keccak.keccak256ByteList(u8("prefix", prefix), u8("data", data), u8("suffix", suffix)),
    secp256k1PublicKey: (secret) => key(secp.pointFromScalar(u8("secret", secret, 32), false)),
    secp256k1Sign: (digest, secret) => {
      u8("digest", digest, 32); u8("secret", secret, 32);
      const { signature, recoveryId } = own.signRecoverable?.(digest, secret) ?? secp.signRecoverable(digest, secret);
      const out = new Uint8Array(65);
      out.set(signature, 0);
      out[64] = recoveryId;
      return out;
    },
    secp256k1Recover: own.recover
      ? (digest, sig) => {
        u8("digest", digest, 32); u8("signature", sig, 65);
        if (sig[64] > 3) throw new RangeError(`recovery id must be 0..3, got ${sig[64]}`);
        return own.recover(digest, sig.subarray(0, 64), sig[64]) ?? key(null);
      }
      : (digest, sig) => key(secp.recover(u8("digest", digest, 32), u8("signature", sig, 65).subarray(0, 64), sig[64], false)),
    secp256k1Decompress: (pub) => key(secp.pointCompress(u8("public_key", pub, 33), false)),
    secp256k1Ecdh: (secret, pub) => secp.pointMultiply(withPrefix(u8("public_key", pub, 64)), u8("secret", secret, 32), false)
      ?? (() => { throw new Error("invalid ECDH input"); })(),
  };
}

/** `fns` with `secp256k1RecoverByteList(head, data, prefixLength)`: the key that signed a
 * message text whose body is a byte list (`keccak256ByteList` then `secp256k1Recover`) in one
 * call from Python; `head` is the 65-byte signature, then the text's prefix, then its suffix. */
const withRecoverByteList = (fns) => ({
  ...fns,
  secp256k1RecoverByteList: (head, data, prefixLength) => {
    u8("head", head);
    if (!(prefixLength >= 0 && 65 + prefixLength <= head.length)) throw new RangeError(`"prefixLength" out of range: ${prefixLength}`);
    const digest = fns.keccak256ByteList(head.subarray(65, 65 + prefixLength), data, head.subarray(65 + prefixLength));
    return fns.secp256k1Recover(digest, head.subarray(0, 65));
  },
});

/**
 * The crypto functions: wasm where dist/fast-crypto.mjs loads (unless `fast` is false), else @noble.
 * `implementation` names which.
 * @example const fns = await cryptoFunctions(); fns.keccak256(new Uint8Array());
 */
export async function cryptoFunctions({ dist = DIST, fast = true } = {}) {
  if (fast) {
    try {
      return { implementation: "wasm (libsecp256k1, keccak.mjs)", ...withRecoverByteList(await wasm(await import(new URL("fast-crypto.mjs", dist).href))) };
    } catch { /* not built or not served: @noble below */ }
  }
  return { implementation: "@noble", ...withRecoverByteList(noble) };
}

/**
 * Register the functions with a Pyodide instance as the module `rings_web_crypto`.
 * @example await registerCrypto(await loadPyodide())
 */
export async function registerCrypto(pyodide, options) {
  const functions = await cryptoFunctions(options);
  pyodide.registerJsModule("rings_web_crypto", functions);
  return functions.implementation;
}
