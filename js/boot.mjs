/**
 * @module Boot Pyodide with the rings-web wheel shipped in dist/ (named, with its sha256, by
 * dist/pyodide-lock.json). Cold: start Python, unpack the checked wheel, import the node's
 * modules and save a memory snapshot (js/storage.mjs openBootCache). Warm: restore the snapshot
 * (~10x faster than a cold start) and unpack the wheel again (the file system is not in it).
 */
import { openBootCache } from "./storage.mjs";

// Pure-Python modules only: a snapshot may hold no reference to a JS object (Pyodide's rule)
const SNAPSHOT_IMPORTS = "import rings_web.client, rings_web.dissect, rings_web.engine.core, rings_web.session.signers";

async function readBytes(url) {
  if (url.protocol === "file:") {
    const { readFile } = await import("node:fs/promises");
    return new Uint8Array(await readFile(url));
  }
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url} → ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The lock's rings-web entry: the wheel's file name and sha256. */
async function lockEntry(dist) {
  const lock = JSON.parse(new TextDecoder().decode(await readBytes(new URL("pyodide-lock.json", dist))));
  const entry = lock.packages?.["rings-web"];
  if (!entry) throw new Error(`${dist}pyodide-lock.json lists no rings-web`);
  return entry;
}

/** The wheel, checked against its sha256 in the lock (as Pyodide checks lock entries). */
async function wheelOf(dist, entry) {
  const wheel = await readBytes(new URL(entry.file_name, dist));
  if ((await sha256(wheel)) !== entry.sha256) throw new Error(`${entry.file_name} does not match the sha256 in pyodide-lock.json`);
  return wheel;
}

/**
 * @param {{loadPyodide: Function, indexURL?: string, dist: URL, snapshot: boolean, version: string}} o
 *   `version`: the Pyodide version expected at `indexURL` (part of the snapshot's key).
 * @returns {Promise<{pyodide: object, warm: boolean}>}
 */
export async function bootPyodide({ loadPyodide, indexURL, dist, snapshot, version }) {
  const base = indexURL ? { indexURL } : {};
  const [entry, cache] = await Promise.all([lockEntry(dist), snapshot ? openBootCache() : null]);
  const wheel = wheelOf(dist, entry); // fetched while Python starts
  wheel.catch(() => {}); // (awaited below)
  const key = `${entry.name} ${entry.version} ${entry.sha256} on Pyodide ${version} from ${indexURL ?? "the pyodide package"}`;
  const saved = cache && (await cache.get(key).catch(() => undefined));
  let pyodide = saved && (await loadPyodide({ ...base, _loadSnapshot: saved }).catch(() => undefined));
  const warm = !!pyodide;
  pyodide ??= await loadPyodide({ ...base, _makeSnapshot: !!cache });
  pyodide.unpackArchive(await wheel, "wheel");
  if (!warm && cache) {
    pyodide.runPython(SNAPSHOT_IMPORTS);
    // written in the background (close() lets it finish); if it fails, the next boot is cold again
    cache.put(key, pyodide.makeMemorySnapshot()).catch(() => {});
  }
  cache?.close();
  return { pyodide, warm };
}
