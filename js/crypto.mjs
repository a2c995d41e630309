/**
 * @module Fast crypto for the Pyodide backend of rings-web: @noble functions registered
 * as the Python module `rings_web_crypto` (see src/rings_web/crypto/pyodide.py).
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { ed25519 } from "@noble/curves/ed25519.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

const u8 = (name, v, len) => {
  if (!(v instanceof Uint8Array)) throw new TypeError(`"${name}" expected Uint8Array, got ${typeof v}`);
  if (len !== undefined && v.length !== len) throw new RangeError(`"${name}" expected Uint8Array of length ${len}, got length=${v.length}`);
  return v;
};
const uncompressed64 = (pub) => secp256k1.Point.fromBytes(pub).toBytes(false).subarray(1);

/** The functions Python calls; bytes in and out are Uint8Array. */
export const functions = {
  /** @example keccak256(new Uint8Array()) // c5d2…a470 */
  keccak256: (data) => keccak_256(u8("data", data)),
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
  secp256k1Ecdh: (secret, pub) => {
    const full = new Uint8Array(65);
    full[0] = 4;
    full.set(u8("public_key", pub, 64), 1);
    return secp256k1.getSharedSecret(u8("secret", secret, 32), full, false);
  },
  ed25519Verify: (pub, msg, sig) => {
    try { return ed25519.verify(u8("signature", sig, 64), u8("message", msg), u8("public_key", pub, 32)); }
    catch { return false; }
  },
};

/**
 * Register the functions with a Pyodide instance.
 * @example registerCrypto(await loadPyodide())
 */
export function registerCrypto(pyodide) {
  pyodide.registerJsModule("rings_web_crypto", functions);
}
