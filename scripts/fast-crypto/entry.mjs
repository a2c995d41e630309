// Bundle entry of dist/fast-crypto.mjs (scripts/build.mjs): the wasm primitives js/crypto.mjs
// prefers when they load — libsecp256k1 (tiny-secp256k1 2.2.4; recovery and signing built here
// where clang is, libsecp256k1.mjs); Keccak is js/keccak.mjs's own.
export * as secp256k1 from "tiny-secp256k1";
export * as libsecp256k1 from "./libsecp256k1.mjs";
