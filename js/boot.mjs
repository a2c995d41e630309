/**
 * @module Boot Pyodide with the rings-web wheel shipped in dist/ (named, with its sha256, by
 * dist/pyodide-lock.json; a .pyc beside each module) and the standard library as bytecode
 * (dist/python_stdlib.zip). Python imports from the wheel as a zip (zipimport): nothing is
 * unpacked. Cold: start Python, import the node's modules and save a memory snapshot
 * (js/storage.mjs openBootCache). Warm: restore the snapshot (~4x faster than a cold start) and
 * write the wheel again (the file system is not in the snapshot). The lock, the wheel, the
 * snapshot and Pyodide's loader are fetched side by side.
 */
import { openBootCache } from "./storage.mjs";

// Where the wheel is written and imported from: scripts/pyodide_compile.mjs names files under it
const WHEELS = "/lib/rings-web";
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

/** The lock's rings-web entry (the wheel's file name and sha256), with `stdlib`: the compiled standard library's. */
async function lockEntry(dist) {
  const lock = JSON.parse(new TextDecoder().decode(await readBytes(new URL("pyodide-lock.json", dist))));
  const entry = lock.packages?.["rings-web"];
  if (!entry) throw new Error(`${dist}pyodide-lock.json lists no rings-web`);
  return { ...entry, stdlib: lock.stdlib };
}

/** The wheel, checked against its sha256 in the lock (as Pyodide checks lock entries). */
async function wheelOf(dist, entry) {
  const wheel = await readBytes(new URL(entry.file_name, dist));
  if ((await sha256(wheel)) !== entry.sha256) throw new Error(`${entry.file_name} does not match the sha256 in pyodide-lock.json`);
  return wheel;
}

/** A User Timing mark `rings-web:<stage>` (bench/bench_boot.py reads them: where a boot's time went). */
const mark = (stage) => globalThis.performance?.mark?.(`rings-web:${stage}`);
const later = (fn) => (globalThis.requestIdleCallback ? requestIdleCallback(fn, { timeout: 2000 }) : setTimeout(fn, 0));

/** Pyodide's file options: the standard library from dist/ where the lock names it, as bytecode (no compiling at start). */
function pyodideFiles(dist, indexURL, stdlib) {
  const url = stdlib && new URL(stdlib.file_name, dist);
  return { ...(url ? { stdLibURL: url.protocol === "file:" ? decodeURIComponent(url.pathname) : url.href } : {}), ...(indexURL ? { indexURL } : {}) };
}

/**
 * @param {{loader: Promise<{loadPyodide: Function, indexURL?: string}>, dist: URL, snapshot: boolean, version: string}} o
 *   `loader`: Pyodide's loader, still being imported (the lock, the wheel and the snapshot are
 *   read meanwhile); `version`: the Pyodide version expected at `indexURL` (part of the snapshot's key).
 * @returns {Promise<{pyodide: object, warm: boolean, keepSnapshot: () => void}>} call `keepSnapshot`
 *   once the node has booted (or failed to): it stores a cold boot's snapshot when the page is idle.
 */
export async function bootPyodide({ loader, dist, snapshot, version }) {
  const entry = lockEntry(dist);
  const wheel = entry.then((e) => wheelOf(dist, e)); // fetched while Python starts
  wheel.catch(() => {}); // (awaited below)
  // a boot cache that will not open only costs the snapshot: this boot and the next are cold
  const [{ loadPyodide, indexURL }, lock, cache] = await Promise.all([loader, entry, snapshot ? openBootCache().catch(() => null) : null]);
  // a snapshot holds zipimport's tables of the wheel and of the standard library: both in its key
  const key = `${lock.name} ${lock.version} ${lock.sha256} on Pyodide ${version} from ${indexURL ?? "the pyodide package"}` +
    ` with ${lock.stdlib?.sha256}`;
  const saved = cache && (await cache.get(key).catch(() => undefined));
  const files = pyodideFiles(dist, indexURL, lock.stdlib);
  mark("start");
  let pyodide = saved && (await loadPyodide({ ...files, _loadSnapshot: saved }).catch(() => undefined));
  const warm = !!pyodide;
  pyodide ??= await loadPyodide({ ...files, _makeSnapshot: !!cache });
  mark("started");
  // imported as a zip, nothing unpacked (a warm boot's snapshot has it on sys.path already)
  const path = `${WHEELS}/${lock.file_name}`;
  pyodide.FS.mkdirTree(WHEELS);
  pyodide.FS.writeFile(path, await wheel);
  if (!warm) pyodide.runPython(`import sys; sys.path.insert(0, ${JSON.stringify(path)})`);
  mark("wheel");
  let keep = () => cache?.close();
  if (!warm && cache) {
    pyodide.runPython(SNAPSHOT_IMPORTS);
    mark("imported");
    const bytes = pyodide.makeMemorySnapshot();
    mark("snapshot");
    // stored when the page is idle after the boot: IndexedDB copies the ~30 MB on the page's
    // thread (120-280 ms measured). If it fails, or the page closes first, the next boot is cold.
    keep = () => later(() => cache.put(key, bytes).catch(() => {}).finally(() => cache.close()));
  }
  return { pyodide, warm, keepSnapshot: keep };
}
