#!/usr/bin/env bash
# The registry's write path under load.
#  1. `prov registry serve` behind nginx (tools/nginx-run.sh) on loopback;
#     BENCH_CLIENTS (50) concurrent clients post fresh register entries
#     through nginx for BENCH_SECONDS (60) s (build/regload: libcurl multi,
#     one connection a client; the clients make and sign their entries as
#     they go, on the same machine).  Then: every acknowledged entry is in
#     the log exactly once at its index, and the log verifies.
#  2. The sequencer alone (regload seqbench, REG_SEQ_N entries, default
#     30000): appends of entries verified beforehand (what the server's
#     sequencer does) against reg_log_append (verification inside the
#     sequencer, the baseline), and the signature checks on all cores.
# Prints figures and ratios; never fails on timing (exit 1 only when a step
# breaks or an acknowledged entry is missing).
# usage: bash tests/bench/registry_serve.sh [BUILD]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
prov=$build/prov load=$build/regload
seconds=${BENCH_SECONDS:-60} clients=${BENCH_CLIENTS:-50} seqn=${REG_SEQ_N:-30000}
for f in "$prov" "$load"; do [ -x "$f" ] || { echo "registry bench: $f missing (make all $build/regload)" >&2; exit 1; }; done
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-regbench.XXXXXX")
spid=
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
  bash "$root/tools/nginx-run.sh" stop "$T/ngx" 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT
cd "$T"

echo "== registry write server: $clients clients for $seconds s through nginx"
"$prov" registry init reg --origin bench.example/registry --no-encrypt >/dev/null
"$prov" registry serve reg --listen 127.0.0.1:0 > serve.out 2> serve.err &
spid=$!
for _ in $(seq 100); do grep -q 127.0.0.1 serve.out 2>/dev/null && break; sleep 0.05; done
sp=$(sed -n 's/.*127\.0\.0\.1:\([0-9]*\).*/\1/p' serve.out)
[ -n "$sp" ] || { cat serve.err >&2; exit 1; }
np=
for _ in 1 2 3 4 5; do
  p=$((20000 + RANDOM % 40000))
  if bash "$root/tools/nginx-run.sh" start reg ngx "$p" "127.0.0.1:$sp" 4 2>/dev/null; then np=$p; break; fi
done
[ -n "$np" ] || { echo "registry bench: nginx did not start" >&2; exit 1; }
"$load" submit "http://127.0.0.1:$np" reg --clients "$clients" --seconds "$seconds" --out acc.txt | tee load.txt
kill -TERM "$spid"; wait "$spid" || { echo "registry bench: the server did not exit 0" >&2; exit 1; }
spid=
sed 's/^/  /' serve.err
"$load" check reg acc.txt
"$prov" registry verify reg | sed 's/^/  /'

echo "== the sequencer alone: $seqn register entries"
"$prov" registry init s1 --origin bench.example/seq --no-encrypt >/dev/null
cp -r s1 s2
"$load" seqbench s1 s2 "$seqn" 1000 | tee seq.txt
acc=$(sed -n 's/.*accepted (\([0-9]*\)\/s).*/\1/p' load.txt)
ver=$(sed -n 's/.*on [0-9]* threads: \([0-9]*\) entries.*/\1/p' seq.txt)
pre=$(sed -n 's/^ *batches of [0-9]*): \([0-9]*\) entries.*/\1/p' seq.txt)
base=$(sed -n 's/.*baseline): \([0-9]*\) entries.*/\1/p' seq.txt)
awk -v a="$acc" -v v="$ver" -v p="$pre" -v b="$base" 'BEGIN {
  printf "== summary\n";
  printf "  end to end through nginx: %d accepted/s = %.2f x the signature checks alone on all cores (%d/s)\n", a, a / v, v;
  printf "  sequencer, verified beforehand: %d entries/s = %.1f x the baseline (%d/s); target >= 20000/s\n", p, p / b, b }'
