/**
 * @module rings-web/shim: the JS half of rings-web for a plain Pyodide in which Python installed
 * the wheel itself (`micropip.install`). One call registers what the Python package imports:
 * `rings_web_crypto` (wasm crypto, or @noble where the wasm cannot load) and `rings_web_js`
 * (`createTransport`: WebRTC; `openVNodeDb`, `openSessionStore`: IndexedDB).
 * Call it before Python first uses rings_web's crypto (the backend is chosen once).
 */
import { registerCrypto } from "./crypto.mjs";
import { openSessionStore, openVNodeDb } from "./storage.mjs";
import { createTransport } from "./transport.mjs";

/**
 * @param {object} pyodide - a `loadPyodide()` instance.
 * @param {{dist?: string | URL, fast?: boolean}} [options] - where dist/fast-crypto.mjs is (default: this package's dist/).
 * @returns {Promise<string>} the crypto implementation registered.
 * @example
 * const pyodide = await loadPyodide();
 * await registerShim(pyodide);
 * await pyodide.loadPackage("micropip");
 * await pyodide.runPythonAsync(`import micropip; await micropip.install("https://example.org/rings_web-0.1.0-py3-none-any.whl")`);
 */
export async function registerShim(pyodide, options) {
  const implementation = await registerCrypto(pyodide, options);
  pyodide.registerJsModule("rings_web_js", { createTransport, openVNodeDb, openSessionStore });
  return implementation;
}
