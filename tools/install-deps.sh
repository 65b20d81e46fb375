#!/usr/bin/env bash
# Install the Debian packages prov needs to build, test and demo.
# Runs apt-get only when something is missing; needs root (or sudo).
set -euo pipefail
pkgs=(build-essential pkg-config clang libsodium-dev libssl-dev libjpeg62-turbo-dev libpng-dev zlib1g-dev
      libcmocka-dev libp11-kit-dev libopenblas-dev libcurl4-openssl-dev libmicrohttpd-dev libsqlite3-dev nginx ffmpeg libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev nodejs npm python3)
# prov serve: its page is tested in headless chromium, its load in make bench with wrk
pkgs+=(chromium wrk)
# hardware keys: tests sign through SoftHSM2 with keys made by pkcs11-tool (opensc)
pkgs+=(softhsm2 opensc)
pkgs+=(webp flac libtiff-tools) # tests: libwebp, libFLAC and libtiff decode signed files
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node and npm may come from outside Debian (nodesource); accept any node >= 18.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=("${missing[@]/nodejs}"); missing=("${missing[@]/npm}")
fi
read -r -a missing <<<"${missing[*]:-}"
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
