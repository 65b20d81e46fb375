#!/usr/bin/env node
// usage: node c2pa_bench.mjs [--trust ROOTS.pem] FILE [N]
// Times N (default 5) c2pa-rs reads (WasmReader.fromBytes + reader.json()) of FILE.
// Untimed: wasm initialisation, reading FILE (and ROOTS) into memory.
import { readFileSync } from 'node:fs';
import { contextFor, errorText, initReader, mimeFor, readerJson } from './c2pa_lib.mjs';

const args = process.argv.slice(2);
let trust = null;
if (args[0] === '--trust') { trust = args[1] ?? ''; args.splice(0, 2); }
const file = args[0];
const runs = args[1] === undefined ? 5 : Number(args[1]);
const mime = file && mimeFor(file);
if (trust === '' || !file || args.length > 2 || !Number.isInteger(runs) || runs < 1 || !mime) {
  console.error('usage: node c2pa_bench.mjs [--trust ROOTS.pem] FILE [N]  (FILE: jpg jpeg png mp4 mov heic avif)');
  process.exit(2);
}
const bytes = readFileSync(file);
const context = contextFor(trust);
initReader();

const times = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  try { await readerJson(mime, bytes, context); } catch (e) {
    if (!errorText(e).includes('JumbfNotFound')) { console.error(`c2pa_bench: ${file}: ${errorText(e)}`); process.exit(1); }
  }
  times.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
times.sort((a, b) => a - b);
const mid = times.length >> 1;
const median = times.length % 2 ? times[mid] : (times[mid - 1] + times[mid]) / 2;
console.log(JSON.stringify({ file, runs, best_s: times[0], median_s: median }));
