/**
 * @module Crypto for the Pyodide backend of rings-web: the functions Python calls as the module
 * `rings_web_crypto` (src/rings_web/crypto/pyodide.py). libsecp256k1 and Keccak compiled to wasm
 * (dist/fast-crypto.mjs, built from tiny-secp256k1 and hash-wasm: recover ~8x, keccak ~20x faster
 * than @noble here) where they load; @noble otherwise, and always for ed25519.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

const DIST = new URL("../dist/", import.meta.url);

const u8 = (name, v, len) => {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${typeof v}`);
  if (len !== undefined && v.length !== len) throw new RangeError(`"${name}" expected Uint8Array of length ${len}, got length=${v.length}`);
  return v;
};
const uncompressed64 = (pub) => secp256k1.Point.fromBytes(pub).toBytes(false).subarray(1);
const withPrefix = (pub64) => { const p = new Uint8Array(65); p[0] = 4; p.set(pub64, 1); return p; };

const utf8 = new TextEncoder();
/** `prefix + "n0,n1,…" + suffix`: the bytes as serde_json writes a Vec<u8> (SPEC §2.2). */
const byteList = (prefix, data, suffix) => [u8("prefix", prefix), utf8.encode(u8("data", data).join(",")), u8("suffix", suffix)];

/** The @noble implementations; bytes in and out are Uint8Array. */
const noble = {
  /** @example keccak256(new Uint8Array()) // c5d2…a470 */
  keccak256: (data) => keccak_256(u8("data", data)),
  /** Keccak-256 of a message text whose body is a byte list, without building it in Python. */
  keccak256ByteList: (prefix, data, suffix) => {
    const h = keccak_256.create();
    for (const part of byteList(prefix, data, suffix)) h.update(part);
    return h.digest();
  },
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

/** The same functions over libsecp256k1 and Keccak in wasm (`fast` = dist/fast-crypto.mjs). */
async function wasm(fast) {
  const hasher = await fast.createKeccak(256);
  const secp = fast.secp256k1;
  const key = (pub) => { if (!pub) throw new Error("not a valid secp256k1 key or signature"); return pub.subarray(1); };
  return {
    ...noble,
    keccak256: (data) => { hasher.init(); hasher.update(u8("data", data)); return hasher.digest("binary"); },
    keccak256ByteList: (prefix, data, suffix) => {
      hasher.init();
      for (const part of byteList(prefix, data, suffix)) hasher.update(part);
      return hasher.digest("binary");
    },
    secp256k1PublicKey: (secret) => key(secp.pointFromScalar(u8("secret", secret, 32), false)),
    secp256k1Sign: (digest, secret) => {
      const { signature, recoveryId } = secp.signRecoverable(u8("digest", digest, 32), u8("secret", secret, 32));
      const out = new Uint8Array(65);
      out.set(signature, 0);
      out[64] = recoveryId;
      return out;
    },
    secp256k1Recover: (digest, sig) => key(secp.recover(u8("digest", digest, 32), u8("signature", sig, 65).subarray(0, 64), sig[64], false)),
    secp256k1Decompress: (pub) => key(secp.pointCompress(u8("public_key", pub, 33), false)),
    secp256k1Ecdh: (secret, pub) => secp.pointMultiply(withPrefix(u8("public_key", pub, 64)), u8("secret", secret, 32), false)
      ?? (() => { throw new Error("invalid ECDH input"); })(),
  };
}

/**
 * The crypto functions: wasm where dist/fast-crypto.mjs loads (unless `fast` is false), else @noble.
 * `implementation` names which.
 * @example const fns = await cryptoFunctions(); fns.keccak256(new Uint8Array());
 */
export async function cryptoFunctions({ dist = DIST, fast = true } = {}) {
  if (fast) {
    try {
      return { implementation: "wasm (libsecp256k1, hash-wasm keccak)", ...(await wasm(await import(new URL("fast-crypto.mjs", dist).href))) };
    } catch { /* not built or not served: @noble below */ }
  }
  return { implementation: "@noble", ...noble };
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
