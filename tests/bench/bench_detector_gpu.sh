#!/usr/bin/env bash
# Detector speed on a GPU: images per second at 256x256, batch 256, of the
# CUDA back end (libprov_cuda.so through libprov) and, where PyTorch sees
# the GPU, of PyTorch running the same weights on it (channels_last, fp32
# with TF32 and fp16), interleaved, best of BENCH_RUNS.  The target is
# 5,000 images/s on an H100.  On a machine without a GPU (or without the
# CUDA back end) it says so and exits 0.  Never fails on timing.
#
# usage: bash tests/bench/bench_detector_gpu.sh [BUILD]
# env:   BENCH_BATCH (256), BENCH_SECONDS (5), BENCH_RUNS (3), BENCH_WEIGHTS
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
caller_pwd=$PWD
build=${1:-build}
case $build in /*) ;; *) if [ -d "$caller_pwd/$build" ]; then build=$caller_pwd/$build; else build=$root/$build; fi ;; esac
batch=${BENCH_BATCH:-256}
secs=${BENCH_SECONDS:-5}
runs=${BENCH_RUNS:-3}
weights=${BENCH_WEIGHTS:-$root/tests/vectors/detector/npr_random_f16.provnpr}
cd "$root"
die() { echo "bench_detector_gpu: $*" >&2; exit 1; }
[ -f "$build/libprov.a" ] || die "$build/libprov.a missing: run make first"
if [ ! -f "$build/libprov_cuda.so" ]; then
    echo "detector GPU bench skipped: $build/libprov_cuda.so was not built (no nvcc)"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench-gpu.XXXXXX")
trap 'rm -rf "$T"' EXIT
# shellcheck disable=SC2046
cc -O2 -Iinclude -Idetector -o "$T/bench_detector" tests/bench/bench_detector.c "$build/libprov.a" \
    $(pkg-config --libs libsodium libcrypto libjpeg libpng zlib 2>/dev/null ||
      echo -lsodium -lcrypto -ljpeg -lpng -lz) -lm -lpthread -ldl ||
    die "could not build bench_detector"
export PROV_CUDA_LIB=$build/libprov_cuda.so
set +e
"$T/bench_detector" "$weights" 1 1 0 cuda >"$T/probe" 2>"$T/probe.err"
rc=$?
set -e
if [ $rc = 3 ]; then
    echo "detector GPU bench skipped: $(sed 's/^bench_detector: //' "$T/probe.err")"
    exit 0
fi
[ $rc = 0 ] || die "the CUDA bench failed: $(cat "$T/probe.err")"
have_torch=0
python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null && have_torch=1
echo "detector GPU speed: batch $batch x 256x256, $runs rounds of ${secs}s, best kept"
command -v nvidia-smi >/dev/null && echo "GPU: $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
: >"$T/all.jsonl"
for r in $(seq "$runs"); do
    "$T/bench_detector" "$weights" "$batch" 0 "$secs" cuda | tee -a "$T/all.jsonl" >/dev/null ||
        die "the CUDA bench failed"
    if [ $have_torch = 1 ]; then
        for m in cuda cuda_fp16; do
            python3 tests/bench/bench_detector.py "$weights" "$batch" 4 "$secs" "$m" >>"$T/all.jsonl" ||
                echo "bench_detector_gpu: PyTorch ($m) failed; its figure is left out" >&2
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
c = best["c-cuda"]["images_per_s"]
print("CUDA back end: %s" % best["c-cuda"].get("backend", "?"))
print("%-22s %10s %16s" % ("implementation", "images/s", "C CUDA / this"))
for k, d in sorted(best.items(), key=lambda kv: -kv[1]["images_per_s"]):
    ratio = "" if k == "c-cuda" else "%.2fx" % (c / d["images_per_s"])
    print("%-22s %10.1f %16s" % (k, d["images_per_s"], ratio))
print("C CUDA path: %.0f images/s (target >= 5000 on an H100)" % c)
PY
