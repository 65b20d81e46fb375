#!/usr/bin/env bash
# make bench, formats part: prov verify on a large file of each format that
# lib/riff.c, gif.c, id3.c and tiff.c read (WAV, AVI, WebP, GIF, MP3, FLAC,
# TIFF),
# against openssl dgst -sha256 on the same file in the same run; and the
# peak memory of verify on a small and a large WAV (flat with size).
# The files are made by ffmpeg (stream copies where the codec allows).
# Usage: bench_formats.sh BUILD
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
prov=$build/prov
runs=${BENCH_RUNS:-5}
command -v ffmpeg >/dev/null || { echo "formats bench skipped: ffmpeg not installed"; exit 0; }
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench-fmt.XXXXXX")
trap 'rm -rf "$T"' EXIT
cc -O2 -o "$T/maxrss" "$root/tests/bench/maxrss.c"
ff() { ffmpeg -nostdin -loglevel error -y "$@"; }
export PROV_PASSPHRASE=bench
"$prov" ca init "$T/ca" --subject "Bench CA" --no-encrypt >/dev/null
"$prov" keygen -o "$T/k" --subject "Bench" --ca "$T/ca" --no-encrypt >/dev/null

ff -f lavfi -i "sine=frequency=440:duration=1200:sample_rate=44100" -ac 2 "$T/big.wav"
ff -f lavfi -i "sine=frequency=440:duration=10:sample_rate=44100" -ac 2 "$T/small.wav"
ff -f lavfi -i "testsrc2=size=1280x720:rate=25" -t 20 -c:v mjpeg -q:v 2 "$T/big.avi"
ff -f lavfi -i "nullsrc=size=5000x3000,geq=random(1)*255:128:128" -frames:v 1 -quality 95 "$T/big.webp"
ff -f lavfi -i "testsrc2=size=1280x720:rate=10" -t 60 "$T/big.gif"
ff -f lavfi -i "sine=frequency=440:duration=60:sample_rate=44100" -ac 2 -b:a 192k "$T/m60.mp3"
ff -stream_loop 60 -i "$T/m60.mp3" -c copy "$T/big.mp3"
ff -f lavfi -i "anoisesrc=duration=60:sample_rate=44100:amplitude=0.3" -ac 2 "$T/f60.flac"
ff -stream_loop 9 -i "$T/f60.flac" -c copy "$T/big.flac"
ff -f lavfi -i "nullsrc=size=6000x4000,geq=random(1)*255:128:128" -frames:v 1 -pix_fmt rgb24 -compression_algo raw "$T/big.tif"

best() { # best wall seconds of RUNS runs of CMD
    local b="" r
    for _ in $(seq "$runs"); do
        r=$("$T/maxrss" -n 1 -- "$@" | cut -d' ' -f1)
        if [ -z "$b" ] || awk -v a="$r" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$r; fi
    done
    echo "$b"
}
echo
echo "formats: prov verify vs openssl dgst -sha256 on the same signed file; best of $runs, page cache warm"
printf '%-34s %10s %12s %12s %8s  %s\n' "file" "MB" "openssl s" "verify s" "ratio" "target"
for f in big.wav big.avi big.webp big.gif big.mp3 big.flac big.tif; do
    "$prov" sign "$T/$f" -o "$T/s-$f" --key "$T/k" --no-soft-binding >/dev/null
    "$prov" verify "$T/s-$f" >/dev/null || { echo "bench: s-$f does not verify" >&2; exit 1; }
    a=$(best openssl dgst -sha256 "$T/s-$f")
    b=$(best "$prov" verify --no-detect "$T/s-$f")
    printf '%-34s %10.1f %12.4f %12.4f %7.2fx  %s\n' "$f" "$(awk -v s="$(stat -c %s "$T/s-$f")" 'BEGIN { print s / 1e6 }')" \
        "$a" "$b" "$(awk -v a="$a" -v b="$b" 'BEGIN { print b / a }')" "<= 1.3x"
done
"$prov" sign "$T/small.wav" -o "$T/s-small.wav" --key "$T/k" >/dev/null
ms=$("$T/maxrss" -n 1 -- "$prov" verify --no-detect "$T/s-small.wav" | cut -d' ' -f3)
ml=$("$T/maxrss" -n 1 -- "$prov" verify --no-detect "$T/s-big.wav" | cut -d' ' -f3)
printf 'peak RSS of verify: %s KiB on a %.1f MB WAV, %s KiB on a %.1f MB WAV (%.2fx; target ~1.0x, no growth)\n' \
    "$ms" "$(awk -v s="$(stat -c %s "$T/s-small.wav")" 'BEGIN { print s / 1e6 }')" \
    "$ml" "$(awk -v s="$(stat -c %s "$T/s-big.wav")" 'BEGIN { print s / 1e6 }')" "$(awk -v a="$ms" -v b="$ml" 'BEGIN { print b / a }')"
