/**
 * @module Entry of the `<script>` build (dist/rings-web.js): `window.RingsWeb` is the package's
 * API, plus `testWallet` (js/testing.mjs) for demos and tests without a browser wallet.
 */
export * from "./index.mjs";
export { testWallet } from "./testing.mjs";
