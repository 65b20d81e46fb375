#!/usr/bin/env bash
# The detector's accuracy on held-out sources (detector/train/heldout.tsv),
# through libprov as `prov scan` scores: AUC, TPR at the default threshold
# and FPR on real photos, with 95% bootstrap intervals, as the files are
# and after the same JPEG re-encoding of every image (tests/bench/
# detector_eval.c).  Then the share of other real photos flagged: the
# samples the demo and the page show, and photographs shipped in Debian
# packages where installed (opencv-doc, python3-skimage; the list is
# tests/bench/detector_real_photos.tsv).
#
# usage: bash tests/bench/detector_eval.sh [BUILD]
# env:   DETECTOR_WEIGHTS  weights (default detector/model/npr.provnpr)
#        DETECTOR_DATA     data roots with a MANIFEST.tsv, space separated
#                          (default ../shared/data/detector, and ../detdata
#                          when detector/train/gather.py has filled it)
#        DETECTOR_BOOT     bootstrap resamples (2000)
# Measures; never fails on the figures (exit 1 only when a step breaks).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
caller_pwd=$PWD
build=${1:-build}
case $build in /*) ;; *) if [ -d "$caller_pwd/$build" ]; then build=$caller_pwd/$build; else build=$root/$build; fi ;; esac
weights=${DETECTOR_WEIGHTS:-$root/detector/model/npr.provnpr}
boot=${DETECTOR_BOOT:-2000}
default_data="$root/../shared/data/detector"
[ -f "$root/../detdata/MANIFEST.tsv" ] && default_data="$default_data $root/../detdata"
data=${DETECTOR_DATA:-$default_data}
cd "$root"
die() { echo "detector_eval: $*" >&2; exit 1; }
[ -f "$build/libprov.a" ] || die "$build/libprov.a missing: run make first"
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-det-eval.XXXXXX")
trap 'rm -rf "$T"' EXIT
# shellcheck disable=SC2046
cc -O2 -Iinclude -Ilib -o "$T/detector_eval" tests/bench/detector_eval.c "$build/libprov.a" \
    $(pkg-config --libs libsodium libcrypto libjpeg libpng zlib 2>/dev/null ||
      echo -lsodium -lcrypto -ljpeg -lpng -lz) -lm -lpthread -ldl ||
    die "could not build detector_eval"
# held-out rows of each manifest: PATH, LABEL, SOURCE (source as data.py
# names it: a real file's folder, a fake's generator, flux-* as "flux")
for d in $data; do
    [ -f "$d/MANIFEST.tsv" ] || die "$d/MANIFEST.tsv missing"
    awk -F'\t' -v root="$d" '
        FNR == NR { if ($0 !~ /^#/ && NF == 2) { if ($1 == "exclude") skip[$2] = 1; else held[$1 "\t" $2] = 1 }; next }
        FNR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        {
            cls = $col["class"]; path = $col["path"]
            if (cls == "real") { split(path, p, "/"); src = p[2] } else { src = $col["generator"]; if (src ~ /^flux-/) src = "flux" }
            f = root "/" path
            if (!((cls "\t" src) in held) || (path in skip)) next
            if (system("test -f \"" f "\"") != 0) { if (system("test -f \"" f ".webp\"") == 0) next; print "missing: " f > "/dev/stderr"; next }
            print f "\t" (cls == "fake" ? 1 : 0) "\t" src
        }' detector/train/heldout.tsv "$d/MANIFEST.tsv"
done >"$T/list.tsv"
[ -s "$T/list.tsv" ] || die "no held-out images found in: $data"
echo "== detector accuracy on held-out sources ($(basename "$weights"))"
"$T/detector_eval" "$weights" "$T/list.tsv" --boot "$boot" ${DETECTOR_LOGITS:+--logits "$DETECTOR_LOGITS"}
# other real photographs: none should be flagged
: >"$T/other.tsv"
for f in samples/*.jpg samples/*.png; do [ -f "$f" ] && printf '%s\t0\tprov-samples\n' "$f" >>"$T/other.tsv"; done
grep -v '^#' tests/bench/detector_real_photos.tsv | while IFS=$'\t' read -r src f; do
    if [ -f "$f" ]; then printf '%s\t0\t%s\n' "$f" "$src"; fi # (a missing last file must not end the loop in failure)
done >>"$T/other.tsv"
echo
echo "== other real photographs (the demo's samples; Debian packages' photographs where installed)"
[ "$(wc -l <"$T/other.tsv")" -gt 3 ] ||
    echo "   (Debian's photographs are not installed: apt-get install opencv-doc python3-skimage)"
"$T/detector_eval" "$weights" "$T/other.tsv" --boot 200 | sed -n '/^Per source/,$p'
