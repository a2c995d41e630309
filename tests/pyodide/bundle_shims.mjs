// Prints {"name": ESM source} for the JS shims the in-Pyodide glue tests import as data: URLs,
// each bundled with its @noble imports (pytest-pyodide's browser page has no import map).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const JS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../js");
const out = {};
for (const name of ["testing", "crypto", "storage"]) {
  const result = await build({ entryPoints: [path.join(JS, `${name}.mjs`)], bundle: true, format: "esm", platform: "neutral",
    // a data: module has no base URL: crypto.mjs is always given its dist explicitly
    write: false, logLevel: "error", define: { "import.meta.url": '"http://127.0.0.1:9/js/bundled.mjs"' } });
  out[name] = result.outputFiles[0].text;
}
console.log(JSON.stringify(out));
