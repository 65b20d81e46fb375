#!/usr/bin/env bash
# make demo: the story on the files in samples/.
set -euo pipefail
build=${1:-build}
prov=$PWD/$build/prov
d=$PWD/$build/demo
rm -rf "$d"
mkdir -p "$d"
# The demo's keys are sealed with this passphrase (normally typed at a prompt).
export PROV_PASSPHRASE="demo passphrase"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*" | sed "s|$d/|demo/|g; s|$PWD/||g"; "$@" 2>&1 | sed "s|$d/|demo/|g; s|$PWD/||g"; }

say "1. An issuer (a local CA until the registry replaces it)"
run "$prov" ca init "$d/ca" --subject "CN=Demo Newsroom Root CA,O=Demo Newsroom"

say "2. A journalist's signing key, certified by the issuer"
run "$prov" keygen -o "$d/jane.key" --subject "CN=Jane Doe,O=Demo Newsroom" --ca "$d/ca"
ls -l "$d/jane.key" | awk '{print "   " $1, $NF}' | sed "s|$d/|demo/|"

say "3. Sign a JPEG and a PNG"
# A camera writes JPEGs; make one from the Kodak photograph.  (The demo
# used "$d/house-camera.jpg" until the detector's model was retrained: that
# real photo is one of the model's false positives, README "Detector".)
ffmpeg -loglevel error -y -i samples/kodim01.png -q:v 2 "$d/house-camera.jpg"
run "$prov" sign "$d/house-camera.jpg" -o "$d/house.jpg" --key "$d/jane.key" --title "House"
run "$prov" sign samples/kodim01.png -o "$d/kodim01.png" --key "$d/jane.key" --title "Kodak 01"

say "4. Verify both, trusting the issuer's root"
run "$prov" verify "$d/house.jpg" "$d/kodim01.png" --trust "$d/ca/root.pem"

say "5. Change one byte of image data in a copy: verification fails"
cp "$d/house.jpg" "$d/tampered.jpg"
size=$(stat -c %s "$d/tampered.jpg")
printf '\x42' | dd of="$d/tampered.jpg" bs=1 seek=$((size - 2000)) conv=notrunc status=none
set +e
run "$prov" verify "$d/tampered.jpg" --trust "$d/ca/root.pem"
rc=${PIPESTATUS[0]}
set -e
echo "   (exit status 1: the image no longer matches its signed hash)"

say "6. Edit the photo (crop), re-sign with the original as ingredient"
ffmpeg -loglevel error -y -i "$d/house.jpg" -vf "crop=iw*0.8:ih*0.8" -q:v 3 "$d/house-cropped-unsigned.jpg"
run "$prov" sign "$d/house-cropped-unsigned.jpg" -o "$d/house-cropped.jpg" --key "$d/jane.key" \
  --parent "$d/house.jpg" --action c2pa.cropped --title "House (cropped)"
run "$prov" verify "$d/house-cropped.jpg" --trust "$d/ca/root.pem"

say "7. The edit history, as JSON"
"$prov" verify --json "$d/house-cropped.jpg" --trust "$d/ca/root.pem" |
  node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log(JSON.stringify({state: r.state, signer: r.signer, actions: r.actions, ingredients: r.ingredients}, null, 2));' 2>/dev/null ||
  "$prov" verify --json "$d/house-cropped.jpg" --trust "$d/ca/root.pem"

say "8. A video: sign, inspect, verify; a changed byte inside mdat fails"
run "$prov" sign samples/clip.mp4 -o "$d/clip.mp4" --key "$d/jane.key" --title "Test clip"
"$prov" inspect --json "$d/clip.mp4" | node -e 'const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
  const m = r.manifest_store.manifests.at(-1);
  console.log(JSON.stringify({media: r.media, hard_binding: m.assertions.map(a => a.label).filter(l => l.includes("hash"))}, null, 2));'
run "$prov" verify "$d/clip.mp4" --trust "$d/ca/root.pem"
cp "$d/clip.mp4" "$d/clip-tampered.mp4"
mdat=$(grep -obUaP "mdat" "$d/clip-tampered.mp4" | head -1 | cut -d: -f1)
printf '\x42' | dd of="$d/clip-tampered.mp4" bs=1 seek=$((mdat + 5000)) conv=notrunc status=none
set +e
run "$prov" verify "$d/clip-tampered.mp4" --trust "$d/ca/root.pem"
set -e
echo "   (a byte changed inside mdat: the BMFF hash no longer matches)"

say "9. An identity registry (a transparency log in a local folder)"
run "$prov" registry init "$d/registry" --origin demo.example/registry --subject "CN=Demo Registry CA"
run "$prov" keygen -o "$d/ana.key" --subject "Ana Reporter"
run "$prov" register --registry "$d/registry" --key "$d/ana.key" --name "Ana Reporter" --org "Demo Newsroom" --contact ana@demo.example
run "$prov" sign "$d/house-camera.jpg" -o "$d/ana.jpg" --key "$d/ana.key" --title "Ana's house"
run "$prov" verify "$d/ana.jpg" --trust "$d/registry/root.pem" --registry "$d/registry"

say "10. The key signed a fake: flag it, then revoke it as a penalty"
run "$prov" registry flag "$d/registry" --key "$d/ana.key.pub" --media "$d/ana.jpg" --reason "signed a fabricated image"
run "$prov" registry revoke "$d/registry" --key "$d/ana.key.pub" --reason "penalty: signed a fabricated image"
set +e
run "$prov" verify "$d/ana.jpg" --trust "$d/registry/root.pem" --registry "$d/registry"
set -e
run "$prov" registry lookup "$d/registry" "Ana Reporter"
run "$prov" registry verify "$d/registry"

say "11. A platform strips the credentials: the fingerprint finds the signed original"
run "$prov" keygen -o "$d/ben.key" --subject "Ben Photographer"
run "$prov" register --registry "$d/registry" --key "$d/ben.key" --name "Ben Photographer" --org "Demo Newsroom"
run "$prov" sign samples/kodim01.png -o "$d/ben.png" --key "$d/ben.key" --title "Lighthouse" --publish "$d/registry"
# what an upload pipeline does: re-encode at quality ~70, half size, metadata gone
ffmpeg -loglevel error -y -i "$d/ben.png" -vf "scale=iw/2:ih/2" -q:v 8 -map_metadata -1 "$d/ben-uploaded.jpg"
set +e
run "$prov" verify "$d/ben-uploaded.jpg" --trust "$d/registry/root.pem" --registry "$d/registry" --no-detect
set -e
echo "   (unsigned: the match says where it likely came from, never that it is signed)"

say "12. Many files at once, as a platform does (JSON Lines, then a summary)"
set +e
run "$prov" verify -r "$d" --trust "$d/ca/root.pem" --trust "$d/registry/root.pem" --registry "$d/registry" --no-detect --jobs 2 --summary-json | tail -1
set -e

say "13. Media nobody signed: how likely is it AI-made? (a hint for review, not proof)"
set +e
run "$prov" scan "$d/ben-uploaded.jpg" "$d/house-cropped-unsigned.jpg"
set -e

say "14. A camera's kind of key (ECDSA P-256), a batch after one unlock, and an image generator's record"
run "$prov" keygen -o "$d/cam.key" --alg es256 --subject "CN=Demo Camera 0042,O=Demo Newsroom" --ca "$d/ca"
mkdir -p "$d/batch-in" "$d/batch"
cp "$d/house-camera.jpg" "$d/batch-in/shot1.jpg"
cp samples/kodim01.png "$d/batch-in/shot2.png"
run "$prov" sign "$d/batch-in/shot1.jpg" "$d/batch-in/shot2.png" -d "$d/batch" --key "$d/cam.key"
run "$prov" verify "$d/batch/shot1.jpg" --trust "$d/ca/root.pem" --json | grep -o '"state":"[a-z]*"\|"alg":"[A-Z0-9]*"' | tr '\n' ' '
echo
PROV="$prov" run python3 docs/generator_recipe.py samples/kodim01.png -o "$d/generated.png" --key "$d/jane.key" \
    --model example-diffusion --model-version 3.0 --prompt "a lighthouse" --seed 42
run "$prov" inspect "$d/generated.png" --json | grep -o '"digitalSourceType":"[^"]*"\|"softwareAgent":{[^}]*}' | head -2

say "15. A key that never leaves a hardware token (PKCS#11; here SoftHSM2 stands in for an HSM), certified and registered"
eval "$(bash tests/pkcs11/make_token.sh "$d/hsm" | sed 's/^/export /')"
tok="pkcs11:token=prov-test;object=cam-p256?module-path=$MODULE"
export PROV_PKCS11_PIN=1234
run "$prov" certify --key "$tok" --ca "$d/ca" --subject "CN=Demo HSM Signer,O=Demo Newsroom" -o "$d/hsm.chain.pem"
run "$prov" sign "$d/house-camera.jpg" -o "$d/house-hsm.jpg" --key "$tok" --chain "$d/hsm.chain.pem"
run "$prov" verify "$d/house-hsm.jpg" --trust "$d/ca/root.pem"
echo "   The same token key registered in the identity registry (the entry is signed on the token):"
run "$prov" register --registry "$d/registry" --key "$tok" --name "Demo Camera 0042" --org "Demo Newsroom" --out "$d/hsm-reg"
run "$prov" sign "$d/house-camera.jpg" -o "$d/house-hsm-reg.jpg" --key "$tok" --chain "$d/hsm-reg.chain.pem"
run "$prov" verify "$d/house-hsm-reg.jpg" --registry "$d/registry"
unset PROV_PKCS11_PIN

say "16. Sound and other formats: a voice memo (MP3), a WebP and a TIFF; a sidecar; a remote manifest"
ffmpeg -nostdin -loglevel error -y -f lavfi -i "sine=frequency=220:duration=3" -ac 1 -b:a 64k "$d/memo.mp3"
ffmpeg -nostdin -loglevel error -y -i samples/kodim01.png "$d/kodim.webp"
ffmpeg -nostdin -loglevel error -y -i samples/kodim01.png -pix_fmt rgb24 -compression_algo lzw "$d/kodim.tif"
for f in memo.mp3 kodim.webp kodim.tif; do run "$prov" sign "$d/$f" -o "$d/signed-$f" --key "$d/jane.key"; done
run "$prov" verify "$d/signed-memo.mp3" "$d/signed-kodim.webp" "$d/signed-kodim.tif" --trust "$d/ca/root.pem" --no-detect
cp "$d/memo.mp3" "$d/interview.mp3"
run "$prov" sign "$d/interview.mp3" --sidecar --key "$d/jane.key"
run "$prov" verify "$d/interview.mp3" --trust "$d/ca/root.pem" --no-detect
run "$prov" sign samples/teapot.jpg -o "$d/teapot-remote.jpg" --key "$d/jane.key" \
    --remote-url https://example.com/manifests/teapot.c2pa --manifest-out "$d/teapot-remote.store.c2pa"
set +e
run "$prov" verify "$d/teapot-remote.jpg" --no-detect
set -e
run "$prov" verify "$d/teapot-remote.jpg" --manifest "$d/teapot-remote.store.c2pa" --trust "$d/ca/root.pem" --no-detect

say "17. A voice clip traced back: a signed speech, shared as a voice note (Opus), found by its sound"
run "$prov" sign tests/vectors/audio/jfk.mp3 -o "$d/speech.mp3" --key "$d/ben.key" --title "Inaugural address, 1961" \
    --publish "$d/registry"
# a messaging app re-encodes it (Ogg Opus at 24 kb/s, no metadata) and cuts the first second
ffmpeg -nostdin -loglevel error -y -ss 1 -i "$d/speech.mp3" -c:a libopus -b:a 24k -map_metadata -1 "$d/voicenote.opus"
set +e
run "$prov" verify "$d/voicenote.opus" --registry "$d/registry" --no-detect
set -e
echo "   (unsigned: Ogg has no place for a manifest; the sound's fingerprint names the signed original)"

say "Done.  Files are in $build/demo/; try: $build/prov inspect $build/demo/house-cropped.jpg"
