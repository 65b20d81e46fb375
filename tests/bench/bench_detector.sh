#!/usr/bin/env bash
# Detector speed: images per second at 256x256 of the C path (libprov,
# im2col + OpenBLAS loaded at run time, its own threads) against PyTorch running the same
# model with the same weights on the same machine, measured in the same run.
# Never passes or fails on timing (exit 1 only when a step does not work).
#
# usage: bash tests/bench/bench_detector.sh [BUILD]    (default build)
# env:   BENCH_BATCH    images per call (default 32)
#        BENCH_THREADS  threads on both sides (default 2)
#        BENCH_SECONDS  seconds per timed run (default 10)
#        BENCH_RUNS     rounds, C and PyTorch interleaved; best kept (default 3)
#        BENCH_WEIGHTS  weights file (default the committed test vector:
#                       speed does not depend on the values)
#        BENCH_TORCH_MODES  eager, channels_last, frozen (default all three)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
caller_pwd=$PWD
build=${1:-build}
case $build in /*) ;; *) if [ -d "$caller_pwd/$build" ]; then build=$caller_pwd/$build; else build=$root/$build; fi ;; esac
batch=${BENCH_BATCH:-32}
threads=${BENCH_THREADS:-2}
secs=${BENCH_SECONDS:-10}
runs=${BENCH_RUNS:-3}
weights=${BENCH_WEIGHTS:-$root/tests/vectors/detector/npr_random_f16.provnpr}
modes=${BENCH_TORCH_MODES:-eager channels_last frozen}
cd "$root"
die() { echo "bench_detector: $*" >&2; exit 1; }
[ -f "$build/libprov.a" ] || die "$build/libprov.a missing: run make first"
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench-det.XXXXXX")
trap 'rm -rf "$T"' EXIT
# shellcheck disable=SC2046
cc -O2 -Iinclude -Idetector -o "$T/bench_detector" tests/bench/bench_detector.c "$build/libprov.a" \
    $(pkg-config --libs libsodium libcrypto libjpeg libpng zlib 2>/dev/null ||
      echo -lsodium -lcrypto -ljpeg -lpng -lz) -lm -lpthread ||
    die "could not build bench_detector"
have_torch=1
python3 -c 'import torch' 2>/dev/null || { have_torch=0; echo "bench_detector: no torch; PyTorch side skipped"; }

echo "detector speed: batch $batch x 256x256, $threads threads, $runs rounds of ${secs}s, best kept"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load $(cut -d' ' -f1-3 /proc/loadavg)"
: >"$T/all.jsonl"
for r in $(seq "$runs"); do
    "$T/bench_detector" "$weights" "$batch" "$threads" "$secs" | tee -a "$T/all.jsonl" >/dev/null ||
        die "the C bench failed"
    if [ $have_torch = 1 ]; then
        for m in $modes; do
            python3 tests/bench/bench_detector.py "$weights" "$batch" "$threads" "$secs" "$m" \
                >>"$T/all.jsonl" || die "the PyTorch bench failed ($m)"
        done
    fi
done
python3 - "$T/all.jsonl" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    d = json.loads(line)
    k = d["impl"]
    if k not in best or d["images_per_s"] > best[k]["images_per_s"]:
        best[k] = d
c = best["c"]["images_per_s"]
print("C backend: %s" % best["c"].get("backend", "?"))
print("%-22s %10s %16s" % ("implementation", "images/s", "C / this"))
for k, d in sorted(best.items(), key=lambda kv: -kv[1]["images_per_s"]):
    ratio = "" if k == "c" else "%.2fx" % (c / d["images_per_s"])
    print("%-22s %10.2f %16s" % (k, d["images_per_s"], ratio))
t = [d for k, d in best.items() if k != "c"]
if t:
    fastest = max(t, key=lambda d: d["images_per_s"])
    print("C path vs the fastest PyTorch (%s): %.2fx (target >= 1.0x)" % (fastest["impl"], c / fastest["images_per_s"]))
PY
