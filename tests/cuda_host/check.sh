#!/usr/bin/env bash
# The CUDA back end's code run on the host: detector/cuda/npr_cuda.cu is
# rewritten for a shim of the CUDA runtime and cuBLAS (shim.h: kernels run
# thread after thread, cublasGemmEx by its column-major definition), built
# with g++ against libprov.a, and scored on crops of three sizes against
# the CPU path (harness.cpp; 1e-3).  It checks the CUDA path's indexing,
# layouts, GEMM transposes, grouping and chunking on machines without a GPU
# (CI); the GPU itself is checked by test_detector_device where there is one.
# usage: bash tests/cuda_host/check.sh [BUILD]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cd "$root"
out=$build/cuda_host
mkdir -p "$out"
# kernel<<<grid, block, 0, s->st>>>(args); -> shim_launch(grid, block, [&] { kernel(args); });
perl -0777 -pe '
    s/#include <cublas_v2.h>\n/#include "shim.h"\n/;
    s/#include <cuda_runtime.h>\n//;
    s{(\w+(?:<\d+>)?)<<<(.*?), ([^,]+?), 0, s->st>>>\((.*?)\);}{
        ($1 eq "k_pool_fc" ? "shim_launch_sync" : "shim_launch") . "($2, $3, [&] { $1($4); });"}gse;
' detector/cuda/npr_cuda.cu >"$out/npr_host.cpp"
if grep -q '<<<' "$out/npr_host.cpp"; then echo "cuda_host: a kernel launch was not rewritten" >&2; exit 1; fi
# shellcheck disable=SC2046
g++ -std=c++20 -O2 -Idetector -Iinclude -Itests/cuda_host -o "$out/harness" tests/cuda_host/harness.cpp \
    "$out/npr_host.cpp" "$build/libprov.a" \
    $(pkg-config --libs libsodium libcrypto libjpeg libpng zlib 2>/dev/null ||
      echo -lsodium -lcrypto -ljpeg -lpng -lz) -lm -lpthread
echo "== CUDA back end on the host shim (chunks of 2 crops, then all at once)"
PROV_CUDA_BATCH=2 "$out/harness" | tail -1
"$out/harness"
