"""Page load → node ready, the way a dApp's user sees it, beside the genuine 0.2.5 node.

The npm package (``npm pack``) is installed into a scratch project as a dApp would have it
(``node_modules/rings-web``, ``pyodide``, ``@noble``), and one page boots ``createNode`` through an
import map; ``python -m http.server`` serves it (a plain static server: no project code, no
cache headers).  Each run opens the page in headless Chromium with an EMPTY profile (cold: empty
HTTP cache, no memory snapshot), then reloads it in the same profile (warm).  The genuine
0.2.5 node (tests/interop/oracle/oracle.js: wasm ``init()`` + ``Client.new_client_with_storage``)
is booted the same way in the same run, its runs interleaved with ours.  Times are from
navigation start (``performance.now()``) to the node being ready.

Run inside a loopback-only namespace after scripts/setup.sh (dist/ built):
    unshare -n sh -c 'ip link set lo up && exec "$@"' sh .venv/bin/python bench/bench_boot.py [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import speed  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
KEY = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"  # a well-known test key
COLD_TARGET, WARM_TARGET = 3000, 800  # ms, issue 17 target 3

# what the page reports: ready time, boot stages and each resource's fetch window (ms from navigation start)
REPORT = """
  const resources = performance.getEntriesByType("resource").map((e) => ({
    name: e.name.split("/").pop(), start: e.startTime, end: e.responseEnd, bytes: e.transferSize }));
  for (const e of performance.getEntriesByType("mark")) marks[e.name.replace("rings-web:", "")] = e.startTime;
  window.boot = { ready, marks, resources };
"""
RINGS_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports": {"pyodide": "./node_modules/pyodide/pyodide.mjs",
  "@noble/curves/": "./node_modules/@noble/curves/", "@noble/hashes/": "./node_modules/@noble/hashes/"}}</script>
<script type="module">
import { createNode } from "rings-web-entry";
import { testWallet } from "rings-web-testing";
const marks = {};
try {
  window.node = await createNode({ ethereum: testWallet("%(key)s"), onProgress: (p) => {
    marks[p.stage] = performance.now(); if (p.stage === "python") marks.warm = p.warm; } });
  const ready = performance.now();
  %(report)s
} catch (e) { window.bootError = String(e?.stack ?? e); }
</script></head><body>rings-web</body></html>
""".replace("rings-web-entry", "./node_modules/rings-web/js/index.mjs").replace(
    "rings-web-testing", "./node_modules/rings-web/js/testing.mjs")
GENUINE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="importmap">{"imports": {
%(imports)s}}</script>
<script type="module">
const marks = {};
try {
  await import("./g/oracle.js");
  await window.oracle.ready;
  marks.wasm = performance.now();
  await window.oracle.start("%(key)s", "stun://127.0.0.1:3478", "bench", false);
  const ready = performance.now();
  %(report)s
} catch (e) { window.bootError = String(e?.stack ?? e); }
</script></head><body>genuine 0.2.5</body></html>
"""


def make_site(root: Path, repo: Path = REPO) -> None:
    """The dApp: ``npm pack`` of ``repo`` + ``npm install`` (offline, locked versions) + its page."""
    def npm(*args: str) -> str:
        return subprocess.run(["npm", *args], cwd=root, check=True, capture_output=True, text=True).stdout

    root.mkdir()
    packed = json.loads(subprocess.run(["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", str(root)],
                                       cwd=repo, check=True, capture_output=True, text=True).stdout)[0]
    lock = json.loads((REPO / "package-lock.json").read_text())["packages"]
    overrides = {k.split("node_modules/")[-1]: v["version"] for k, v in lock.items() if k and not v.get("dev")}
    (root / "package.json").write_text(json.dumps({"name": "dapp", "private": True, "type": "module",
                                                   "overrides": overrides}))
    npm("install", "--offline", "--no-audit", "--no-fund", "--loglevel=error", str(root / packed["filename"]))
    (root / "index.html").write_text(RINGS_PAGE % {"key": KEY, "report": REPORT})


def make_genuine(root: Path) -> None:
    """The genuine 0.2.5 node's page (tests/interop/oracle/oracle.js) beside its wasm."""
    g = root / "g"
    g.mkdir()
    nm = REPO / "node_modules"
    for name, src in {"oracle-noble-curves": nm / "oracle-noble-curves", "oracle-noble-hashes": nm / "oracle-noble-hashes",
                      "rings-node": nm / "@ringsnetwork" / "rings-node"}.items():
        (g / name).symlink_to(src)
    shutil.copy(REPO / "tests" / "interop" / "oracle" / "oracle.js", g / "oracle.js")
    # the map of tests/interop/genuine.mjs: oracle.js and noble 1.x import extension-less paths
    imports = {"@noble/curves/secp256k1": "./g/oracle-noble-curves/esm/secp256k1.js", "rings-node": "./g/rings-node/rings_node.js"}
    imports.update({f"@noble/hashes/{m}": f"./g/oracle-noble-hashes/esm/{m}.js"
                    for m in ("sha3", "sha256", "sha512", "hmac", "utils", "crypto", "blake2s")})
    (root / "genuine.html").write_text(GENUINE_PAGE % {"key": KEY, "report": REPORT, "imports": json.dumps(imports)[1:-1]})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(browser_type, url: str, profile: Path) -> tuple[dict, dict]:
    """Cold load in an empty profile, then a reload in the same profile: (cold, warm) reports."""
    ctx = browser_type.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True, args=FLAGS)
    try:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        out = []
        for step in (lambda: page.goto(url), page.reload):
            step()
            page.wait_for_function("window.boot || window.bootError", timeout=120_000, polling=20)
            error = page.evaluate("window.bootError")
            if error:
                raise RuntimeError(f"{url}: {error}")
            out.append(page.evaluate("window.boot"))
            time.sleep(1.0)  # let the cold load's background writes (the snapshot) finish
        return out[0], out[1]
    finally:
        ctx.close()


def rng(xs: list[float]) -> str:
    return f"{min(xs):.0f}–{max(xs):.0f} ms (median {statistics.median(xs):.0f})"


def breakdown(report: dict) -> str:
    """Where a rings-web boot's time went: stage marks and the big fetches' windows."""
    m = report["marks"]
    parts = [f"{k} {v:.0f}" for k, v in m.items() if k != "warm"]
    for r in report["resources"]:
        if r["end"] - r["start"] > 50 or r["bytes"] > 100_000:
            parts.append(f"{r['name']} {r['start']:.0f}→{r['end']:.0f}")
    return ", ".join(parts) + f", ready {report['ready']:.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare", metavar="CHECKOUT", type=Path,
                    help="another rings-web checkout with dist/ built (e.g. the commit before a change): its page too")
    ap.add_argument("--verbose", action="store_true", help="print each run's breakdown")
    args = ap.parse_args()
    for repo in (REPO, args.compare):
        if repo and not (repo / "dist" / "pyodide-lock.json").exists():
            sys.exit(f"{repo}/dist is not built: run scripts/setup.sh (or npm run build)")
    with tempfile.TemporaryDirectory(prefix="rings-web-boot-") as tmp:
        pages = {"rings-web": "site/index.html"}
        make_site(Path(tmp, "site"), REPO)
        if args.compare:
            make_site(Path(tmp, "compare"), args.compare.resolve())
            pages["compare"] = "compare/index.html"
        make_genuine(Path(tmp, "site"))
        pages["genuine"] = "site/genuine.html"
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", tmp,
                                   str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        got: dict[str, dict[str, list]] = {name: {"cold": [], "warm": []} for name in pages}
        try:
            time.sleep(0.5)
            with sync_playwright() as pw:
                for i in range(args.runs):
                    for name, path in pages.items():  # interleaved: load on the machine moves all alike
                        cold, warm = load(pw.chromium, f"http://127.0.0.1:{port}/{path}", Path(tmp, f"profile-{name}-{i}"))
                        got[name]["cold"].append(cold)
                        got[name]["warm"].append(warm)
                        print(f"run {i + 1} {name:<9} cold {cold['ready']:6.0f} ms  warm {warm['ready']:6.0f} ms", flush=True)
                        if args.verbose and name != "genuine":
                            print(f"    cold: {breakdown(cold)}\n    warm: {breakdown(warm)}", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=10)
    for kind, target in (("cold", COLD_TARGET), ("warm", WARM_TARGET)):
        for name in pages:
            if name != "genuine":
                print(f"{kind}: {name} {rng([r['ready'] for r in got[name][kind]])}")
        ours = statistics.median(r["ready"] for r in got["rings-web"][kind])
        if kind == "warm" and not all(r["marks"].get("warm") for r in got["rings-web"][kind]):
            print("warning: a warm load did not restore the memory snapshot", flush=True)
        print(f"{kind}: genuine {rng([r['ready'] for r in got['genuine'][kind]])}")
        speed(f"page load → node ready, {kind} (plain static server, {'empty profile' if kind == 'cold' else 'reload'})",
              ours, "ms", "genuine 0.2.5", statistics.median(r["ready"] for r in got["genuine"][kind]),
              f"≤ {target} ms", ours <= target)
    for kind in ("cold", "warm"):
        runs = sorted(got["rings-web"][kind], key=lambda r: r["ready"])
        print(f"median {kind} breakdown (ms from navigation start): {breakdown(runs[len(runs) // 2])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
