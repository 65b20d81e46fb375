#!/usr/bin/env bash
# A SoftHSM2 token for the tests: make_token.sh DIR
# Writes DIR/softhsm2.conf (tokens under DIR/tokens), initialises a token
# labelled "prov-test" (user PIN 1234, SO PIN 5678) and makes two key pairs
# on it with OpenSC's pkcs11-tool, so the private halves never leave it:
#   cam-p256 (CKA_ID 01): ECDSA P-256    cam-ed (CKA_ID 02): Ed25519
# Prints two lines: SOFTHSM2_CONF=... and MODULE=... (the module path).
set -euo pipefail
dir=$1
mkdir -p "$dir/tokens"
module=""
for m in /usr/lib/"$(gcc -print-multiarch 2>/dev/null)"/softhsm/libsofthsm2.so /usr/lib/softhsm/libsofthsm2.so \
         /usr/lib64/pkcs11/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  [ -f "$m" ] && { module=$m; break; }
done
[ -n "$module" ] || { echo "make_token.sh: libsofthsm2.so not found (apt-get install softhsm2)" >&2; exit 1; }
command -v pkcs11-tool >/dev/null || { echo "make_token.sh: pkcs11-tool not found (apt-get install opensc)" >&2; exit 1; }
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$dir" >"$dir/softhsm2.conf"
export SOFTHSM2_CONF=$dir/softhsm2.conf
softhsm2-util --init-token --free --label prov-test --pin 1234 --so-pin 5678 >/dev/null
pkcs11-tool --module "$module" --token-label prov-test --login --pin 1234 --keypairgen \
  --key-type EC:prime256v1 --label cam-p256 --id 01 >/dev/null
pkcs11-tool --module "$module" --token-label prov-test --login --pin 1234 --keypairgen \
  --key-type EC:edwards25519 --label cam-ed --id 02 >/dev/null
echo "SOFTHSM2_CONF=$SOFTHSM2_CONF"
echo "MODULE=$module"
