#!/usr/bin/env bash
# Installs everything rings-web's tests and demo need on a fresh Debian machine (idempotent):
# Debian Chromium, a Python venv with the package and test tools, npm packages (Pyodide,
# @noble, the genuine 0.2.5 node for interop), and the offline Pyodide dist.
set -euo pipefail
cd "$(dirname "$0")/.."
want_browser=${1:-all}   # "python" = only what the CLI demo needs

if [ "$want_browser" != python ]; then
  missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v node >/dev/null || missing+=(nodejs npm)
  command -v unshare >/dev/null || missing+=(util-linux)
  command -v ip >/dev/null || missing+=(iproute2)
  [ -x /usr/sbin/iptables ] || missing+=(iptables)       # the NAT lab (tests/natlab)
  command -v turnserver >/dev/null || missing+=(coturn)   # its STUN/TURN server, run by the lab only
  command -v wasm-ld >/dev/null || missing+=(clang lld)   # libsecp256k1's recovery and signing for wasm (scripts/build.mjs)
  if [ ${#missing[@]} -gt 0 ]; then
    echo "== apt-get install ${missing[*]}"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    # a policy-rc.d that exits 101 keeps coturn's service from starting on this host; the old one is put back
    policy=/usr/sbin/policy-rc.d
    $SUDO sh -c "[ ! -e $policy ] || mv $policy $policy.rings-web; printf '#!/bin/sh\nexit 101\n' > $policy; chmod 755 $policy"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || failed=1
    $SUDO sh -c "rm $policy; [ ! -e $policy.rings-web ] || mv $policy.rings-web $policy"
    [ -z "${failed:-}" ] || { echo "apt-get install ${missing[*]} failed"; exit 1; }
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "== python venv"
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v WARNING || true
echo "== pip install -e .[test]"
.venv/bin/python -m pip install -q --disable-pip-version-check -e ".[test]" 2>&1 | grep -v -i warning || true

if [ "$want_browser" != python ]; then
  echo "== npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  if [ ! -f build/libsecp256k1/src/secp256k1.c ]; then
    echo "== libsecp256k1 source (the secp256k1 0.14.0 sdist's copy; scripts/build.mjs builds its recovery and signing)"
    sdist=$(mktemp -d)
    .venv/bin/python -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: secp256k1==0.14.0 -d "$sdist"
    echo "82c06712d69ef945220c8b53c1a0d424c2ff6a1f64aee609030df79ad8383397  $sdist/secp256k1-0.14.0.tar.gz" | sha256sum -c --quiet
    mkdir -p build && rm -rf build/libsecp256k1
    tar -xzf "$sdist/secp256k1-0.14.0.tar.gz" -C "$sdist" && mv "$sdist/secp256k1-0.14.0/libsecp256k1" build/libsecp256k1
    rm -rf "$sdist"
  fi
  echo "== npm run build (the package's dist/: wheel, lock, wasm crypto, <script> build)"
  node scripts/build.mjs
  echo "== offline Pyodide dist for the tests"
  .venv/bin/python scripts/build_pyodide_dist.py | tail -1
  # tests/js/package.test.mjs installs the packed package offline (inside the namespace), its
  # runtime dependencies pinned to the lock's versions: put exactly those (and the lock's
  # TypeScript) into the npm cache now, metadata and tarballs
  npm cache add --loglevel=error $(node -e 'const l = require("./package-lock.json").packages;
    console.log(Object.entries(l).filter(([k, v]) => k && (!v.dev || k === "node_modules/typescript"))
      .map(([k, v]) => k.split("node_modules/").pop() + "@" + v.version).join(" "))')
fi
