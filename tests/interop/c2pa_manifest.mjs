#!/usr/bin/env node
// usage: node c2pa_manifest.mjs FILE
// Prints the active manifest of FILE as c2pa-rs (@contentauth/c2pa-wasm)
// reads it (reader.json()), so a test can check what it recorded.
import { readFileSync } from 'node:fs';
import { contextFor, initReader, mimeFor, readerJson } from './c2pa_lib.mjs';

const file = process.argv[2];
if (!file) { console.error('usage: node c2pa_manifest.mjs FILE'); process.exit(2); }
initReader();
const d = JSON.parse(await readerJson(mimeFor(file), readFileSync(file), contextFor(null)));
console.log(JSON.stringify(d.manifests?.[d.active_manifest] ?? null));
