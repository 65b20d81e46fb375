#!/usr/bin/env bash
# make tsa-test: prov sign --tsa against a local RFC 3161 authority made with
# `openssl ts` behind a loopback HTTP server (tests/tsa/tsa_http.c), then
# prov verify with and without that TSA among the anchors, and c2pa-rs
# (npm @contentauth/c2pa-wasm) reading the time-stamped files.
# Usage: run.sh BUILD
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
prov=$root/$build/prov
tsa=$root/$build/tsa_http
t=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$t"; }
trap cleanup EXIT
pass=0 fail=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then pass=$((pass + 1)); echo "tsa: ok   $name"
  else fail=$((fail + 1)); echo "tsa: FAIL $name"; fi
}

# A TSA: its own root, and a leaf with the timeStamping purpose (critical).
cd "$t"
cat > ext.cnf <<'EOF'
[root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[tsa]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
openssl ecparam -name prime256v1 -genkey -noout -out tsa-root.key
openssl req -new -x509 -key tsa-root.key -subj "/O=prov tests/CN=Test TSA Root" -days 3650 \
  -extensions root -config <(cat /etc/ssl/openssl.cnf ext.cnf) -out tsa-root.pem 2>/dev/null
openssl ecparam -name prime256v1 -genkey -noout -out tsa.key
openssl req -new -key tsa.key -subj "/O=prov tests/CN=Test TSA" -out tsa.csr
openssl x509 -req -in tsa.csr -CA tsa-root.pem -CAkey tsa-root.key -CAcreateserial -days 3650 \
  -extfile ext.cnf -extensions tsa -out tsa.pem 2>/dev/null
cat > ts.cnf <<EOF
[ tsa ]
default_tsa = tsa_config
[ tsa_config ]
dir = $t
serial = $t/tsaserial
signer_cert = $t/tsa.pem
certs = $t/tsa-root.pem
signer_key = $t/tsa.key
signer_digest = sha256
default_policy = 1.3.6.1.4.1.55555.1
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = no
ess_cert_id_chain = no
ess_cert_id_alg = sha256
EOF
echo 01 > tsaserial
"$tsa" ts.cnf port &
pid=$!
for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
port=$(cat port)
url=http://127.0.0.1:$port/

export PROV_PASSPHRASE=tsa-test
"$prov" ca init ca --subject "CN=TSA Test Root,O=prov tests" >/dev/null
"$prov" keygen -o k --subject "CN=TSA Test Signer,O=prov tests" --ca ca >/dev/null
"$prov" sign "$root/samples/teapot.jpg" -o ts.jpg --key k --tsa "$url" >/dev/null
"$prov" sign "$root/samples/kodim01.png" -o ts.png --key k --tsa "$url" >/dev/null
"$prov" sign "$root/samples/clip.mp4" -o ts.mp4 --key k --tsa "$url" >/dev/null

has() { # file, code, verify args...
  local f=$1 code=$2; shift 2
  "$prov" verify --json --no-detect "$@" "$f" | grep -q "\"$code\""
}
state() { # file, want, verify args...
  local f=$1 want=$2; shift 2
  local got
  got=$("$prov" verify --json --no-detect "$@" "$f" | sed -n 's/.*"state":"\([a-z]*\)".*/\1/p')
  [ "$got" = "$want" ] || { echo "  $f: state $got, want $want"; return 1; }
}
printf 'anchors = ca/root.pem\ntsa_anchors = tsa-root.pem   # relative to this file\nsystem_tsa = no\n' > trust.conf
for f in ts.jpg ts.png ts.mp4; do
  check "$f: the token is trusted with the TSA's root" has $f timeStamp.trusted --trust ca/root.pem --tsa-trust tsa-root.pem --no-system-tsa
  check "$f: trusted" state $f trusted --trust ca/root.pem --tsa-trust tsa-root.pem --no-system-tsa
  check "$f: the token is untrusted without it" has $f timeStamp.untrusted --trust ca/root.pem --no-system-tsa
  check "$f: a trust configuration names the TSA" has $f timeStamp.trusted --trust-config trust.conf
done

# The TSA down: signing fails, clearly, and writes nothing.
kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
if "$prov" sign "$root/samples/teapot.jpg" -o down.jpg --key k --tsa "$url" 2>err.txt; then
  check "signing with the TSA down fails" false
else
  check "signing with the TSA down fails" grep -q "time-stamp" err.txt
fi
check "... and leaves no output" test ! -e down.jpg
check "--tsa takes only http(s) URLs" bash -c "! '$prov' sign '$root/samples/teapot.jpg' -o x.jpg --key k --tsa file:///etc/passwd 2>/dev/null"

# c2pa-rs reads the time-stamped files: Valid (our TSA is no anchor of
# its), and it validates the token: its imprint covers the signature as
# C2PA sigTst2 defines it.
interop=$root/tests/interop
if [ ! -d "$interop/node_modules/@contentauth/c2pa-wasm" ]; then
  (cd "$interop" && npm ci --no-audit --no-fund --loglevel=error)
fi
node "$interop/c2pa_read.mjs" ts.jpg ts.png ts.mp4 > c2pa.jsonl
check "c2pa-rs: Valid, only signingCredential.untrusted" \
  node -e 'const l=require("fs").readFileSync("c2pa.jsonl","utf8").trim().split("\n").map(JSON.parse);
    process.exit(l.every(r=>r.state==="Valid"&&r.failure.join()==="signingCredential.untrusted")?0:1)'
check "c2pa-rs: timeStamp.validated on every file" \
  node -e 'const l=require("fs").readFileSync("c2pa.jsonl","utf8").trim().split("\n").map(JSON.parse);
    process.exit(l.every(r=>r.success.includes("timeStamp.validated"))?0:1)'

echo "tsa: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
