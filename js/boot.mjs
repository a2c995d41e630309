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

/** A User Timing mark `rings-web:<stage>` (bench/bench_boot.py reads them: where a boot's time went). */
const mark = (stage) => globalThis.performance?.mark?.(`rings-web:${stage}`);

/** Pyodide's file options: its standard library from dist/, as bytecode (no compiling at start). */
function pyodideFiles(dist, indexURL) {
  const stdlib = new URL("python_stdlib.zip", dist);
  return { stdLibURL: stdlib.protocol === "file:" ? decodeURIComponent(stdlib.pathname) : stdlib.href, ...(indexURL ? { indexURL } : {}) };
}

/**
 * @param {{loader: Promise<{loadPyodide: Function, indexURL?: string}>, dist: URL, snapshot: boolean, version: string}} o
 *   `loader`: Pyodide's loader, still being imported (the lock, the wheel and the snapshot are
 *   read meanwhile); `version`: the Pyodide version expected at `indexURL` (part of the snapshot's key).
 * @returns {Promise<{pyodide: object, warm: boolean}>}
 */
export async function bootPyodide({ loader, dist, snapshot, version }) {
  const entry = lockEntry(dist);
  const wheel = entry.then((e) => wheelOf(dist, e)); // fetched while Python starts
  wheel.catch(() => {}); // (awaited below)
  // a boot cache that will not open only costs the snapshot: this boot and the next are cold
  const [{ loadPyodide, indexURL }, lock, cache] = await Promise.all([loader, entry, snapshot ? openBootCache().catch(() => null) : null]);
  const key = `${lock.name} ${lock.version} ${lock.sha256} on Pyodide ${version} from ${indexURL ?? "the pyodide package"}`;
  const saved = cache && (await cache.get(key).catch(() => undefined));
  const files = pyodideFiles(dist, indexURL);
  mark("start");
  let pyodide = saved && (await loadPyodide({ ...files, _loadSnapshot: saved }).catch(() => undefined));
  const warm = !!pyodide;
  pyodide ??= await loadPyodide({ ...files, _makeSnapshot: !!cache });
  mark("started");
  // a snapshot holds sys.path and zipimport's table of this same wheel (its sha256 is in the key)
  const path = `${WHEELS}/${lock.file_name}`;
  pyodide.FS.mkdirTree(WHEELS);
  pyodide.FS.writeFile(path, await wheel);
  if (!warm) pyodide.runPython(`import sys; sys.path.insert(0, ${JSON.stringify(path)})`);
  mark("wheel");
  if (!warm && cache) {
    pyodide.runPython(SNAPSHOT_IMPORTS);
    mark("imported");
    // written in the background (close() lets it finish); if it fails, the next boot is cold again
    cache.put(key, pyodide.makeMemorySnapshot()).catch(() => {});
    mark("snapshot");
  }
  cache?.close();
  return { pyodide, warm };
}
