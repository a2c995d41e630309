/** Register the JS modules rings-web's Python package imports (`rings_web_crypto`, `rings_web_js`) in a plain Pyodide;
 * resolves with the crypto implementation ("wasm …" or "@noble"). */
export declare function registerShim(pyodide: { registerJsModule(name: string, module: object): void },
  options?: { dist?: string | URL; fast?: boolean }): Promise<string>;
