// usage: node c2pa_read_fragment.mjs [--trust ROOTS.pem] INIT FRAGMENT...
// Reads each media fragment against its init segment with c2pa-rs
// (WasmReader.fromBlobFragment) and prints one JSON line per fragment:
// {"file", "state", "failure": [...], "error"}.  Exit 0 unless misused.
import { readFileSync } from 'node:fs';
import { WasmReader } from '@contentauth/c2pa-wasm';
import { initReader, contextFor, errorText } from './c2pa_lib.mjs';

// The wasm reads Blobs through FileReaderSync, which Node lacks: a Blob
// that carries its bytes, and a reader that hands them over.
class BytesBlob extends Blob {
  constructor(bytes) { super([]); this.bytes = bytes; }
  get size() { return this.bytes.length; }
  slice(a = 0, b = this.bytes.length) { return new BytesBlob(this.bytes.subarray(a, b)); }
}
globalThis.FileReaderSync = class {
  readAsArrayBuffer(blob) {
    const u = blob.bytes;
    return u.buffer.slice(u.byteOffset, u.byteOffset + u.length);
  }
};

let args = process.argv.slice(2), trust;
if (args[0] === '--trust') { trust = args[1]; args = args.slice(2); }
if (args.length < 2) {
  console.error('usage: node c2pa_read_fragment.mjs [--trust ROOTS.pem] INIT FRAGMENT...');
  process.exit(2);
}
initReader();
const [init, ...frags] = args;
const initBlob = new BytesBlob(readFileSync(init));
const context = contextFor(trust);
for (const file of frags) {
  const out = { file, state: 'error', failure: [], error: null };
  try {
    const r = await WasmReader.fromBlobFragment('video/mp4', initBlob, new BytesBlob(readFileSync(file)), context);
    const d = JSON.parse(r.json());
    r.free();
    out.state = d.validation_state ?? 'error';
    out.failure = [...new Set((d.validation_results?.activeManifest?.failure ?? []).map((s) => s.code))].sort();
  } catch (e) {
    out.error = errorText(e);
  }
  console.log(JSON.stringify(out));
}
