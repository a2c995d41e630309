/**
 * @module VNode persistence for rings-web in the browser: one IndexedDB database with the
 * object stores `owned` and `replicas` (key: DID text, value: bincode VirtualNode bytes).
 * Python (rings_web.browser.storage) keeps the working copy in memory and mirrors each change.
 */

const STORES = ["owned", "replicas"];

const request = (req) => new Promise((resolve, reject) => {
  req.onsuccess = () => resolve(req.result);
  req.onerror = () => reject(req.error);
});

const completed = (tx) => new Promise((resolve, reject) => {
  tx.oncomplete = () => resolve();
  tx.onerror = tx.onabort = () => reject(tx.error || new Error("IndexedDB transaction aborted"));
});

/**
 * Open (or create) the VNode database; `null` where IndexedDB does not exist (Node: memory).
 * @param {string} name - database name; one per node identity keeps nodes apart.
 * @example const db = await openVNodeDb("rings-web-0x11e8…"); await db.load("owned");
 */
export async function openVNodeDb(name) {
  if (typeof indexedDB === "undefined") return null;
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => { for (const s of STORES) open.result.createObjectStore(s); };
  const db = await request(open);
  // readwrite transactions on one store run in the order they were created, so waiting for
  // the newest waits for all; the first failure is kept for flush()
  let last = Promise.resolve();
  let failure = null;
  const write = (store, change) => {
    const tx = db.transaction(store, "readwrite");
    change(tx.objectStore(store));
    last = completed(tx).catch((e) => { failure ??= e; });
  };
  return {
    /** Every `[key, Uint8Array]` row of `store`. */
    async load(store) {
      const tx = db.transaction(store, "readonly");
      const [keys, values] = await Promise.all([request(tx.objectStore(store).getAllKeys()), request(tx.objectStore(store).getAll())]);
      return keys.map((k, i) => [k, new Uint8Array(values[i])]);
    },
    put(store, key, bytes) { write(store, (s) => s.put(bytes.slice(), key)); },
    delete(store, key) { write(store, (s) => s.delete(key)); },
    /** Resolves when every change so far is on disk; rejects with the first failed one. */
    async flush() {
      await last;
      if (failure) { const e = failure; failure = null; throw e; }
    },
    close() { db.close(); },
  };
}

/**
 * The boot cache: one Pyodide memory snapshot (Python with rings-web imported) per version
 * key, so a warm page load skips interpreter start-up and imports; `null` without IndexedDB.
 * @example const cache = await openBootCache(); await cache.get(key) ?? cache.put(key, bytes);
 */
export async function openBootCache(name = "rings-web-boot") {
  if (typeof indexedDB === "undefined") return null;
  const open = indexedDB.open(name, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("snapshots");
  const db = await request(open);
  return {
    async get(key) {
      const value = await request(db.transaction("snapshots", "readonly").objectStore("snapshots").get(key));
      return value instanceof Uint8Array ? value : undefined;
    },
    /** Keep only this key's snapshot (older versions are dropped). */
    async put(key, bytes) {
      const tx = db.transaction("snapshots", "readwrite");
      tx.objectStore("snapshots").clear();
      tx.objectStore("snapshots").put(bytes, key);
      await completed(tx);
    },
    close() { db.close(); },
  };
}

/**
 * The kept session of a node (`persistSession`): one record per node name in the database
 * `rings-web-sessions` — the wallet's signed delegation (bincode), the session key's secret (an
 * ephemeral key, never the wallet's), the account, the chain asked for and the expiry (ms).
 * Python (rings_web.browser.bridge) checks a record before using it. `null` without IndexedDB.
 * @param {string} name - the node's storage name: nodes of one origin keep separate sessions.
 * @example const kept = await openSessionStore("rings-web"); const record = await kept.get();
 */
export async function openSessionStore(name, dbName = "rings-web-sessions") {
  if (typeof indexedDB === "undefined") return null;
  const open = indexedDB.open(dbName, 1);
  open.onupgradeneeded = () => open.result.createObjectStore("sessions");
  const db = await request(open);
  const change = async (run) => {
    const tx = db.transaction("sessions", "readwrite");
    run(tx.objectStore("sessions"));
    await completed(tx);
  };
  const store = {
    /** The record, or undefined; an expired one is deleted rather than returned. */
    async get() {
      const record = await request(db.transaction("sessions", "readonly").objectStore("sessions").get(name));
      if (record && record.expires != null && record.expires <= Date.now()) { await store.delete(); return undefined; }
      return record;
    },
    put: (record) => change((s) => s.put(record, name)),
    delete: () => change((s) => s.delete(name)),
    close() { db.close(); },
  };
  return store;
}
