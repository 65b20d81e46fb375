#!/usr/bin/env bash
# Soft-binding benchmark (make bench): the PDQ fingerprint's cost at
# signing (a 24-megapixel JPEG, signed with and without it), lookup in a
# repository of 1,000,000 fingerprints (mean and p99 over 1000 queries),
# and the robustness table on the sample photos and ../shared's real ones.
# Prints figures; never fails on timing.
#
# usage: bash tests/bench/bench_pdq.sh [BUILD]
# env:   BENCH_RUNS (default 5), PDQ_RECORDS (1000000), PDQ_QUERIES (1000),
#        PDQ_PHOTOS (a folder of photos; default ../shared/data/detector/real)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cd "$root"
prov=$build/prov
lib=$build/libprov.a
runs=${BENCH_RUNS:-5}
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench-pdq.XXXXXX")
trap 'rm -rf "$T"' EXIT
PKGS="libsodium libcrypto libjpeg libpng zlib"
# shellcheck disable=SC2046,SC2086
cc -O2 -Iinclude -o "$T/bench_pdq" tests/bench/bench_pdq.c "$lib" $(pkg-config --libs $PKGS) -lm -lpthread
# shellcheck disable=SC2046,SC2086
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Ilib $(pkg-config --cflags $PKGS) -o "$T/pdq_robust" \
    tests/bench/pdq_robust.c "$lib" $(pkg-config --libs $PKGS) -lm -lpthread
# shellcheck disable=SC2046
cc -O2 $(pkg-config --cflags libjpeg) -o "$T/mkjpeg" tests/bench/mkjpeg.c $(pkg-config --libs libjpeg) -lm

echo "== soft binding: signing cost of the PDQ fingerprint (24-megapixel JPEG, best of $runs)"
"$T/mkjpeg" "$T/photo.jpg" 6000 4000 92 22
"$prov" ca init "$T/ca" --subject "Bench CA" --no-encrypt >/dev/null
"$prov" keygen -o "$T/k" --subject "Bench" --ca "$T/ca" --no-encrypt >/dev/null
best() { # best CMD... -> seconds
    local b=""
    for _ in $(seq "$runs"); do
        local a z
        a=$(date +%s%N)
        "$@" >/dev/null
        z=$(date +%s%N)
        local s=$(((z - a) / 1000))
        if [ -z "$b" ] || [ "$s" -lt "$b" ]; then b=$s; fi
    done
    awk -v u="$b" 'BEGIN { printf "%.4f", u / 1e6 }'
}
plain=$(best "$prov" sign "$T/photo.jpg" -o "$T/o1.jpg" --key "$T/k" --no-soft-binding)
soft=$(best "$prov" sign "$T/photo.jpg" -o "$T/o2.jpg" --key "$T/k")
pub=$(best "$prov" sign "$T/photo.jpg" -o "$T/o3.jpg" --key "$T/k" --publish "$T/repo")
printf '  sign --no-soft-binding   %8.4f s  (baseline)\n' "$plain"
printf '  sign (PDQ, default)      %8.4f s  %5.2fx  (+%.0f ms)\n' "$soft" "$(awk -v a="$soft" -v b="$plain" 'BEGIN{print a/b}')" \
    "$(awk -v a="$soft" -v b="$plain" 'BEGIN{print (a-b)*1000}')"
printf '  sign --publish           %8.4f s  %5.2fx\n' "$pub" "$(awk -v a="$pub" -v b="$plain" 'BEGIN{print a/b}')"

echo "== soft binding: lookup among ${PDQ_RECORDS:-1000000} fingerprints (target: < 10 ms)"
"$T/bench_pdq" "$T/big" "${PDQ_RECORDS:-1000000}" "${PDQ_QUERIES:-1000}"
# the whole command on a stripped copy: decode, nine crops hashed, one scan
"$T/mkjpeg" "$T/small.jpg" 1600 1200 85 22
v_plain=$(best "$prov" verify --json "$T/small.jpg")
v_mih=$(best "$prov" verify --json "$T/small.jpg" --registry "$T/big")
mv "$T/big/manifests/pdq.mih" "$T/pdq.mih.off" # the same without the sidecar: a scan
v_look=$(best "$prov" verify --json "$T/small.jpg" --registry "$T/big")
printf '  prov verify, unsigned 2 MP JPEG          %8.4f s  (baseline, no lookup)\n' "$v_plain"
printf '  prov verify --registry (1M, scan)        %8.4f s  %5.2fx\n' "$v_look" \
    "$(awk -v a="$v_look" -v b="$v_plain" 'BEGIN{print a/b}')"
printf '  prov verify --registry (1M, pdq.mih)     %8.4f s  %5.2fx\n' "$v_mih" \
    "$(awk -v a="$v_mih" -v b="$v_plain" 'BEGIN{print a/b}')"
rm -rf "$T/big"

echo "== soft binding: robustness (threshold 31; crops matched against the indexed crop variants: see the unit test)"
photos=${PDQ_PHOTOS:-$root/../shared/data/detector/real}
list=(samples/teapot.jpg samples/kodim01.png)
if [ -d "$photos" ]; then
    while IFS= read -r f; do list+=("$f"); done < <(find "$photos" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | sort)
fi
"$T/pdq_robust" -q "${list[@]}"
