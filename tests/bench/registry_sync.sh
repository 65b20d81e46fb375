#!/usr/bin/env bash
# Registry mirror benchmark: a cold `prov registry sync` of a big registry
# served by nginx on loopback into SQLite, an up-to-date re-sync, and key
# lookups per second from the mirror.  Baseline in the same run: `prov
# registry verify DIR` (the same signature and tile checks, from the folder,
# no HTTP and no SQLite).  Targets (issue 3): 1,000,000 entries in <= 60 s;
# >= 200,000 lookups/s.  Never fails on timing.
#
# usage: bash tests/bench/registry_sync.sh [BUILD]
# env:   REGISTRY_BENCH_SIZES  entry counts (default "100000 1000000")
# The generated registries are kept in BUILD/bench-registry-N (made once,
# by tests/bench/mkregistry.c: real signed entries written straight to
# tiles, no sequencer).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
prov=$build/prov
cd "$root"
[ -f "$prov" ] && [ -f "$build/libprov.a" ] || { echo "bench: run make first" >&2; exit 1; }
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { echo "registry bench skipped: no nginx (tools/install-deps.sh)"; exit 0; }
libs="$(pkg-config --libs libsodium libcrypto libjpeg libpng zlib 2>/dev/null || echo -lsodium -lcrypto -ljpeg -lpng -lz) -lm -lpthread -ldl"
mkdir -p "$build/bench"
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -o "$build/bench/mkregistry" tests/bench/mkregistry.c "$build/libprov.a" $libs
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -o "$build/bench/bench_lookup" tests/bench/bench_lookup.c "$build/libprov.a" $libs
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-regbench.XXXXXX")
chmod 755 "$T"
port=$((20000 + RANDOM % 30000))
cleanup() { bash tools/nginx-run.sh stop "$T/nginx" >/dev/null 2>&1 || true; rm -rf "$T"; }
trap cleanup EXIT
now() { date +%s.%N; }
cpu() { awk '{print $14 + $15 + $16 + $17}' /proc/$1/stat 2>/dev/null || echo 0; }
echo "== registry mirror benchmark ($(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
for n in ${REGISTRY_BENCH_SIZES:-100000 1000000}; do
  reg=$build/bench-registry-$n
  if [ ! -f "$reg/checkpoint" ]; then
    rm -rf "$reg"
    t0=$(now)
    "$build/bench/mkregistry" "$reg" "$n" >/dev/null
    printf 'generated %s entries in %.1f s (once; kept in %s)\n' "$n" "$(echo "$(now) - $t0" | bc)" "$reg"
  fi
  chmod -R a+rX "$reg"
  bash tools/nginx-run.sh stop "$T/nginx" >/dev/null 2>&1 || true
  bash tools/nginx-run.sh start "$reg" "$T/nginx" "$port"
  url=http://127.0.0.1:$port
  m=$build/bench/mirror-$n.sqlite # kept for bench_lookup runs
  rm -f "$m"*
  # cold sync; user+system CPU from bash's times
  TIMEFORMAT='%R %U %S'
  read -r wall usr sys < <( { time "$prov" registry sync "$url" --log-key "$reg/log.pub" --mirror "$m" -Q >/dev/null; } 2>&1 )
  read -r wall2 _ _ < <( { time "$prov" registry sync "$url" --mirror "$m" -Q >/dev/null; } 2>&1 )
  # the same cold sync, entries' signatures not re-verified; peak RSS of both from /usr/bin/time when present
  rm -f "$m.trust"*
  read -r twall tusr tsys < <( { time "$prov" registry sync "$url" --log-key "$reg/log.pub" --mirror "$m.trust" -Q --trust-log-signatures >/dev/null; } 2>&1 )
  rss=n/a; trss=n/a
  if [ -x /usr/bin/time ]; then
    rm -f "$m.rss"*
    rss=$(/usr/bin/time -f %M "$prov" registry sync "$url" --log-key "$reg/log.pub" --mirror "$m.rss" -Q 2>&1 >/dev/null | tail -1)
    rm -f "$m.rss"*
    trss=$(/usr/bin/time -f %M "$prov" registry sync "$url" --log-key "$reg/log.pub" --mirror "$m.rss" -Q --trust-log-signatures 2>&1 >/dev/null | tail -1)
    rm -f "$m.rss"*
    rss="$((rss / 1024)) MB"; trss="$((trss / 1024)) MB"
  fi
  rm -f "$m.trust"*
  read -r bwall busr bsys < <( { time "$prov" registry verify "$reg" >/dev/null; } 2>&1 )
  size=$(du -m "$m" | cut -f1)
  printf 'sync %s entries from nginx: %.1f s wall (%.1f s CPU), %.0f entries/s; mirror %s MB\n' \
    "$n" "$wall" "$(echo "$usr + $sys" | bc)" "$(echo "$n / $wall" | bc -l)" "$size"
  printf '  baseline prov registry verify DIR: %.1f s wall (%.1f s CPU); sync/baseline %.2f\n' \
    "$bwall" "$(echo "$busr + $bsys" | bc)" "$(echo "$wall / $bwall" | bc -l)"
  printf '  peak RSS of the cold sync: %s\n' "$rss"
  printf '  cold sync --trust-log-signatures: %.1f s wall (%.1f s CPU), %.0f entries/s; peak RSS %s\n' \
    "$twall" "$(echo "$tusr + $tsys" | bc)" "$(echo "$n / $twall" | bc -l)" "$trss"
  printf '  re-sync, up to date: %.3f s\n' "$wall2"
  if [ "$n" = 1000000 ]; then
    printf '  target <= 60 s: %s; with --trust-log-signatures: %s\n' "$(echo "$wall <= 60" | bc | sed 's/1/met/;s/0/NOT met (see CPU time and load)/')" \
      "$(echo "$twall <= 60" | bc | sed 's/1/met/;s/0/NOT met/')"
  fi
  for th in 1 2; do
    "$build/bench/bench_lookup" "$m" "$n" 3 "$th" | awk -v n="$n" '{printf "lookups from the %s-entry mirror, %d thread(s): %.0f/s wall, %.0f per CPU-second (target >= 200000/s)\n", n, $14, $8, $12}'
  done
done
