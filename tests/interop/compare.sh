#!/usr/bin/env bash
# usage: compare.sh [--trust ROOTS.pem] PROV_BIN FILE...
# Compares prov's `verify --json` verdict with c2pa-rs's for each FILE; see README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -d "$here/node_modules/@contentauth/c2pa-wasm" ]; then
  echo "compare.sh: reader not installed; run: (cd $here && npm ci --no-audit --no-fund)" >&2
  exit 2
fi
exec node "$here/compare.mjs" "$@"
