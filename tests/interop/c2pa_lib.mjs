// Shared helpers: load the c2pa-rs WebAssembly reader (@contentauth/c2pa-wasm)
// and turn its reader.json() output into the harness's one-line summary.
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { initSync, WasmReader } from '@contentauth/c2pa-wasm';

const MIME = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png',
  '.mp4': 'video/mp4', '.mov': 'video/quicktime',
  '.heic': 'image/heic', '.avif': 'image/avif', '.heif': 'image/heif', '.m4a': 'audio/mp4',
  '.webp': 'image/webp', '.gif': 'image/gif', '.wav': 'audio/wav', '.avi': 'video/x-msvideo',
  '.mp3': 'audio/mpeg', '.flac': 'audio/flac', '.tif': 'image/tiff', '.tiff': 'image/tiff',
  '.dng': 'image/x-adobe-dng',
};

export function mimeFor(file) {
  return MIME[extname(file).toLowerCase()] ?? null;
}

let ready = false;
export function initReader() {
  if (ready) return;
  const wasm = fileURLToPath(import.meta.resolve('@contentauth/c2pa-wasm/c2pa.wasm'));
  initSync({ module: readFileSync(wasm) });
  ready = true;
}

// c2pa-rs Settings JSON for Context::with_settings; undefined = library defaults.
export function contextFor(trustPem) {
  if (!trustPem) return undefined;
  return JSON.stringify({ trust: { trust_anchors: readFileSync(trustPem, 'utf8') } });
}

// The EKUs c2pa-rs itself accepts by default (its sdk/src/crypto/cose/valid_eku_oids.cfg:
// emailProtection, documentSigning, timeStamping, OCSPSigning, MS C2PA signing, C2PA
// signing).  The wasm reader given no settings loads no EKU list, so it refuses
// documentSigning-only certificates that c2pa-rs and c2patool accept; the world
// measure passes this list so that c2pa-rs is judged with its own defaults.
export const C2PA_RS_DEFAULT_EKUS = ['1.3.6.1.5.5.7.3.4', '1.3.6.1.5.5.7.3.36', '1.3.6.1.5.5.7.3.8',
  '1.3.6.1.5.5.7.3.9', '1.3.6.1.4.1.311.76.59.1.9', '1.3.6.1.4.1.62558.2.1'].join('\n');

// Settings with c2pa-rs's default EKU list and, when given, trust anchors.
export function contextWithDefaults(trustPem) {
  const trust = { trust_config: C2PA_RS_DEFAULT_EKUS };
  if (trustPem) trust.trust_anchors = readFileSync(trustPem, 'utf8');
  return JSON.stringify({ trust });
}

// One fromBytes + json() call; returns the raw JSON text. Throws what the wasm throws
// (a plain string such as "C2pa(JumbfNotFound)", not an Error).
export async function readerJson(mime, bytes, context) {
  const reader = await WasmReader.fromBytes(mime, bytes, context);
  try { return reader.json(); } finally { reader.free(); }
}

const codes = (list) => [...new Set((list ?? []).map((s) => s.code))].sort();

export function errorText(e) {
  return e instanceof Error ? e.message : String(e);
}

// Summary of one file, the object c2pa_read.mjs prints.
export async function summarize(file, context) {
  const out = { file, state: 'error', failure: [], ingredient_failure: [],
                success: [], informational: [], active_manifest: null, error: null };
  const mime = mimeFor(file);
  if (!mime) { out.error = `unsupported extension: ${extname(file) || basename(file)}`; return out; }
  let text;
  try {
    text = await readerJson(mime, readFileSync(file), context);
  } catch (e) {
    out.error = errorText(e);
    if (out.error.includes('JumbfNotFound')) out.state = 'unsigned';
    return out;
  }
  const d = JSON.parse(text);
  const vr = d.validation_results ?? {};
  const am = vr.activeManifest ?? {};
  out.state = d.validation_state ?? 'error';
  if (!d.validation_state) out.error = 'reader.json() has no validation_state';
  out.failure = codes(am.failure);
  out.ingredient_failure = [...new Set((vr.ingredientDeltas ?? [])
    .flatMap((i) => codes(i.validationDeltas?.failure)))].sort();
  out.success = codes(am.success);
  out.informational = codes(am.informational);
  out.active_manifest = d.active_manifest ?? null;
  return out;
}
