// Bundle entry of dist/fast-crypto.mjs (scripts/build.mjs): the wasm primitives js/crypto.mjs
// prefers when they load — libsecp256k1 (tiny-secp256k1 2.2.4); Keccak is js/keccak.mjs's own.
export * as secp256k1 from "tiny-secp256k1";
