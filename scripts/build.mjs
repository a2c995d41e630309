// `npm run build`: what the npm package ships in dist/ — the rings-web wheel with its own
// pyodide-lock.json (scripts/build_pyodide_dist.py --package) and the <script> build
// dist/rings-web.js (one file exposing window.RingsWeb; Pyodide itself is loaded from
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
console.log(`dist/rings-web.js ${(bytes / 1024).toFixed(0)} KB, dist/ wheel + pyodide-lock.json`);
