/**
 * @module rings-web: a Rings Network node (Chord DHT over WebRTC, identity = wallet address)
 * for the page, written in Python and run by Pyodide; wire-compatible with Rings 0.2.5.
 * This file boots Pyodide with the shipped wheel and wraps the Python node in camelCase.
 */
import { bootPyodide } from "./boot.mjs";
import { cryptoFunctions } from "./crypto.mjs";
import { openSessionStore, openVNodeDb } from "./storage.mjs";
import { createTransport } from "./transport.mjs";

export const VERSION = "0.1.0";
export const PYODIDE_VERSION = "314.0.7";
/** Where the script build (dist/rings-web.js) loads Pyodide from unless `indexURL` says otherwise. */
export const CDN_INDEX_URL = `https://cdn.jsdelivr.net/pyodide/v${PYODIDE_VERSION}/full/`;

// true in dist/rings-web.js (scripts/build.mjs defines it): Pyodide then defaults to the CDN
const SCRIPT_BUILD = typeof RINGS_WEB_SCRIPT_BUILD !== "undefined";
const IS_NODE = typeof process !== "undefined" && !!process.versions?.node && typeof window === "undefined";
const SIGNER_MODES = ["DEFAULT", "EIP191", "EdDSA", "BIP137"];

/** Every failure of a node call: `name` is the rings-web error type (e.g. `SignatureRejected`). */
export class RingsError extends Error {
  constructor(type, message, details = {}) {
    super(message);
    this.name = type;
    this.type = type;
    /** `family`: "LocalError" (ours), "RemoteError" (a peer's), "RingsError", or null (not a rings-web error). */
    this.details = details;
  }
}

/** Python settles every call into `{ok, value}` or `{ok: false, error: {name, message, details}}`. */
function unwrap({ ok, value, error }) {
  if (ok) return value;
  throw new RingsError(error.name, error.message, error.details);
}

/** `run()`'s settled result (at once, or a Promise of it) as a Promise of its value; a result
 * there at once (a send in the clear) takes no async function's extra turns. */
function settled(run) {
  try {
    const result = run();
    return typeof result.then === "function" ? result.then(unwrap) : Promise.resolve(unwrap(result));
  } catch (e) {
    return Promise.reject(e);
  }
}

const fail = (message) => { throw new RingsError("InvalidArgument", message, { family: "LocalError" }); };

/** Check the caller's options at the boundary, with exact messages (noble's manner). */
function checkOptions(o) {
  if (typeof o !== "object" || o === null) fail(`"options" expected an object, got ${o}`);
  if (!!o.ethereum === !!o.signer) fail('give exactly one of "ethereum" (an EIP-1193 provider) or "signer"');
  if (o.ethereum && typeof o.ethereum.request !== "function") fail('"ethereum" expected an EIP-1193 provider with request()');
  if (o.signer) {
    const s = o.signer;
    if (typeof s.sign !== "function") fail('"signer.sign" expected a function (text) => signature');
    if (!SIGNER_MODES.includes(s.mode ?? "EIP191")) fail(`"signer.mode" expected one of ${SIGNER_MODES.join(", ")}, got ${s.mode}`);
    if ((s.mode ?? "EIP191") === "EdDSA") {
      if (!(s.publicKey instanceof Uint8Array) || s.publicKey.length !== 32) fail('"signer.publicKey" expected Uint8Array of length 32 for EdDSA');
    } else if (typeof s.address !== "string" || !/^(0x)?[0-9a-fA-F]{40}$/.test(s.address)) {
      fail(`"signer.address" expected 40 hex digits, got ${s.address}`);
    }
  }
  if (o.iceServers !== undefined && !Array.isArray(o.iceServers)) fail('"iceServers" expected an array of RTCIceServer');
  if (o.iceTransportPolicy !== undefined && !["all", "relay"].includes(o.iceTransportPolicy)) {
    fail(`"iceTransportPolicy" expected "all" or "relay", got ${JSON.stringify(o.iceTransportPolicy)}`);
  }
  const interval = o.stabilizeInterval ?? 25_000;
  if (!Number.isInteger(interval) || interval < 100) fail(`"stabilizeInterval" expected milliseconds >= 100, got ${interval}`);
  if (o.storage !== undefined && !["indexeddb", "memory"].includes(o.storage)) fail(`"storage" expected "indexeddb" or "memory", got ${o.storage}`);
  if (o.indexURL !== undefined && typeof o.indexURL !== "string") fail('"indexURL" expected a string');
  if (o.snapshot !== undefined && typeof o.snapshot !== "boolean") fail('"snapshot" expected a boolean');
  if (o.validate !== undefined && typeof o.validate !== "function") fail('"validate" expected a function (payload) => boolean');
  if (o.requireEncryption !== undefined && typeof o.requireEncryption !== "boolean") fail('"requireEncryption" expected a boolean');
  if (o.persistSession !== undefined && typeof o.persistSession !== "boolean") fail('"persistSession" expected a boolean');
}

/** EIP-1193 request with errors that are always Error objects carrying `code`. */
function providerRequest(ethereum) {
  return async (method, params) => {
    try {
      return await ethereum.request({ method, params });
    } catch (e) {
      if (e instanceof Error) throw e;
      throw Object.assign(new Error(e?.message ?? String(e)), { code: e?.code });
    }
  };
}

async function signature(sign, text) {
  const sig = await sign(text);
  if (typeof sig === "string") return sig;
  if (sig instanceof Uint8Array) return sig;
  throw new RingsError("SignerError", `the signer returned ${typeof sig}, expected a hex string or Uint8Array`);
}

function walletOption(o) {
  if (o.ethereum) {
    return { kind: "eip1193", request: providerRequest(o.ethereum), account: o.account, chainId: o.chainId };
  }
  const s = o.signer;
  return { kind: "signer", mode: s.mode ?? "EIP191", address: s.address, publicKey: s.publicKey, sign: (text) => signature(s.sign, text) };
}

/** Pyodide's loader: the npm `pyodide` package, or `pyodide.mjs` under `indexURL`. */
async function pyodideLoader(o) {
  let indexURL = o.indexURL ?? (SCRIPT_BUILD ? CDN_INDEX_URL : undefined);
  let moduleURL;
  if (IS_NODE) {
    const { pathToFileURL } = await import("node:url");
    if (indexURL && !/^[a-z]+:/.test(indexURL)) moduleURL = pathToFileURL(indexURL + "pyodide.mjs").href;
  } else if (indexURL) {
    indexURL = new URL(indexURL, globalThis.location?.href).href;
  }
  moduleURL ??= indexURL && new URL("pyodide.mjs", indexURL).href;
  const { loadPyodide } = moduleURL ? await import(moduleURL) : await import("pyodide");
  return { loadPyodide, indexURL };
}

/**
 * Start a rings-web node in this page (or in Node, without WebRTC).
 * @param {object} options - see index.d.ts: `ethereum` or `signer`, `iceServers`, `stabilizeInterval`,
 *   `indexURL`, `snapshot`, `storage`, `storageName`, `persistSession`, `account`, `chainId`, `onProgress`.
 * @returns {Promise<RingsNode>}
 * @example
 * const node = await createNode({ ethereum: window.ethereum, iceServers: [{ urls: "stun:your-stun-server.example:3478" }] });
 * node.on("message", (m) => console.log(m.from, m.text));
 * await node.connectPeerViaHttp("http://127.0.0.1:50000/");
 */
export async function createNode(options = {}) {
  checkOptions(options);
  const listeners = new Map(); // event name → listeners; the names come from Python at boot
  const emit = (name, detail) => { for (const fn of listeners.get(name) ?? []) fn(detail); };
  // an event crosses from Python as its name, its keys (one JS array per kind of event, made once)
  // and its values: ~20 µs a received message, against ~60 µs for the converted dict (Pyodide in Node)
  emit.fields = (name, keys, ...values) => {
    const detail = {};
    for (let i = 0; i < keys.length; i++) detail[keys[i]] = values[i];
    emit(name, detail);
  };
  const progress = (p) => options.onProgress?.(p); // no node (and so no listener) before "ready"
  progress({ stage: "runtime", at: Date.now() });
  const dist = new URL(options.distURL ?? "../dist/", import.meta.url);
  const snapshot = options.snapshot ?? !IS_NODE;
  const useDb = (options.storage ?? (IS_NODE ? "memory" : "indexeddb")) === "indexeddb";
  // crypto (a wasm compile) and the VNode database open while Python starts
  const cryptoReady = cryptoFunctions({ dist });
  const database = useDb ? openVNodeDb(options.storageName ?? "rings-web") : Promise.resolve(null);
  database.catch(() => {}); // a failure surfaces where it is awaited, below
  // the kept session only saves a signature: where IndexedDB will not open, the wallet signs
  const sessions = (options.persistSession ?? true ? openSessionStore(options.storageName ?? "rings-web") : Promise.resolve(null))
    .catch(() => null);
  const { pyodide, warm, keepSnapshot } = await bootPyodide({ loader: pyodideLoader(options), dist, snapshot, version: PYODIDE_VERSION })
    .catch((e) => { throw new RingsError("LoadError", `Pyodide or the rings-web wheel failed to load: ${e?.message ?? e}`); });
  progress({ stage: "python", at: Date.now(), warm });
  pyodide.registerJsModule("rings_web_crypto", await cryptoReady);
  const vnodeDb = (await database) ?? undefined;
  const sessionDb = (await sessions) ?? undefined;
  const { node: py, address, events } = await settled(() => pyodide.pyimport("rings_web.browser").boot({
    wallet: walletOption(options), iceServers: options.iceServers ?? [],
    createTransport: (events, iceServers) => createTransport(events, iceServers, options.iceTransportPolicy ?? "all"),
    stabilizeInterval: options.stabilizeInterval ?? 25_000, vnodeDb, sessionDb, emit, progress,
    validate: options.validate ?? null, requireEncryption: options.requireEncryption ?? false,
  })).finally(keepSnapshot);
  for (const name of events) listeners.set(name, new Set());
  options.ethereum?.on?.("accountsChanged", (accounts) => py.invoke("accounts_changed", accounts));
  progress({ stage: "ready", at: Date.now() });
  return new RingsNode(py, address, listeners);
}

/**
 * RingsNode's methods (index.d.ts has their types and documentation): each calls the method of
 * the Python bridge (rings_web.browser.JsBridge) named here with the same arguments.
 */
const METHODS = {
  createOffer: "create_offer", answerOffer: "answer_offer", acceptAnswer: "accept_answer",
  connectPeerViaHttp: "connect_peer_via_http", connectWithAddress: "connect_with_address",
  sendMessage: "send_message", sendSimpleTextMessage: "send_simple_text_message", sendCustomMessage: "send_custom_message",
  sendRawBody: "send_raw_body", sendHttpRequest: "send_http_request",
  listPeers: "list_peers", getPeer: "get_peer", disconnect: "disconnect",
  storageStore: "storage_store", storageFetch: "storage_fetch",
  publishMessageToTopic: "publish_message_to_topic", fetchMessagesOfTopic: "fetch_messages_of_topic",
  registerService: "register_service", lookupService: "lookup_service",
  getNodeInfo: "node_info", decode: "decode", close: "close", logout: "logout",
};

/** A running node; every method returns a Promise and rejects with a RingsError. */
export class RingsNode {
  #py;
  #listeners;
  constructor(py, address, listeners) {
    this.#py = py;
    this.#listeners = listeners;
    /** This node's DID: the wallet address, `0x` + 40 lower-case hex digits. */
    this.address = address;
    /** Every event name `on` accepts (from Python: rings_web/api_events.py). */
    this.events = Object.freeze([...listeners.keys()]);
  }

  /** `method(...args)` of the Python bridge (rings_web.browser.JsBridge), settled. */
  #call(method, ...args) { return settled(() => this.#py.invoke(method, ...args)); }

  /** Listen for an event of index.d.ts `Events` (`message`, `peer:connect`…; the names come from Python). */
  on(name, fn) {
    if (!this.#listeners.has(name)) fail(`unknown event "${name}"; expected one of ${this.events.join(", ")}`);
    this.#listeners.get(name).add(fn);
    return this;
  }

  off(name, fn) {
    this.#listeners.get(name)?.delete(fn);
    return this;
  }

  static {
    for (const [name, method] of Object.entries(METHODS)) {
      Object.defineProperty(this.prototype, name, { value(...args) { return this.#call(method, ...args); }, writable: true, configurable: true });
    }
  }
}
