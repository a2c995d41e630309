// Replaces tiny-secp256k1's wasm_loader.js in the bundle: instantiates secp256k1.wasm, which the
// build copies beside dist/fast-crypto.mjs, with top-level await (fetch in browsers, fs in Node).
import * as rand from "tiny-secp256k1-lib/rand.browser.js";
import * as validate_error from "tiny-secp256k1-lib/validate_error.js";

const url = new URL("./secp256k1.wasm", import.meta.url);
const bytes = url.protocol === "file:"
  ? (await import("node:fs")).readFileSync(url)
  : await (await fetch(url)).arrayBuffer();
const { instance } = await WebAssembly.instantiate(bytes, { "./rand.js": rand, "./validate_error.js": validate_error });
export default instance.exports;
