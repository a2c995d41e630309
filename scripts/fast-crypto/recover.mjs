// libsecp256k1's recovery from dist/secp256k1-recover.wasm (scripts/fast-crypto/recover.c), loaded
// beside dist/fast-crypto.mjs with top-level await; `recover` is null where the build had no
// clang (js/crypto.mjs then recovers with tiny-secp256k1).
const url = new URL("./secp256k1-recover.wasm", import.meta.url);

async function load() {
  try {
    const bytes = url.protocol === "file:"
      ? (await import("node:fs")).readFileSync(url)
      : await (await fetch(url)).arrayBuffer();
    return (await WebAssembly.instantiate(bytes, {})).instance.exports;
  } catch {
    return null;
  }
}

const wasm = await load();

/** The 64-byte public key (X||Y) that made the 64-byte `rs` over `digest` with `recid` (0..3), or null. */
export const recover = wasm && ((digest, rs, recid) => {
  const memory = new Uint8Array(wasm.memory.buffer), io = wasm.io_ptr();
  memory.set(digest, io);
  memory.set(rs, io + 32);
  return wasm.recover(recid) === 1 ? memory.slice(io + 97, io + 161) : null;
});
