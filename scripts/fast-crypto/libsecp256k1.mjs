// libsecp256k1's recovery and signing from dist/libsecp256k1.wasm (scripts/fast-crypto/libsecp256k1.c),
// loaded beside dist/fast-crypto.mjs with top-level await; both are null where the build had no
// clang (js/crypto.mjs then uses tiny-secp256k1's).
const url = new URL("./libsecp256k1.wasm", import.meta.url);

async function load() {
  try {
    const bytes = url.protocol === "file:"
      ? (await import("node:fs")).readFileSync(url)
      : await (await fetch(url)).arrayBuffer();
    const wasm = (await WebAssembly.instantiate(bytes, {})).instance.exports;
    new Uint8Array(wasm.memory.buffer).set(crypto.getRandomValues(new Uint8Array(32)), wasm.io_ptr() + 96);
    return wasm.init() === 1 ? wasm : null;
  } catch {
    return null;
  }
}

const wasm = await load();
const io = wasm?.io_ptr();
const memory = () => new Uint8Array(wasm.memory.buffer);

/** The 64-byte public key (X||Y) that made the 64-byte `rs` over `digest` with `recid` (0..3), or null. */
export const recover = wasm && ((digest, rs, recid) => {
  const m = memory();
  m.set(digest, io);
  m.set(rs, io + 32);
  return wasm.recover(recid) === 1 ? m.slice(io + 97, io + 161) : null;
});

/** `{signature: r||s, recoveryId}` of `digest` by the 32-byte `secret` (RFC 6979, low S), or null. */
export const signRecoverable = wasm && ((digest, secret) => {
  const m = memory();
  m.set(digest, io);
  m.set(secret, io + 96);
  const recoveryId = wasm.sign();
  try {
    return recoveryId < 0 ? null : { signature: m.slice(io + 32, io + 96), recoveryId };
  } finally {
    m.fill(0, io + 32, io + 96);
  }
});
