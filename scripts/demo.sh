#!/usr/bin/env bash
# The main job, for now: a node identity and a signed, encoded 0.2.5 message, decoded back.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh python >/dev/null
.venv/bin/rings-web demo "$@"
