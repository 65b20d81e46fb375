#!/usr/bin/env node
// usage: node c2pa_read.mjs [--trust ROOTS.pem] FILE...
// Reads each FILE with c2pa-rs (@contentauth/c2pa-wasm) and prints one JSON line per file.
import { contextFor, initReader, summarize } from './c2pa_lib.mjs';

const args = process.argv.slice(2);
let trust = null;
if (args[0] === '--trust') { trust = args[1] ?? ''; args.splice(0, 2); }
if (trust === '' || args.length === 0 || args.some((a) => a.startsWith('--'))) {
  console.error('usage: node c2pa_read.mjs [--trust ROOTS.pem] FILE...');
  process.exit(2);
}
let context;
try { context = contextFor(trust); } catch (e) {
  console.error(`c2pa_read: cannot read trust anchors ${trust}: ${e.message}`);
  process.exit(2);
}
initReader();
for (const file of args) console.log(JSON.stringify(await summarize(file, context)));
