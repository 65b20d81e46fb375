#!/usr/bin/env node
// usage: node c2pa_sign.mjs [--sidecar | --remote URL] KEY.pem CHAIN.pem IN OUT
// Signs IN with c2pa-rs (@contentauth/c2pa-wasm's WasmBuilder) into OUT, so
// that prov can be checked on files c2pa-rs wrote, format by format.  With
// --sidecar, OUT gets the manifest store alone (setNoEmbed) and IN is not
// copied: a .c2pa sidecar as c2pa-rs makes it.  With --remote URL, OUT is
// the asset carrying only a reference to URL (setRemoteUrl) and the store
// goes to OUT.c2pa, for the caller to serve at URL.
//
// The wasm signer hands its callback the claim bytes and takes back a whole
// COSE_Sign1 (c2pa-rs's "direct COSE handling"), so this script builds it:
// tag 18 [protected {alg, x5chain}, {pad}, nil, signature], padded to
// exactly the size reserved for it.  KEY.pem is an Ed25519 or P-256
// private key (PKCS#8 PEM); CHAIN.pem its certificate chain, leaf first.
import { createPrivateKey, sign as nodeSign, X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { initSync, WasmBuilder } from '@contentauth/c2pa-wasm';
import { fileURLToPath } from 'node:url';
import { mimeFor } from './c2pa_lib.mjs';

const args = process.argv.slice(2);
const sidecar = args[0] === '--sidecar';
if (sidecar) args.shift();
let remote = null;
if (args[0] === '--remote') { remote = args[1]; args.splice(0, 2); }
const [keyPath, chainPath, inPath, outPath] = args;
if (!outPath) { console.error('usage: node c2pa_sign.mjs [--sidecar] KEY.pem CHAIN.pem IN OUT'); process.exit(2); }
const mime = mimeFor(inPath);
if (!mime) { console.error(`c2pa_sign: no MIME type for ${inPath}`); process.exit(2); }

// ---- a small CBOR encoder: what COSE_Sign1 needs ----
function head(major, n) {
  if (n < 24) return Buffer.from([major << 5 | n]);
  if (n < 256) return Buffer.from([major << 5 | 24, n]);
  if (n < 65536) { const b = Buffer.alloc(3); b[0] = major << 5 | 25; b.writeUInt16BE(n, 1); return b; }
  const b = Buffer.alloc(5); b[0] = major << 5 | 26; b.writeUInt32BE(n, 1); return b;
}
function cbor(v) {
  if (v === null) return Buffer.from([0xf6]);
  if (typeof v === 'number') return v >= 0 ? head(0, v) : head(1, -1 - v);
  if (typeof v === 'string') { const s = Buffer.from(v, 'utf8'); return Buffer.concat([head(3, s.length), s]); }
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return Buffer.concat([head(2, v.length), Buffer.from(v)]);
  if (Array.isArray(v)) return Buffer.concat([head(4, v.length), ...v.map(cbor)]);
  if (v instanceof Map) {
    const parts = [head(5, v.size)];
    for (const [k, x] of v) parts.push(cbor(k), cbor(x));
    return Buffer.concat(parts);
  }
  throw new Error(`cbor: cannot encode ${typeof v}`);
}

const key = createPrivateKey(readFileSync(keyPath));
const ed = key.asymmetricKeyType === 'ed25519';
if (!ed && !(key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1')) {
  console.error('c2pa_sign: the key must be Ed25519 or EC P-256'); process.exit(2);
}
const certs = readFileSync(chainPath, 'utf8').match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)
  .map((pem) => new X509Certificate(pem).raw);
const RESERVE = 10000;

async function coseSign1(claim) {
  const prot = cbor(new Map([[1, ed ? -8 : -7], [33, certs.length === 1 ? certs[0] : certs]]));
  const toSign = cbor(['Signature1', prot, Buffer.alloc(0), Buffer.from(claim)]);
  const sig = ed ? nodeSign(null, toSign, key) : nodeSign('sha256', toSign, { key, dsaEncoding: 'ieee-p1363' });
  const build = (n) => Buffer.concat([Buffer.from([0xd2]),
    cbor([prot, new Map([['pad', Buffer.alloc(n)]]), null, sig])]);
  for (let n = RESERVE - build(0).length; n >= 0; n--) {
    const out = build(n);
    if (out.length === RESERVE) return new Uint8Array(out);
  }
  throw new Error('c2pa_sign: the COSE signature does not fit its reserved size');
}

// The wasm reads its Blob with FileReaderSync, a Web Worker API Node lacks:
// a Blob over a Buffer, read synchronously, stands in.
class MemBlob {
  constructor(buf) { this.buf = buf; this.size = buf.length; this.type = ''; }
  slice(a = 0, b = this.size) { return new MemBlob(this.buf.subarray(a, b)); }
}
globalThis.FileReaderSync ??= class {
  readAsArrayBuffer(b) { return b.buf.buffer.slice(b.buf.byteOffset, b.buf.byteOffset + b.buf.length); }
};

const wasm = fileURLToPath(import.meta.resolve('@contentauth/c2pa-wasm/c2pa.wasm'));
initSync({ module: readFileSync(wasm) });
const definition = {
  claim_generator_info: [{ name: 'c2pa-rs via @contentauth/c2pa-wasm (prov interop)', version: '1' }],
  title: outPath.split('/').pop(),
  format: mime,
  assertions: [{ label: 'c2pa.actions', data: { actions: [{ action: 'c2pa.created',
    digitalSourceType: 'http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture' }] } }],
};
const builder = WasmBuilder.fromJson(JSON.stringify(definition));
try {
  const signer = { reserveSize: RESERVE, alg: ed ? 'ed25519' : 'es256', sign: coseSign1 };
  if (remote) {
    builder.setRemoteUrl(remote);
    builder.setNoEmbed(true);
    const r = await builder.signAndGetManifestBytes(signer, [], mime, new MemBlob(readFileSync(inPath)));
    writeFileSync(outPath, r.asset ?? r.assetBytes ?? r[0]);
    writeFileSync(`${outPath}.c2pa`, r.manifest ?? r.manifestBytes ?? r.manifest_bytes ?? r[1]);
  } else if (sidecar) {
    builder.setNoEmbed(true);
    const r = await builder.signAndGetManifestBytes(signer, [], mime, new MemBlob(readFileSync(inPath)));
    writeFileSync(outPath, r.manifest ?? r.manifestBytes ?? r.manifest_bytes ?? r[1]);
  } else {
    const out = await builder.sign(signer, [], mime, new MemBlob(readFileSync(inPath)));
    writeFileSync(outPath, out);
  }
} catch (e) {
  console.error(`c2pa_sign: ${inPath}: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
} finally {
  builder.free();
}
