#!/usr/bin/env bash
# prov verify in bulk (-r, --files-from, --jobs) and prov serve, as a user
# and a client drive them: real libmicrohttpd, real sockets on 127.0.0.1.
# Usage: run.sh BUILD
set -uo pipefail
build=${1:-build}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case $build in /*) ;; *) build=$root/$build ;; esac
prov=$build/prov
t=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null
  [ -n "${ngx:-}" ] && bash "$root/tools/nginx-run.sh" stop "$ngx"
  rm -rf "$t"
}
trap cleanup EXIT
cd "$t" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "serve: ok   $1"; }
bad() { fail=$((fail + 1)); echo "serve: FAIL $1"; [ -n "${2:-}" ] && echo "$2" | head -c 2000 && echo; }
step() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }

export PROV_PASSPHRASE=serve-test
"$prov" registry init reg --origin example.org/prov-serve-test >/dev/null
"$prov" keygen -o j.key --subject "Jane Doe" >/dev/null
"$prov" register --registry reg --key j.key --name "Jane Doe" --org "Daily News" >/dev/null
"$prov" sign "$root/samples/teapot.jpg" -o signed.jpg --key j.key --thumbnail >/dev/null
"$prov" sign "$root/samples/kodim01.png" -o signed.png --key j.key >/dev/null
cp signed.jpg tampered.jpg
printf 'Z' | dd of=tampered.jpg bs=1 seek=30000 conv=notrunc status=none
cp "$root/samples/teapot.jpg" unsigned.jpg
R=(--registry reg --trust reg/root.pem)

# ------------------------------------------------------------- bulk
mkdir -p tree/a/deep tree/b good
cp signed.jpg tree/a/; cp signed.png tree/a/deep/; cp tampered.jpg tree/b/; cp unsigned.jpg tree/
echo "just text" >tree/notes.txt; head -c 5000 /dev/urandom >tree/b/noise.bin
ln -s .. tree/a/deep/loop            # a symlink loop: each folder is walked once
ln -s /nonexistent tree/dangling
mkfifo tree/fifo                      # never opened (it would block)
cp signed.jpg signed.png good/

"$prov" verify -r tree "${R[@]}" >bulk1.jsonl 2>bulk1.err; rc=$?
step "-r: exit 1 (a tampered and an unsigned file)" [ "$rc" = 1 ]
step "-r: one line per media file, non-media skipped" [ "$(wc -l <bulk1.jsonl)" = 4 ]
step "-r: summary on stderr counts states and signers" \
  grep -q "4 files.*2 trusted, 0 valid, 1 invalid, 1 unsigned, 0 error; 2 skipped" bulk1.err
step "-r: summary by signer" grep -q "by signer: Jane Doe 3" bulk1.err
for f in tree/a/signed.jpg tree/a/deep/signed.png tree/b/tampered.jpg tree/unsigned.jpg; do
  want=$("$prov" verify --json "${R[@]}" "$f")
  got=$(grep -F "\"file\":\"$f\"" bulk1.jsonl)
  [ "$want" = "$got" ] || { bad "-r: $f as prov verify --json says" "$got"; continue; }
  ok "-r: $f line equals prov verify --json"
done
"$prov" verify -r tree -j 1 "${R[@]}" 2>/dev/null | sort >j1
"$prov" verify -r tree -j 2 "${R[@]}" 2>/dev/null | sort >j2
step "--jobs 1 and --jobs 2 give the same lines" cmp -s j1 j2
"$prov" verify -r good "${R[@]}" >/dev/null 2>&1; step "-r over valid files only: exit 0" [ $? = 0 ]
printf '%s\n' tree/a/signed.jpg tree/b/tampered.jpg "" tree/notes.txt nosuch.jpg >list.txt
"$prov" verify --files-from list.txt "${R[@]}" --summary-json >ff.jsonl 2>ff.err; rc=$?
step "--files-from: exit 2 when a listed file cannot be read" [ "$rc" = 2 ]
step "--files-from: listed non-media is an error line, not skipped" \
  grep -q '"file":"tree/notes.txt","state":"error"' ff.jsonl
step "--files-from: a missing file is an error line naming it" grep -q '"file":"nosuch.jpg","state":"error"' ff.jsonl
last=$(tail -1 ff.jsonl)
step "--summary-json: the last line is the summary" \
  grep -q '^{"summary":{"files":4,"skipped":0,.*"states":{"trusted":1,"valid":0,"invalid":1,"unsigned":0,"error":2,"remote":0},"signers":{"Jane Doe":2}' <<<"$last"
printf '%s\n' good/signed.jpg good/signed.png | "$prov" verify --files-from - "${R[@]}" >stdin.jsonl 2>/dev/null; rc=$?
step "--files-from - reads stdin (exit 0, two lines)" [ "$rc" = 0 ] && [ "$(wc -l <stdin.jsonl)" = 2 ]
"$prov" verify -r tree --jobs 0 >/dev/null 2>&1; step "--jobs 0 is a usage error" [ $? = 2 ]

# ------------------------------------------------------------- serve
start() { # start PORTVAR LOG args...: a server on a free port
  local var=$1 log=$2; shift 2
  : >"$log"
  "$prov" serve --listen 127.0.0.1:0 "$@" 2>"$log" &
  pids+=($!)
  for _ in $(seq 200); do grep -q "listening on" "$log" && break; sleep 0.05; done
  printf -v "$var" '%s' "$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$log")"
}
start P1 s1.log "${R[@]}" --max-body 2M --timeout 2 --threads 2
[ -n "$P1" ] || { bad "prov serve starts" "$(cat s1.log)"; echo "serve: $pass passed, $fail failed"; exit 1; }
U=http://127.0.0.1:$P1
step "GET /healthz: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' $U/healthz)" = 200 ]
step "GET /readyz: 200" [ "$(curl -s -o /dev/null -w '%{http_code}' $U/readyz)" = 200 ]
step "GET /: the page, with a CSP" bash -c "curl -si $U/ | grep -qi '^content-security-policy:.*default-src .none.' && curl -s $U/ | grep -q 'id=\"drop\"'"
step "unknown path: 404" [ "$(curl -s -o /dev/null -w '%{http_code}' $U/nope)" = 404 ]
step "GET /v1/verify: 405" [ "$(curl -s -o /dev/null -w '%{http_code}' -X PUT $U/v1/verify)" = 405 ]
post() { curl -s --max-time 20 --data-binary @"$1" "$U/v1/verify?name=$1"; }
for f in signed.jpg signed.png tampered.jpg unsigned.jpg; do
  want=$("$prov" verify --json "${R[@]}" "$f")
  got=$(post "$f")
  if [ "$want" = "$got" ]; then ok "POST $f: same JSON as prov verify --json"; else bad "POST $f: same JSON as prov verify --json" "$got"; fi
done
got=$(curl -s --data-binary @tree/notes.txt "$U/v1/verify")
step "POST of a text file: state error, file named upload" grep -q '^{"file":"upload","state":"error"' <<<"$got"
got=$(curl -s --data-binary @signed.jpg "$U/v1/verify?thumbnails=1")
step "?thumbnails=1: the claim thumbnail as a data: URI" grep -q '"thumbnails":{"active":"urn:c2pa:[^"]*","claims":{"urn:c2pa:[^"]*":"data:image/jpeg;base64,/9j/' <<<"$got"
head -c 3000000 /dev/urandom >big.bin
code=$(curl -s -o /dev/null -w '%{http_code}' --data-binary @big.bin "$U/v1/verify")
step "a body over --max-body (Content-Length): 413" [ "$code" = 413 ]
code=$(head -c 500000000 /dev/zero | curl -s -o /dev/null -w '%{http_code}' --max-time 10 -X POST -T - "$U/v1/verify")
step "an endless chunked body is cut off at --max-body (connection closed, no 200)" [ "$code" != 200 ]
step "after both, the server still answers" [ "$(post signed.jpg | head -c 39)" = '{"file":"signed.jpg","state":"trusted",' ]

# a slow client (half the headers, then nothing) and a stalled body hold no worker
exec 3<>/dev/tcp/127.0.0.1/"$P1"; printf 'POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Le' >&3
exec 4<>/dev/tcp/127.0.0.1/"$P1"; printf 'POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nabc' >&4
t0=$(date +%s%N)
got=$(post signed.jpg | head -c 39)
ms=$((($(date +%s%N) - t0) / 1000000))
step "a slow client and a stalled body do not hold up another request (${ms} ms)" \
  [ "$got" = '{"file":"signed.jpg","state":"trusted",' ] && [ "$ms" -lt 1500 ]
# --timeout 2: both idle connections are closed by the server (EOF on read)
t0=$(date +%s)
timeout 10 cat <&3 >/dev/null; r3=$?
timeout 10 cat <&4 >/dev/null; r4=$?
exec 3<&- 4<&-
step "idle connections are closed after --timeout ($(($(date +%s) - t0)) s)" [ "$r3" != 124 ] && [ "$r4" != 124 ]

# 16 requests at once, all answered alike
seq 16 | xargs -P 16 -I{} sh -c "curl -s --max-time 30 --data-binary @signed.jpg '$U/v1/verify?name=signed.jpg' >par.{}.json"
n=0; for f in par.*.json; do cmp -s "$f" par.1.json && n=$((n + 1)); done
step "16 concurrent requests: 16 identical answers" [ "$n" = 16 ] && grep -q '"state":"trusted"' par.1.json
# unsigned pictures are scored by the detector side by side: same answers
seq 6 | xargs -P 6 -I{} sh -c "curl -s --max-time 60 --data-binary @unsigned.jpg '$U/v1/verify?name=unsigned.jpg' >upar.{}.json"
n=0; for f in upar.*.json; do cmp -s "$f" upar.1.json && n=$((n + 1)); done
step "6 concurrent unsigned uploads: 6 identical answers with a detector score" \
  [ "$n" = 6 ] && grep -q '"state":"unsigned".*"detector":{"kind":"image","probability":' upar.1.json

# two instances sharing one registry folder answer the same, and both see a revocation
start P2 s2.log "${R[@]}" --threads 1
for f in signed.jpg tampered.jpg; do
  a=$(curl -s --data-binary @$f "http://127.0.0.1:$P1/v1/verify?name=$f")
  b=$(curl -s --data-binary @$f "http://127.0.0.1:$P2/v1/verify?name=$f")
  step "two instances, one registry: same answer for $f" [ -n "$a" ] && [ "$a" = "$b" ]
done
# two more instances reading the registry as published (nginx on loopback),
# each through its own SQLite mirror synced in the background
ngx=$t/nginx
for _ in 1 2 3 4 5; do
  NP=$((20000 + RANDOM % 20000))
  bash "$root/tools/nginx-run.sh" start reg "$ngx" "$NP" 2>/dev/null && break
  NP=
done
RU=http://127.0.0.1:$NP
step "nginx serves the registry on loopback" [ -n "$NP" ]
for i in 3 4; do "$prov" registry sync "$RU" --log-key reg/log.pub --mirror m$i.sqlite >/dev/null 2>&1; done
step "the mirrors pin the log key on a first sync" [ -s m3.sqlite ] && [ -s m4.sqlite ]
start P3 s3.log --registry "$RU" --mirror m3.sqlite --sync-every 1 --trust reg/root.pem --threads 1
start P4 s4.log --registry "$RU" --mirror m4.sqlite --sync-every 1 --trust reg/root.pem --threads 1
a=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P3/v1/verify")
b=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P4/v1/verify")
step "--registry URL: the signer's identity from the mirror, both instances alike" \
  bash -c 'grep -q "\"state\":\"trusted\".*\"identity\":{.*\"name\":\"Jane Doe\".*\"status\":\"active\"" <<<"$1" && [ "$1" = "$2" ]' _ "$a" "$b"
"$prov" registry revoke reg --key j.key.pub --reason "test: key lost" >/dev/null
sleep 2.5 # the instances' background syncs (--sync-every 1) pick it up
a=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P3/v1/verify")
b=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P4/v1/verify")
step "--registry URL: a revocation reaches both instances through their mirrors" \
  bash -c 'grep -q "\"state\":\"invalid\".*signingCredential.revoked" <<<"$1" && [ "$1" = "$2" ]' _ "$a" "$b"
bash "$root/tools/nginx-run.sh" stop "$ngx"
a=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P1/v1/verify")
b=$(curl -s --data-binary @signed.jpg "http://127.0.0.1:$P2/v1/verify")
step "a revocation in the shared registry shows in both instances" \
  bash -c 'grep -q "\"state\":\"invalid\".*signingCredential.revoked" <<<"$1" && [ "$1" = "$2" ]' _ "$a" "$b"

# ------------------------------------------------ what a hostile client tries (issue 13)
cc -O2 -o mkjpeg "$root/tests/bench/mkjpeg.c" -ljpeg -lm
./mkjpeg n20.jpg 5000 4000 90 18 # 20 MP: the detector takes well over 0.3 s on it
python3 - <<'PY'
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
w = h = 14000 # 196 MP of grey in a 220 KB PNG
row = b'\x00' + b'\x80' * w
c = zlib.compressobj(9)
data = b''.join(c.compress(row) for _ in range(h)) + c.flush()
open('big14k.png', 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                                  + chunk(b'IDAT', data) + chunk(b'IEND', b''))
PY
# item 8: headers announcing 8 MB bodies (48 MB together, --max-memory 24M)
# reserve nothing; a real upload goes through
start P6 s6.log "${R[@]}" --max-body 8M --max-memory 24M --timeout 5 --threads 1 --no-detect
for fd in 5 6 7 8 9 10; do eval "exec $fd<>/dev/tcp/127.0.0.1/$P6"; printf 'POST /v1/verify HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n' >&$fd; done
sleep 0.3
got=$(curl -s --max-time 20 --data-binary @signed.jpg "http://127.0.0.1:$P6/v1/verify?name=signed.jpg" | head -c 39)
if [ "${got:0:29}" = '{"file":"signed.jpg","state":' ]; then ok "six connections announcing 8 MB bodies (over --max-memory together) do not block an upload"
else bad "six connections announcing 8 MB bodies (over --max-memory together) do not block an upload" "$got $(cat s6.log)"; fi
exec 5<&- 6<&- 7<&- 8<&- 9<&- 10<&-
start P5 s5.log "${R[@]}" --max-body 16M --max-memory 512M --timeout 2 --threads 1 --budget 0.4 --max-pixels 20M --max-per-client 10
U5=http://127.0.0.1:$P5
spid5=${pids[-1]}
post5() { curl -s --max-time 20 --data-binary @"$1" "$U5/v1/verify?name=$1"; }
# one client address may hold --max-per-client connections; more are closed at once
for fd in 5 6 7 8 9 10 11 12 13 14 15 16; do eval "exec $fd<>/dev/tcp/127.0.0.1/$P5"; done
sleep 0.5
timeout 1 cat <&16 >/dev/null; r16=$?
timeout 1 cat <&5 >/dev/null; r5=$?
exec 5<&- 6<&- 7<&- 8<&- 9<&- 10<&- 11<&- 12<&- 13<&- 14<&- 15<&- 16<&-
step "connections over --max-per-client are closed at once; those within wait" [ "$r16" = 0 ] && [ "$r5" = 124 ]
sleep 0.3
# item 10: header bytes trickled one by one: closed --timeout after the accept
secs=$(python3 - "$P5" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"POST /v1/verify HTTP/1.1\r\nHost: x\r\nX-Slow: ")
t0 = time.time()
s.settimeout(0.4)
while time.time() - t0 < 15:
    try:
        if s.recv(100) == b"": break
    except socket.timeout:
        pass
    except OSError:
        break
    try:
        s.sendall(b"a")
    except OSError:
        break
print("%.1f" % (time.time() - t0))
PY
)
step "headers trickled a byte at a time are cut off at --timeout from the accept (${secs} s)" \
  awk -v s="$secs" 'BEGIN { exit !(s < 4.5) }'
# item 9: a 220 KB PNG of 14000x14000 pixels is not decoded by the detector
rss0=$(awk '/VmRSS/ { print $2 }' /proc/$spid5/status)
t0=$(date +%s%N)
got=$(post5 big14k.png)
ms=$((($(date +%s%N) - t0) / 1000000))
rss1=$(awk '/VmRSS/ { print $2 }' /proc/$spid5/status)
step "a 196 MP picture: unsigned, the detector says it is over --max-pixels (${ms} ms, RSS ${rss0} -> ${rss1} KiB)" \
  bash -c 'grep -q "\"state\":\"unsigned\".*\"detector\":{\"error\":\"the picture is 14000x14000 (196.0 MP); this service scores pictures up to 20.0 MP\"" <<<"$1" && [ "$2" -lt 3000 ] && [ "$4" -lt $(($3 + 200000)) ]' _ "$got" "$ms" "$rss0" "$rss1"
# item 9: a verification past --budget is answered 503, and another worker takes its place
code=$(curl -s -o budget.json -w '%{http_code}' --max-time 20 --data-binary @n20.jpg "$U5/v1/verify")
got=$(curl -s --max-time 20 --data-binary @tree/notes.txt "$U5/v1/verify?name=notes.txt" | head -c 35)
step "a verification over --budget: 503, and the next upload is answered at once (one worker)" \
  bash -c '[ "$1" = 503 ] && grep -q "time budget" budget.json && [ "$2" = "{\"file\":\"notes.txt\",\"state\":\"error\"" ]' _ "$code" "$got"
kill -TERM "$spid5"; wait "$spid5"
step "the server reports what it cut off" grep -q "1 over the time budget" s5.log

# graceful stop
kill -TERM "${pids[0]}"
wait "${pids[0]}"; rc=$?
step "SIGTERM: exit 0" [ "$rc" = 0 ]
step "SIGTERM: said so" grep -q "SIGTERM" s1.log

echo "serve: $pass passed, $fail failed"
[ "$fail" = 0 ]
