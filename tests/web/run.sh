#!/usr/bin/env bash
# The browser test of prov serve's page (make web): Debian's chromium,
# headless, driven by playwright-core (npm ci here the first time).
# Screenshots go to a temporary folder, never into the repo.
# Usage: run.sh BUILD
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prov=$root/$build/prov
if [ ! -d "$here/node_modules/playwright-core" ]; then
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi
t=$(mktemp -d)
pid=""
shots=${WEB_SHOTS:-$t/shots} # WEB_SHOTS=DIR keeps them (outside the repo)
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$t"' EXIT
export PROV_PASSPHRASE=web-test
cd "$t"
"$prov" registry init reg --origin example.org/prov-web-test >/dev/null
"$prov" keygen -o j.key --subject "Jane Doe" >/dev/null
"$prov" register --registry reg --key j.key --name "Jane Doe" --org "Daily News" >/dev/null
"$prov" sign "$root/samples/teapot.jpg" -o signed.jpg --key j.key --thumbnail >/dev/null
"$prov" sign "$root/samples/teapot.jpg" -o edited.jpg --key j.key --parent signed.jpg --action c2pa.cropped --thumbnail >/dev/null
cp signed.jpg tampered.jpg
printf 'Z' | dd of=tampered.jpg bs=1 seek=30000 conv=notrunc status=none
cp "$root/samples/teapot.jpg" unsigned.jpg
: >serve.log
"$prov" serve --listen 127.0.0.1:0 --registry reg --trust reg/root.pem 2>serve.log &
pid=$!
for _ in $(seq 100); do grep -q "listening on" serve.log && break; sleep 0.05; done
base=$(sed -n 's|.*listening on \(http://[0-9.:]*\)/.*|\1|p' serve.log)
[ -n "$base" ] || { cat serve.log; echo "web: FAIL prov serve did not start"; exit 1; }
mkdir -p "$shots"
node "$here/page.mjs" "$base" "$shots" signed.jpg tampered.jpg unsigned.jpg edited.jpg "Jane Doe"
