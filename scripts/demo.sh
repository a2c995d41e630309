#!/usr/bin/env bash
# The main job: a local rings-web network on 127.0.0.1 — a native seed node, the demo page, and
# headless Chromium pages that join through the seed and greet each other (demo/run.mjs).
# Open the printed URL in a browser to join too. Ctrl-C stops it; --for SECONDS ends it by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
exec node demo/run.mjs "$@"
