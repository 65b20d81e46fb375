#!/usr/bin/env bash
# afp_robust.sh - how the audio fingerprint (prov.chroma.1) holds up:
# each original in SRC is re-encoded and altered with ffmpeg, and every copy
# is compared with its original (should match) and with every other original
# (should not).  Prints the bit error rates per transform.
# usage: tests/bench/afp_robust.sh PROV SRC_DIR [WORK_DIR]
set -euo pipefail
prov=$1 src=$2 work=${3:-$(mktemp -d)}
mkdir -p "$work"
ff() { ffmpeg -hide_banner -loglevel error -y "$@"; }
declare -A T=(
  [mp3_128k]="-c:a libmp3lame -b:a 128k .mp3"
  [mp3_64k_mono]="-ac 1 -c:a libmp3lame -b:a 64k .mp3"
  [aac_96k]="-c:a aac -b:a 96k .m4a"
  [opus_24k]="-c:a libopus -b:a 24k .opus"
  [vorbis_q1]="-c:a libvorbis -q:a 1 .ogg"
  [phone_8k]="-ar 8000 -ac 1 -c:a pcm_s16le .wav"
  [quieter_12db]="-af volume=-12dB -c:a pcm_s16le .wav"
  [trim_1.3s]="-ss 1.3 -c:a pcm_s16le .wav"
  [speed_2pct]="-af atempo=1.02 -c:a pcm_s16le .wav"
  [noise_20db]="NOISE .wav"
)
printf '%-14s %6s %8s %8s %6s\n' transform copies mean_ber max_ber found
for t in $(printf '%s\n' "${!T[@]}" | sort); do
  read -r -a a <<<"${T[$t]}"
  ext=${a[-1]}; unset 'a[-1]'
  sum=0 max=0 n=0 found=0
  for f in "$src"/*.wav; do
    b=$(basename "$f" .wav); out="$work/$b.$t$ext"
    if [ "${a[0]}" = NOISE ]; then
      ff -i "$f" -f lavfi -i "anoisesrc=c=pink:a=0.03:d=600" -filter_complex "[0:a][1:a]amix=inputs=2:duration=first:normalize=0" -c:a pcm_s16le "$out"
    else
      ff -i "$f" "${a[@]}" "$out"
    fi
    j=$("$prov" fingerprint "$f" "$out" 2>/dev/null || true)
    ber=$(sed -n 's/.*"ber":\([0-9.]*\).*/\1/p' <<<"$j")
    n=$((n + 1))
    case "$j" in *'"match":true'*) found=$((found + 1)) ;; esac
    [ -n "$ber" ] || ber=0.5
    sum=$(awk -v a="$sum" -v b="$ber" 'BEGIN{print a+b}')
    max=$(awk -v a="$max" -v b="$ber" 'BEGIN{print (b>a)?b:a}')
  done
  printf '%-14s %6d %8.3f %8.3f %3d/%d\n' "$t" "$n" "$(awk -v s="$sum" -v n="$n" 'BEGIN{print s/n}')" "$max" "$found" "$n"
done
# unrelated: each original against every other's copies
minb=1 pairs=0 false=0
for f in "$src"/*.wav; do
  for g in "$work"/*; do
    case "$(basename "$g")" in "$(basename "$f" .wav)".*) continue ;; esac
    j=$("$prov" fingerprint "$f" "$g" 2>/dev/null || true)
    pairs=$((pairs + 1))
    case "$j" in *'"match":true'*) false=$((false + 1)); echo "false match: $j" ;; esac
    ber=$(sed -n 's/.*"ber":\([0-9.]*\).*/\1/p' <<<"$j")
    [ -n "$ber" ] && minb=$(awk -v a="$minb" -v b="$ber" 'BEGIN{print (b<a)?b:a}')
  done
done
printf 'unrelated pairs: %d, false matches: %d, lowest ber among them: %s\n' "$pairs" "$false" "$minb"
