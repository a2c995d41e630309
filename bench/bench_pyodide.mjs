// Runs bench/bench_codec.py inside Pyodide 314 in Node, with the JS crypto shim registered.
// Usage: node bench/bench_pyodide.mjs [seconds]   (after scripts/setup.sh built build/pyodide-dist)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { registerCrypto } from "../js/crypto.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(ROOT, "build/pyodide-dist/");
const { loadPyodide } = await import(path.join(DIST, "pyodide.mjs"));
const t0 = performance.now();
const py = await loadPyodide({ indexURL: DIST, lockFileURL: path.join(DIST, "pyodide-lock.json") });
await py.loadPackage(["rings-web"], { messageCallback: () => {} });
console.log(`[pyodide] crypto: ${await registerCrypto(py)}`);
console.log(`[pyodide] boot + rings-web wheel: ${(performance.now() - t0).toFixed(0)} ms`);
py.FS.writeFile("/tmp/bench_codec.py", fs.readFileSync(path.join(ROOT, "bench/bench_codec.py")));
py.runPython(`import sys; sys.path.insert(0, "/tmp"); import bench_codec; bench_codec.main(["--seconds", "${process.argv[2] || "1"}"])`);
