#!/usr/bin/env bash
# prov benchmark: speed and memory of sign/verify, as ratios against
# baselines measured in the same run.  Never passes or fails on timing: it
# prints the figures, the ratios and the targets (see tests/bench/README.md).
#
# usage: bash tests/bench/bench.sh [BUILD]      (BUILD: default "build")
# env:   BENCH_RUNS  timed runs per figure (default 5; best of them is kept)
#        BENCH_OUT   also write the results as JSON lines to this file
#        TMPDIR      where the scratch directory goes (default /tmp)
# Exit 0 when every step worked (whatever the timings), 1 when a step
# failed (a file did not sign or verify, a helper did not build).
set -euo pipefail

start_s=$(date +%s)
caller_pwd=$PWD
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

build=${1:-build}
case $build in
/*) ;;
*) if [ -d "$caller_pwd/$build" ]; then build=$caller_pwd/$build; else build=$root/$build; fi ;;
esac
prov=$build/prov
libprov=$build/libprov.a
runs=${BENCH_RUNS:-5}
case $runs in '' | *[!0-9]* | 0) echo "bench: BENCH_RUNS must be a positive integer" >&2; exit 1 ;; esac

bench_out=${BENCH_OUT:-}
if [ -n "$bench_out" ]; then
    case $bench_out in /*) ;; *) bench_out=$caller_pwd/$bench_out ;; esac
    : >"$bench_out"
fi

cd "$root"

die() { echo "bench: $*" >&2; exit 1; }
for f in "$prov" "$libprov"; do [ -f "$f" ] || die "$f missing: run make first"; done
for t in cc pkg-config openssl; do command -v "$t" >/dev/null || die "$t not found"; done

T=$(mktemp -d "${TMPDIR:-/tmp}/prov-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT

# ---------------------------------------------------------------- helpers
PKGS="libsodium libcrypto libjpeg libpng zlib"
cc -O2 -o "$T/maxrss" tests/bench/maxrss.c || die "could not build maxrss"
# shellcheck disable=SC2046
cc -O2 $(pkg-config --cflags libjpeg) -o "$T/mkjpeg" tests/bench/mkjpeg.c \
    $(pkg-config --libs libjpeg) -lm || die "could not build mkjpeg"
# shellcheck disable=SC2046
cc -O2 $(pkg-config --cflags libjpeg) -o "$T/jpegdecode" tests/bench/jpegdecode.c \
    $(pkg-config --libs libjpeg) || die "could not build jpegdecode"
# shellcheck disable=SC2046,SC2086 # PKGS and pkg-config's output are lists
cc -O2 -Iinclude -o "$T/bench_verify" tests/bench/bench_verify.c "$libprov" \
    $(pkg-config --libs $PKGS) -lm -lpthread || die "could not build bench_verify"

# float helpers (awk does the arithmetic)
calc() { awk "BEGIN { printf \"%.6g\", $* }"; }
fmt() { awk -v v="$1" -v d="${2:-4}" 'BEGIN { printf "%.*f", d, v }'; }
size_of() { stat -c %s "$1"; }
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# Run a command under maxrss; prints "best median rss".  On failure show the
# command's own output and stop.
measure() { # measure RUNS CMD...
    local n=$1 r
    shift
    if ! r=$("$T/maxrss" -n "$n" -- "$@"); then
        echo "bench: this command failed:" "$@" >&2
        "$@" >&2 || true
        exit 1
    fi
    echo "$r"
}

# once CMD...: one run; sets RUN_S (wall seconds), RUN_KIB (peak RSS) and
# RUN_CPU (user + system seconds).
once() {
    local r
    r=$(measure 1 "$@") || exit 1
    read -r RUN_S _ RUN_KIB RUN_CPU <<<"$r"
}
# best VAR CMD...: one run; keeps the lowest wall time in VAR and the CPU
# time of that run in VAR_cpu.
best() {
    local var=$1 cur
    shift
    once "$@"
    cur=${!var}
    if [ -z "$cur" ] || awk -v a="$RUN_S" -v b="$cur" 'BEGIN { exit !(a + 0 < b + 0) }'; then
        printf -v "$var" '%s' "$RUN_S"
        printf -v "${var}_cpu" '%s' "$RUN_CPU"
    fi
}

# Table + JSON lines.  row KEY LABEL VALUE UNIT BASELINE BASE_NAME RATIO TARGET
# (BASELINE, BASE_NAME, RATIO, TARGET may be "-")
printf '%-44s %14s %24s %8s  %s\n' "measurement" "value" "baseline" "ratio" "target"
printf '%-44s %14s %24s %8s  %s\n' "-----------" "-----" "--------" "-----" "------"
json_num() { if [ "$1" = "-" ]; then printf 'null'; else printf '%s' "$1"; fi; }
json_str() { if [ "$1" = "-" ]; then printf 'null'; else printf '"%s"' "$1"; fi; }
row() {
    local key=$1 label=$2 value=$3 unit=$4 base=$5 bname=$6 ratio=$7 target=$8
    local d=4 vs bs rs
    case $unit in s) d=4 ;; KiB) d=0 ;; *) d=1 ;; esac
    vs="$(fmt "$value" "$d") $unit"
    if [ "$base" = "-" ]; then bs="-"; else bs="$(fmt "$base" "$d") $unit $bname"; fi
    if [ "$ratio" = "-" ]; then rs="-"; else rs="$(fmt "$ratio" 2)x"; fi
    printf '%-44s %14s %24s %8s  %s\n' "$label" "$vs" "$bs" "$rs" "$target"
    if [ -n "$bench_out" ]; then
        printf '{"name":"%s","label":"%s","value":%s,"unit":"%s","baseline":%s,"baseline_name":%s,"ratio":%s,"target":%s}\n' \
            "$key" "${label#"${label%%[! ]*}"}" "$value" "$unit" "$(json_num "$base")" "$(json_str "$bname")" \
            "$(json_num "$ratio")" "$(json_str "$target")" >>"$bench_out"
    fi
}
note() { printf '  %s\n' "$*"; }

# ---------------------------------------------------------------- setup
"$prov" ca init "$T/ca" --subject "Bench CA" --no-encrypt >/dev/null
"$prov" keygen -o "$T/k" --subject "Bench" --ca "$T/ca" --no-encrypt >/dev/null

# A 24-megapixel photo-like JPEG of 8-10 MB (quality 92, 4:2:0, noise tuned;
# the loop only matters if another libjpeg compresses differently).
photo=$T/photo24.jpg
noise=18
for _ in 1 2 3 4 5 6; do
    "$T/mkjpeg" "$photo" 6000 4000 92 "$noise"
    s=$(size_of "$photo")
    if [ "$s" -lt 8000000 ]; then noise=$((noise + 4))
    elif [ "$s" -gt 10000000 ]; then noise=$((noise - 3))
    else break; fi
done
photo_size=$(size_of "$photo")

# A ~100 MB JPEG: the same kind of picture, 20000 x ~13200 pixels.
huge=$T/huge.jpg
hh=13200
"$T/mkjpeg" "$huge" 20000 "$hh" 92 "$noise"
s=$(size_of "$huge")
if [ "$s" -lt 90000000 ] || [ "$s" -gt 115000000 ]; then
    hh=$(awk -v h="$hh" -v s="$s" 'BEGIN { h = int(h * 100e6 / s / 16) * 16; print (h > 65000 ? 65000 : h) }')
    "$T/mkjpeg" "$huge" 20000 "$hh" 92 "$noise"
fi
huge_size=$(size_of "$huge")

signed=$T/photo24.signed.jpg
huge_signed=$T/huge.signed.jpg
"$prov" sign "$photo" -o "$signed" --key "$T/k" >/dev/null
"$prov" sign "$huge" -o "$huge_signed" --key "$T/k" >/dev/null
signed_size=$(size_of "$signed")
huge_signed_size=$(size_of "$huge_signed")

# ---------------------------------------------------------------- 1. 24 MP
# Warm: one untimed run of each (page cache, dynamic loader).  Then RUNS
# rounds, the three commands interleaved in each round so that a burst of
# load from other users of the machine hits them alike; keep the best.
# The sign output is removed (untimed) before each run, so every run writes
# a new file, as `prov sign IN -o NEW` does; replacing an existing output
# would add the freeing of the old file's blocks to the rename.
c_ssl=(openssl dgst -sha256 "$photo")
# The hashing path is compared with --no-soft-binding; the default also
# decodes the picture for its PDQ fingerprint (a row of its own below).
c_sign=("$prov" sign "$photo" -o "$T/sign-out.jpg" --key "$T/k" --no-soft-binding)
c_sign_sb=("$prov" sign "$photo" -o "$T/sign-out.jpg" --key "$T/k")
c_ver=("$prov" verify "$signed")
# The fingerprint's floor: libjpeg decoding the same file at 1/8 scale,
# nothing else (every Huffman code is still decoded).
c_dec=("$T/jpegdecode" "$photo" 8)
once "${c_ssl[@]}"; once "${c_sign[@]}"; once "${c_ver[@]}"; once "${c_dec[@]}"
t_ssl="" t_sign="" t_ver="" t_ssl_cpu="" t_sign_cpu="" t_ver_cpu="" t_sign_sb="" t_sign_sb_cpu="" t_dec="" t_dec_cpu=""
for _ in $(seq "$runs"); do
    best t_ssl "${c_ssl[@]}"
    rm -f "$T/sign-out.jpg"
    best t_sign "${c_sign[@]}"
    rm -f "$T/sign-out.jpg"
    best t_sign_sb "${c_sign_sb[@]}"
    best t_ver "${c_ver[@]}"
    best t_dec "${c_dec[@]}"
done

echo
echo "24 MP JPEG, $(mb "$photo_size") MB ($(mb "$signed_size") MB signed); best of $runs, page cache warm; times include process start-up"
row ssl_24mp_s "openssl dgst -sha256 (baseline)" "$t_ssl" s - - - -
row sign_24mp_s "prov sign --no-soft-binding" "$t_sign" s "$t_ssl" openssl "$(calc "$t_sign / $t_ssl")" "<= 1.3x"
row sign_sb_24mp_s "prov sign (default: + PDQ fingerprint)" "$t_sign_sb" s "$t_ssl" openssl "$(calc "$t_sign_sb / $t_ssl")" "2x (not met)"
row jpeg_decode_24mp_s "  libjpeg 1/8-scale decode alone (floor)" "$t_dec" s "$t_ssl" openssl "$(calc "$t_dec / $t_ssl")" "(info)"
row verify_24mp_s "prov verify" "$t_ver" s "$t_ssl" openssl "$(calc "$t_ver / $t_ssl")" "<= 1.3x"
# CPU time (user + system) of those best runs: where wall time exceeds it,
# the process was waiting (sign: fsync of the output before the rename).
row ssl_24mp_cpu_s "  openssl, CPU time (user+sys)" "$t_ssl_cpu" s - - - "(info)"
row sign_24mp_cpu_s "  prov sign, CPU time (user+sys)" "$t_sign_cpu" s "$t_ssl_cpu" openssl "$(calc "$t_sign_cpu / $t_ssl_cpu")" "(info)"
row verify_24mp_cpu_s "  prov verify, CPU time (user+sys)" "$t_ver_cpu" s "$t_ssl_cpu" openssl "$(calc "$t_ver_cpu / $t_ssl_cpu")" "(info)"

# ---------------------------------------------------------------- 4. throughput
# MB = 10^6 bytes.  From the 24 MP runs above, and from the ~100 MB file
# (best of RUNS; start-up costs matter less there).
tp() { calc "$1 / $2 / 1e6"; }
tp_ssl=$(tp "$photo_size" "$t_ssl")
tp_sign=$(tp "$photo_size" "$t_sign")
tp_ver=$(tp "$signed_size" "$t_ver")

hruns=$runs
c_hssl=(openssl dgst -sha256 "$huge")
c_hsign=("$prov" sign "$huge" -o "$T/sign-out.jpg" --key "$T/k" --no-soft-binding)
c_hver=("$prov" verify "$huge_signed")
once "${c_hssl[@]}"; once "${c_hsign[@]}"; once "${c_hver[@]}"
h_ssl="" h_sign="" h_ver=""
for _ in $(seq "$hruns"); do
    best h_ssl "${c_hssl[@]}"
    rm -f "$T/sign-out.jpg"
    best h_sign "${c_hsign[@]}"
    best h_ver "${c_hver[@]}"
done
rm -f "$T/sign-out.jpg"
htp_ssl=$(tp "$huge_size" "$h_ssl")
htp_sign=$(tp "$huge_size" "$h_sign")
htp_ver=$(tp "$huge_signed_size" "$h_ver")

echo
echo "throughput, MB/s (10^6 bytes/s); ratio is prov/openssl, so <= 1.3x time is >= 0.77x"
row ssl_24mp_mbps "openssl dgst, 24 MP (baseline)" "$tp_ssl" MB/s - - - -
row sign_24mp_mbps "prov sign, 24 MP" "$tp_sign" MB/s "$tp_ssl" openssl "$(calc "$tp_sign / $tp_ssl")" ">= 0.77x"
row verify_24mp_mbps "prov verify, 24 MP" "$tp_ver" MB/s "$tp_ssl" openssl "$(calc "$tp_ver / $tp_ssl")" ">= 0.77x"
row ssl_100mb_mbps "openssl dgst, $(mb "$huge_size") MB (baseline)" "$htp_ssl" MB/s - - - -
row sign_100mb_mbps "prov sign, $(mb "$huge_size") MB" "$htp_sign" MB/s "$htp_ssl" openssl "$(calc "$htp_sign / $htp_ssl")" ">= 0.77x"
row verify_100mb_mbps "prov verify, $(mb "$huge_signed_size") MB" "$htp_ver" MB/s "$htp_ssl" openssl "$(calc "$htp_ver / $htp_ssl")" ">= 0.77x"

# ---------------------------------------------------------------- 2. c2pa-rs
echo
echo "in-process read of the signed 24 MP file, best of $runs (no trust anchors on either side)"
if ! r=$("$T/bench_verify" "$signed" "$runs"); then
    die "bench_verify failed on $signed"
fi
t_inproc=$(sed -n 's/.*"best_s":\([0-9.eE+-]*\).*/\1/p' <<<"$r")
row verify_inprocess_24mp_s "prov_verify_file (in process)" "$t_inproc" s - - - -

c2pa_skip=""
if ! command -v node >/dev/null; then
    c2pa_skip="node not found"
elif [ ! -d tests/interop/node_modules/@contentauth/c2pa-wasm ]; then
    if command -v npm >/dev/null; then
        echo "  (installing the c2pa-rs reader: npm ci in tests/interop)"
        (cd tests/interop && npm ci --no-audit --no-fund >"$T/npm.log" 2>&1) ||
            c2pa_skip="npm ci failed in tests/interop (see its output by running it there)"
    else
        c2pa_skip="tests/interop/node_modules missing and npm not found"
    fi
fi
if [ -z "$c2pa_skip" ]; then
    if r=$(node tests/interop/c2pa_bench.mjs "$signed" "$runs" 2>"$T/c2pa.err"); then
        t_c2pa=$(sed -n 's/.*"best_s":\([0-9.eE+-]*\).*/\1/p' <<<"$r")
        [ -n "$t_c2pa" ] || c2pa_skip="could not read best_s from: $r"
    else
        c2pa_skip="c2pa_bench.mjs failed: $(head -c 300 "$T/c2pa.err")"
    fi
fi
if [ -z "$c2pa_skip" ]; then
    row c2pa_read_24mp_s "c2pa-rs read (wasm, in Node)" "$t_c2pa" s "$t_inproc" prov "$(calc "$t_c2pa / $t_inproc")" ">= 10x"
    row c2pa_vs_cli_24mp_s "c2pa-rs read vs prov verify (process)" "$t_c2pa" s "$t_ver" "prov-cli" "$(calc "$t_c2pa / $t_ver")" "(info)"
else
    note "c2pa-rs comparison skipped: $c2pa_skip"
fi

# ---------------------------------------------------------------- 3. memory
# Peak RSS (wait4 ru_maxrss) of one run on each size; verify should stream,
# so the peak should not follow the file size.
once "$prov" verify "$signed"; m_ver_s=$RUN_KIB
once "$prov" verify "$huge_signed"; m_ver_l=$RUN_KIB
once "$prov" sign "$photo" -o "$T/sign-out.jpg" --key "$T/k"; m_sign_s=$RUN_KIB
once "$prov" sign "$huge" -o "$T/sign-out.jpg" --key "$T/k"; m_sign_l=$RUN_KIB
once openssl dgst -sha256 "$huge"; m_ssl_l=$RUN_KIB
rm -f "$T/sign-out.jpg"

echo
echo "peak memory (max RSS, KiB): $(mb "$signed_size") MB vs $(mb "$huge_signed_size") MB signed file ($(fmt "$(calc "$huge_signed_size / $signed_size")" 1)x larger)"
row verify_rss_10mb_kib "prov verify, $(mb "$signed_size") MB file (baseline)" "$m_ver_s" KiB - - - -
row verify_rss_100mb_kib "prov verify, $(mb "$huge_signed_size") MB file" "$m_ver_l" KiB "$m_ver_s" "(small)" "$(calc "$m_ver_l / $m_ver_s")" "~1.0x (no growth)"
row sign_rss_10mb_kib "prov sign, $(mb "$photo_size") MB file (baseline)" "$m_sign_s" KiB - - - -
row sign_rss_100mb_kib "prov sign, $(mb "$huge_size") MB file" "$m_sign_l" KiB "$m_sign_s" "(small)" "$(calc "$m_sign_l / $m_sign_s")" "~1.0x (no growth)"
row ssl_rss_100mb_kib "openssl dgst, $(mb "$huge_size") MB file (reference)" "$m_ssl_l" KiB - - - -

# ---------------------------------------------------------------- 5. video
# A 1 GB and a 100 MB MP4 (lossless x264 of noisy test video: FFmpeg
# makes them fast), signed and verified in one pass each; BENCH_VIDEO=0
# skips this part (it needs about 3 GB of disk in TMPDIR).
if [ "${BENCH_VIDEO:-1}" != 0 ] && command -v ffmpeg >/dev/null; then
    mkvideo() { # OUT SECONDS
        ffmpeg -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=60:allf=t" -t "$2" \
            -c:v libx264 -preset ultrafast -qp 0 "$1"
    }
    vbig=$T/big.mp4 vsmall=$T/small.mp4
    mkvideo "$vbig" 20
    mkvideo "$vsmall" 2
    vbig_size=$(size_of "$vbig")
    "$prov" sign "$vbig" -o "$T/big.signed.mp4" --key "$T/k" >/dev/null
    "$prov" sign "$vsmall" -o "$T/small.signed.mp4" --key "$T/k" >/dev/null
    c_vssl=(openssl dgst -sha256 "$vbig")
    c_vsign=("$prov" sign "$vbig" -o "$T/vsign-out.mp4" --key "$T/k")
    c_vver=("$prov" verify "$T/big.signed.mp4")
    once "${c_vssl[@]}"; once "${c_vver[@]}"
    t_vssl="" t_vsign="" t_vver=""
    vruns=$(( runs < 3 ? runs : 3 ))
    for _ in $(seq "$vruns"); do
        best t_vssl "${c_vssl[@]}"
        rm -f "$T/vsign-out.mp4"
        best t_vsign "${c_vsign[@]}"
        best t_vver "${c_vver[@]}"
    done
    rm -f "$T/vsign-out.mp4"
    once "$prov" verify "$T/small.signed.mp4"; m_vver_s=$RUN_KIB
    once "$prov" verify "$T/big.signed.mp4"; m_vver_l=$RUN_KIB
    echo
    echo "MP4, $(mb "$vbig_size") MB (c2pa.hash.bmff.v3, one pass); best of $vruns"
    row ssl_1gb_s "openssl dgst -sha256 (baseline)" "$t_vssl" s - - - -
    row sign_1gb_s "prov sign" "$t_vsign" s "$t_vssl" openssl "$(calc "$t_vsign / $t_vssl")" "<= 1.25x"
    row verify_1gb_s "prov verify" "$t_vver" s "$t_vssl" openssl "$(calc "$t_vver / $t_vssl")" "<= 1.25x"
    row verify_rss_100mb_mp4_kib "prov verify peak RSS, $(mb "$(size_of "$T/small.signed.mp4")") MB MP4 (baseline)" "$m_vver_s" KiB - - - -
    row verify_rss_1gb_mp4_kib "prov verify peak RSS, $(mb "$(size_of "$T/big.signed.mp4")") MB MP4" "$m_vver_l" KiB "$m_vver_s" "(small)" "$(calc "$m_vver_l / $m_vver_s")" "~1.0x (no growth)"
    rm -f "$vbig" "$T/big.signed.mp4"
fi

# ---------------------------------------------------------------- 6. batches
# 200 JPEGs of 2 MP: one `prov sign FILE... -d DIR` with a sealed key (one
# Argon2id unlock, all cores) against the sum of 200 single signs with an
# unencrypted key (no unlock at all), run one after another.
nb=${BENCH_BATCH:-200}
mkdir -p "$T/batch-in" "$T/batch-out"
"$T/mkjpeg" "$T/batch-in/b0.jpg" 1600 1200 90 "$noise"
for i in $(seq 1 $((nb - 1))); do cp "$T/batch-in/b0.jpg" "$T/batch-in/b$i.jpg"; done
PROV_PASSPHRASE=bench-pass "$prov" keygen -o "$T/ks" --subject "Bench Sealed" --ca "$T/ca" >/dev/null
t0=$(date +%s.%N)
for i in $(seq 0 $((nb - 1))); do
    "$prov" sign "$T/batch-in/b$i.jpg" -o "$T/batch-out/b$i.jpg" --key "$T/k" >/dev/null || die "single sign failed"
done
t_singles=$(calc "$(date +%s.%N) - $t0")
rm -rf "$T/batch-out"; mkdir "$T/batch-out"
t0=$(date +%s.%N)
PROV_PASSPHRASE=bench-pass "$prov" sign "$T"/batch-in/*.jpg -d "$T/batch-out" --key "$T/ks" >/dev/null 2>"$T/batch.log" ||
    { cat "$T/batch.log"; die "batch sign failed"; }
t_batch=$(calc "$(date +%s.%N) - $t0")
[ "$(find "$T/batch-out" -name '*.jpg' | wc -l)" = "$nb" ] || die "batch: not every file was signed"
echo
echo "batch of $nb JPEGs, 2 MP each; $(nproc) cpus"
row singles_s "sum of $nb single signs (--no-encrypt key)" "$t_singles" s - - - -
row batch_s "prov sign -d, sealed key (one unlock)" "$t_batch" s "$t_singles" singles "$(calc "$t_batch / $t_singles")" "<= 1.5x"
# ECDSA signing of the 24 MP file, for comparison with Ed25519 above
"$prov" keygen -o "$T/k256" --alg es256 --subject "Bench ES256" --ca "$T/ca" --no-encrypt >/dev/null
c_es=("$prov" sign "$photo" -o "$T/sign-out.jpg" --key "$T/k256" --no-soft-binding)
t_es=""
for _ in $(seq "$runs"); do rm -f "$T/sign-out.jpg"; best t_es "${c_es[@]}"; done
row sign_es256_24mp_s "prov sign --no-soft-binding, ES256 key" "$t_es" s "$t_sign" ed25519 "$(calc "$t_es / $t_sign")" "(info)"
rm -rf "$T/batch-in" "$T/batch-out"

# registry entries with ECDSA keys: what a mirror's sync and the write
# server pay per entry, against Ed25519 entries in the same run
# shellcheck disable=SC2046,SC2086
if cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Ilib -o "$T/bench_entries" tests/bench/bench_entries.c "$libprov" \
    $(pkg-config --libs $PKGS) -lm -lpthread -ldl; then
    echo
    echo "registry entries (parse and both signatures checked; one core)"
    "$T/bench_entries" 2000 || die "bench_entries failed"
else
    die "could not build bench_entries"
fi

echo
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
echo "machine: ${cpu:-unknown cpu}, $(nproc 2>/dev/null || echo '?') cpus, load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'); $(openssl version | cut -d' ' -f1-2)"
echo "bench took $(($(date +%s) - start_s)) s"
if [ -n "$bench_out" ]; then echo "results also in $bench_out (JSON lines)"; fi
