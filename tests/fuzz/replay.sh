#!/usr/bin/env bash
# Replays the fuzz corpora through the harnesses built without libFuzzer
# (make fuzz-replay builds BUILD/replay/fuzz_X from tests/fuzz/fuzz_X.c and
# replay_main.c).  Each harness runs over tests/fuzz/corpus/fuzz_X/ and,
# when present, tests/fuzz/regressions/fuzz_X/.  A harness fails when it
# exits non-zero (a crash, a sanitizer report, a timeout, an unreadable
# input) or has no corpus.
# Usage: replay.sh BUILD
set -u
if [ $# -ne 1 ]; then
  echo "usage: $0 BUILD" >&2
  exit 2
fi
build=$1
here=$(cd "$(dirname "$0")" && pwd)

passed=0
failed=0
found=0
for bin in "$build"/replay/fuzz_*; do
  [ -f "$bin" ] && [ -x "$bin" ] || continue
  name=$(basename "$bin")
  case $name in *.*) continue ;; esac # fuzz_X.o, fuzz_X.d and the like
  found=1
  dirs=()
  [ -d "$here/corpus/$name" ] && dirs+=("$here/corpus/$name")
  [ -d "$here/regressions/$name" ] && dirs+=("$here/regressions/$name")
  if [ ! -d "$here/corpus/$name" ]; then
    echo "FAILED $name: no corpus at tests/fuzz/corpus/$name/"
    failed=$((failed + 1))
    continue
  fi
  log=$("$bin" "${dirs[@]}" 2>&1)
  rc=$?
  summary=$(printf '%s\n' "$log" | tail -n 1)
  if [ $rc -eq 0 ]; then
    echo "ok     $name: $summary"
    passed=$((passed + 1))
  else
    echo "FAILED $name (exit $rc):"
    printf '%s\n' "$log" | tail -n 40 | sed 's/^/    /'
    failed=$((failed + 1))
  fi
done

if [ $found -eq 0 ]; then
  echo "no harnesses in $build/replay/ (run make fuzz-replay)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
