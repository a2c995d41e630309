/**
 * @module Test wallets for rings-web: an EIP-1193 provider that signs with a known key, so
 * tests take the same code path as MetaMask (`eth_requestAccounts`, `personal_sign`); it counts
 * the requests it gets, so a test can tell that a reload asked the wallet nothing.
 * For tests only: the key sits in page memory.
 */
import { secp256k1 } from "@noble/curves/secp256k1.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const unhex = (text) => Uint8Array.from(text.replace(/^0x/, "").match(/../g) ?? [], (h) => parseInt(h, 16));
const utf8 = new TextEncoder();

/** Ethereum address (0x + 40 lower-case hex digits) of a secp256k1 private key. */
export function addressOf(privateKey) {
  const pub = secp256k1.getPublicKey(unhex(privateKey), false).subarray(1);
  return "0x" + hex(keccak_256(pub).subarray(12));
}

/** EIP-191 personal_sign: r||s||v with v = 27/28, as MetaMask returns it. */
function personalSign(message, privateKey) {
  const digest = keccak_256(new Uint8Array([...utf8.encode(`\x19Ethereum Signed Message:\n${message.length}`), ...message]));
  const sig = secp256k1.sign(digest, unhex(privateKey), { prehash: false, format: "recovered" });
  return "0x" + hex(sig.subarray(1)) + (27 + sig[0]).toString(16);
}

class ProviderRpcError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

/**
 * An EIP-1193 provider holding `privateKey`.
 * @param {string} privateKey - 64 hex digits.
 * @param {{chainId?: number}} [options]
 * @example
 * const ethereum = testWallet("4c0883a6…f362318");
 * ethereum.rejectNext("personal_sign"); // the next signature request fails as a user's "Reject"
 * ethereum.lock();                       // as a locked MetaMask: no accounts, requests fail 4100
 * ethereum.switchChain(5);               // emits chainChanged "0x5"
 */
export function testWallet(privateKey, { chainId = 1 } = {}) {
  if (!/^(0x)?[0-9a-fA-F]{64}$/.test(privateKey)) throw new TypeError('"privateKey" expected 64 hex digits');
  let key = privateKey;
  let locked = false;
  const listeners = new Map();
  const refusals = new Map();
  const counts = new Map();
  const emit = (event, value) => { for (const fn of listeners.get(event) ?? []) fn(value); };
  const provider = {
    isRingsTestWallet: true,
    get address() { return addressOf(key); },
    async request({ method, params = [] }) {
      counts.set(method, (counts.get(method) ?? 0) + 1);
      const code = refusals.get(method);
      if (code !== undefined) { refusals.delete(method); throw new ProviderRpcError(code, code === 4001 ? "User rejected the request." : "Refused by the test wallet."); }
      switch (method) {
        case "eth_requestAccounts":
          if (locked) throw new ProviderRpcError(4100, "The wallet is locked: unlock it first.");
          return [addressOf(key)];
        case "eth_accounts":
          return locked ? [] : [addressOf(key)];
        case "eth_chainId":
          return "0x" + chainId.toString(16);
        case "personal_sign": {
          const [message, account] = params;
          if (locked || account?.toLowerCase() !== addressOf(key)) throw new ProviderRpcError(4100, `unknown account ${account}`);
          return personalSign(unhex(message), key);
        }
        default:
          throw new ProviderRpcError(4200, `unsupported method ${method}`);
      }
    },
    on(event, fn) { listeners.set(event, [...(listeners.get(event) ?? []), fn]); return provider; },
    removeListener(event, fn) { listeners.set(event, (listeners.get(event) ?? []).filter((f) => f !== fn)); return provider; },
    /** How many `method` requests this provider got (refused ones included). */
    count(method) { return counts.get(method) ?? 0; },
    /** Make the next `method` request fail with EIP-1193 `code` (4001: the user rejected it). */
    rejectNext(method, code = 4001) { refusals.set(method, code); },
    /** Switch the selected account, as a user would in MetaMask (emits `accountsChanged`). */
    switchAccount(privateKeyHex) { key = privateKeyHex; emit("accountsChanged", [addressOf(key)]); },
    /** Lock, as MetaMask locks: `eth_accounts` gives [], `eth_requestAccounts` and
     * `personal_sign` fail with 4100, and `accountsChanged` fires with []. */
    lock() { locked = true; emit("accountsChanged", []); },
    /** Unlock again (emits `accountsChanged` with the account). */
    unlock() { locked = false; emit("accountsChanged", [addressOf(key)]); },
    /** Switch to chain `id` (a number): `eth_chainId` answers it, `chainChanged` fires with its hex. */
    switchChain(id) { chainId = id; emit("chainChanged", "0x" + id.toString(16)); },
    /** Fire any EIP-1193 event to the listeners, e.g. `emit("disconnect", {code: 4900})`. */
    emit,
  };
  return provider;
}
