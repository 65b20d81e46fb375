#!/usr/bin/env bash
# Runs each cmocka test binary; they print cmocka's summary lines.
# Usage: run_unit.sh BUILD TEST_BIN...
set -u
build=$1; shift
export PROV_BIN=${PROV_BIN:-$build/prov}
# known leaks in third-party modules (tests/lsan.supp says which and why)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lsan.supp:print_suppressions=0}
fail=0
for t in "$@"; do
  echo "== $t"
  if ! "$t"; then echo "FAILED: $t"; fail=1; fi
done
exit $fail
