#!/usr/bin/env bash
# One command for the whole suite: set-up, then every test (CPython, Pyodide in Node, the
# genuine 0.2.5 node in headless Chromium) inside a loopback-only network namespace.
set -euo pipefail
cd "$(dirname "$0")/.."
isolate=no
[ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null && isolate=yes
ci=${CI:-}
if [ $isolate = no ] && [[ ${ci,,} =~ ^(true|1|yes)$ ]]; then
  # under CI a skipped browser or interop test fails (tests/_ci.py): say why once, before set-up
  echo "error: CI=$CI, but not root or no unshare: the browser and interop tests cannot run (they need a loopback-only network)" >&2
  exit 1
fi
scripts/setup.sh
export HYPOTHESIS_PROFILE=${HYPOTHESIS_PROFILE:-ci}
# Debian's Chromium now and then loses a renderer ("Target crashed", about one full run in five):
# such a test runs once more, and the summary line counts it as a rerun; any other failure stands
PYTEST=(.venv/bin/pytest tests --runner playwright --runtime node,chrome --dist-dir build/pyodide-dist -p no:cacheprovider
  --reruns 1 --only-rerun "Target crashed" "$@")
if [ $isolate = yes ]; then
  # no route but 127.0.0.1: every WebRTC candidate and server in the tests stays on loopback
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "${PYTEST[@]}"
fi
echo "note: not root / no unshare: browser tests will skip (they only run on a loopback-only network)"
exec "${PYTEST[@]}"
