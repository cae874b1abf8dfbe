#!/usr/bin/env bash
# scripts/setup.sh - installs what a fresh Debian 12 machine lacks to build
# and test rebatch (Emscripten, a C toolchain, Node.js and npm, the npm
# dependencies). Idempotent; run as root on a fresh machine. Used by the
# README's commands and by CI.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DEBIAN_FRONTEND=noninteractive

need=()
command -v emcc >/dev/null || need+=(emscripten)
command -v gcc >/dev/null && command -v make >/dev/null || need+=(build-essential)
command -v dpkg-source >/dev/null || need+=(dpkg-dev) # Debian-patched cJSON
command -v clang >/dev/null || need+=(clang) # the libFuzzer target (make fuzz)
dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || need+=(libclang-rt-14-dev) # libFuzzer's runtime
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
[[ -x /usr/bin/chromium ]] || need+=(chromium) # the simulation page's browser tests
command -v curl >/dev/null || need+=(curl) # the README walk-through's test pastes its curl commands
# PostgreSQL: the server for the tests' throwaway clusters (no service is
# used), libpq-dev for the libpq addon the PostgreSQL store is built on
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need+=(postgresql)
command -v pg_config >/dev/null || need+=(libpq-dev)

if [[ ${#need[@]} -gt 0 ]]; then
  if [[ "$(id -u)" != 0 ]]; then
    echo ".ci/run: missing ${need[*]} and not root" >&2
    exit 1
  fi
  echo ".ci/run: installing ${need[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null
fi

node --version
npm --version
emcc --version 2>/dev/null | head -n1 || true

# Dependencies from the lockfile. npm ci deletes and reinstalls node_modules
# (minutes: better-sqlite3 compiles), so it is skipped when the tree was
# installed by this script from the same lockfile with the same Node.js: the
# stamp inside node_modules records both. A fresh clone has no stamp.
stamp=node_modules/.rebatch-setup-stamp
want="$(sha256sum package-lock.json | cut -d' ' -f1) node $(node --version)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "setup: node_modules matches package-lock.json; npm ci skipped"
else
  npm ci --no-audit --no-fund </dev/null
  printf '%s\n' "$want" >"$stamp"
fi
