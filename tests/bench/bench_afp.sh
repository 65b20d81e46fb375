#!/usr/bin/env bash
# Audio soft-binding benchmark (make bench): the cost of the prov.chroma.1
# fingerprint against FFmpeg decoding the same file to 11025 Hz mono (the
# fingerprint's floor), lookup in an index of 2,000 three-minute sounds
# against reading that index (sha256sum), and the robustness table
# (tests/bench/afp_robust.sh) on the speech vector and synthetic music.
# Prints figures; never fails on timing.
# usage: bash tests/bench/bench_afp.sh [BUILD]   env: BENCH_RUNS (3), AFP_SOUNDS (2000)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
cd "$root"
prov=$build/prov
runs=${BENCH_RUNS:-3}
T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench-afp.XXXXXX")
trap 'rm -rf "$T"' EXIT
PKGS="libsodium libcrypto libjpeg libpng zlib"
# shellcheck disable=SC2046
cc -O2 -Iinclude -o "$T/bench_afp" tests/bench/bench_afp.c "$build/libprov.a" $(pkg-config --libs $PKGS) -lm -lpthread
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
best() {
    local b=""
    for _ in $(seq "$runs"); do
        local a z
        a=$(date +%s%N)
        "$@" >/dev/null
        z=$(date +%s%N)
        local d=$(((z - a) / 1000))
        if [ -z "$b" ] || [ "$d" -lt "$b" ]; then b=$d; fi
    done
    awk -v u="$b" 'BEGIN{printf "%.3f", u/1e6}'
}
echo "== audio fingerprint: cost against FFmpeg's decode to 11025 Hz mono (best of $runs)"
ff -stream_loop 16 -i tests/vectors/audio/jfk.mp3 -ac 2 -ar 44100 -c:a libmp3lame -b:a 192k "$T/long.mp3"
ff -i "$T/long.mp3" -c:a pcm_s16le "$T/long.wav"
for f in long.mp3 long.wav; do
    d=$(best ffmpeg -nostdin -loglevel error -i "$T/$f" -ac 1 -ar 11025 -f null -)
    p=$(best "$prov" fingerprint "$T/$f")
    secs=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$T/$f")
    printf '%-9s %5.0f s of sound: ffmpeg decode %s s, prov fingerprint %s s (%.2fx; %.0fx real time)\n' \
        "$f" "$secs" "$d" "$p" "$(awk -v a="$p" -v b="$d" 'BEGIN{print a/b}')" "$(awk -v s="$secs" -v p="$p" 'BEGIN{print s/p}')"
done
echo "== audio lookup: an index of ${AFP_SOUNDS:-2000} three-minute sounds, 30 s queries"
"$T/bench_afp" "$T/repo" "${AFP_SOUNDS:-2000}" 1450 50
idx=$T/repo/manifests/afp.idx
r=$(best sha256sum "$idx")
printf 'index %s MB; reading it (sha256sum) %s s\n' "$(awk -v b="$(stat -c %s "$idx")" 'BEGIN{printf "%.1f", b/1e6}')" "$r"
echo "== robustness: the speech vector and synthetic music, re-encoded and altered"
mkdir -p "$T/src"
ff -i tests/vectors/audio/jfk.mp3 -ac 1 "$T/src/jfk.wav"
for s in 2 3 4 5; do
    bpm=$((70 + s * 17)); k=$(awk -v s=$s 'BEGIN{print 12.9898+s*1.37}'); rt=$((98 + s * 9))
    ff -f lavfi -i "aevalsrc='st(0,floor(t*$bpm/60));st(1,$rt*pow(2,floor(12*abs(sin(ld(0)*$k+$s*78.233)))/12));st(2,exp(-$s*(t*$bpm/60-ld(0))));0.3*ld(2)*(sin(2*PI*ld(1)*t)+0.5*sin(4*PI*ld(1)*t)+0.4*sin(2*PI*ld(1)*pow(2,(3+mod($s,2))/12)*t)+0.3*sin(2*PI*ld(1)*pow(2,7/12)*t))':s=44100:d=30" -ac 2 "$T/src/music$s.wav"
done
bash tests/bench/afp_robust.sh "$prov" "$T/src" "$T/work"
