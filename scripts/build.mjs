// `npm run build`: what the npm package ships in dist/ — the rings-web wheel with its own
// pyodide-lock.json (scripts/build_pyodide_dist.py --package), the wasm crypto primitives
// (dist/fast-crypto.mjs + secp256k1.wasm: libsecp256k1 from tiny-secp256k1), and the <script>
// build dist/rings-web.js (one file exposing window.RingsWeb; Pyodide itself is loaded from
// `indexURL`, a CDN by default).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const venv = path.join(ROOT, ".venv", "bin", "python");
const python = process.env.PYTHON ?? (fs.existsSync(venv) ? venv : "python3");
execFileSync(python, [path.join(ROOT, "scripts", "build_pyodide_dist.py"), "--package"], { stdio: ["ignore", "ignore", "inherit"] });

// dist/fast-crypto.mjs: tiny-secp256k1's own JS with its wasm loaded beside the bundle
const tinyLib = path.join(ROOT, "node_modules", "tiny-secp256k1", "lib");
fs.copyFileSync(path.join(tinyLib, "secp256k1.wasm"), path.join(ROOT, "dist", "secp256k1.wasm"));
// dist/libsecp256k1.wasm: libsecp256k1's recovery and signing (scripts/fast-crypto/libsecp256k1.c),
// 3x and 1.7x tiny-secp256k1's, where clang and the source scripts/setup.sh unpacks are here
const secpSource = path.join(ROOT, "build", "libsecp256k1");
const secpWasm = path.join(ROOT, "dist", "libsecp256k1.wasm");
fs.rmSync(secpWasm, { force: true });
try {
  execFileSync("clang", ["--target=wasm32", "-O3", "-nostdlib", "-ffreestanding", "-Wl,--no-entry", "-Wl,--strip-all",
    "-Wl,-z,stack-size=1048576", "-Wl,--stack-first", "-w", "-I", path.join(ROOT, "scripts", "fast-crypto", "include"), "-I", secpSource,
    "-I", path.join(secpSource, "src"), "-I", path.join(secpSource, "include"), "-o", secpWasm,
    path.join(ROOT, "scripts", "fast-crypto", "libsecp256k1.c")], { stdio: ["ignore", "ignore", "pipe"] });
} catch (e) {
  console.warn(`dist/libsecp256k1.wasm not built (${String(e.stderr ?? e.message).split("\n")[0].slice(0, 120)}): tiny-secp256k1 recovers and signs`);
}
const loader = {
  name: "tiny-secp256k1-loader",
  setup(b) {
    b.onResolve({ filter: /^\.\/wasm_loader\.js$/ }, (a) => a.importer.startsWith(tinyLib)
      ? { path: path.join(ROOT, "scripts", "fast-crypto", "wasm_loader.mjs") } : undefined);
    b.onResolve({ filter: /^tiny-secp256k1-lib\// }, (a) => ({ path: path.join(tinyLib, a.path.split("/")[1]) }));
  },
};
await build({
  entryPoints: [path.join(ROOT, "scripts", "fast-crypto", "entry.mjs")],
  outfile: path.join(ROOT, "dist", "fast-crypto.mjs"),
  bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], target: "es2022", minify: true,
  plugins: [loader],
  external: ["node:*"], legalComments: "eof",
});

const result = await build({
  entryPoints: [path.join(ROOT, "js", "script.mjs")],
  outfile: path.join(ROOT, "dist", "rings-web.js"),
  bundle: true, format: "iife", globalName: "RingsWeb", platform: "browser", target: "es2022", minify: true,
  external: ["pyodide", "node:*"], // Pyodide comes from indexURL; node:* only runs in Node
  // the script's own URL stands in for import.meta.url: dist/ (wheel + lock) sits beside it
  banner: { js: "var __ringsWebScriptURL = typeof document !== 'undefined' && document.currentScript ? document.currentScript.src : '';" },
  define: { "import.meta.url": "__ringsWebScriptURL", RINGS_WEB_SCRIPT_BUILD: "true" },
  legalComments: "eof", metafile: true,
});
const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs)[0]].bytes;
const size = (f) => `${(fs.statSync(path.join(ROOT, "dist", f)).size / 1024).toFixed(0)} KB`;
console.log(`dist/: rings-web.js ${(bytes / 1024).toFixed(0)} KB, fast-crypto.mjs ${size("fast-crypto.mjs")} + secp256k1.wasm ` +
  `${size("secp256k1.wasm")}${fs.existsSync(secpWasm) ? ` + libsecp256k1.wasm ${size("libsecp256k1.wasm")}` : ""}, the wheel + pyodide-lock.json`);
