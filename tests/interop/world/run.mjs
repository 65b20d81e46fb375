#!/usr/bin/env node
// usage: node run.mjs [--trust ROOTS.pem] [--json OUT.jsonl] [--jobs N] PROV_BIN CORPUS_DIR|FILE...
// The world interop measure: every JPEG, PNG and BMFF file given (or in
// CORPUS_DIR) is read by c2pa-rs (@contentauth/c2pa-wasm, the mime type from
// the extension) and by `PROV_BIN verify --json`, with the same trust. Prints
// one line per file, then agreement by format: same state, same failure-code
// set (c2pa-rs active manifest failure ∪ ingredient failure vs prov
// codes.failure). Differences listed in known_differences.tsv (by file name
// or sha256 prefix) are printed with their reason. Exit 1 when a difference
// is not listed, 0 otherwise.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextWithDefaults, initReader, mimeFor, summarize } from '../c2pa_lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let trust = null, jsonOut = null, jobs = 2;
while (args[0]?.startsWith('--')) {
  const o = args.shift();
  if (o === '--trust') trust = args.shift();
  else if (o === '--json') jsonOut = args.shift();
  else if (o === '--jobs') jobs = Math.max(1, parseInt(args.shift(), 10) || 1);
  else { console.error(`run.mjs: unknown option ${o}`); process.exit(2); }
}
const [prov, ...inputs] = args;
if (!prov || inputs.length === 0) {
  console.error('usage: node run.mjs [--trust ROOTS.pem] [--json OUT.jsonl] [--jobs N] PROV_BIN CORPUS_DIR|FILE...');
  process.exit(2);
}
const files = [];
for (const p of inputs) {
  if (statSync(p).isDirectory()) {
    for (const f of readdirSync(p).sort()) if (mimeFor(f)) files.push(join(p, f));
  } else files.push(p);
}
const config = trust ? 'anchors' : 'noanchors';

// known_differences.tsv: name-or-sha256-prefix <TAB> anchors|noanchors|both <TAB> reason
const known = [];
for (const line of readFileSync(join(here, '..', 'known_differences.tsv'), 'utf8').split('\n')) {
  if (!line.trim() || line.startsWith('#')) continue;
  const [key, cfg, ...reason] = line.split('\t');
  known.push({ key, cfg, reason: reason.join(' ').trim() });
}
const knownFor = (file, sha) => known.find((k) => (k.cfg === config || k.cfg === 'both') &&
  (k.key === basename(file) || (k.key.length >= 12 && /^[0-9a-f]+$/.test(k.key) && sha.startsWith(k.key))));

const FORMAT = { '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png' };
const formatOf = (f) => FORMAT[extname(f).toLowerCase()] ?? 'bmff';
const codeSet = (list) => [...new Set(list ?? [])].sort();

function provView(file) {
  return new Promise((resolve) => {
    const p = spawn(prov, ['verify', '--json', '--no-detect', ...(trust ? ['--trust', trust] : []), file]);
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code, sig) => {
      for (const line of out.split('\n')) {
        let o; try { o = JSON.parse(line); } catch { continue; }
        if (o && typeof o === 'object' && 'state' in o)
          return resolve({ state: String(o.state), failure: codeSet((o.codes?.failure ?? []).map((c) => c.code ?? c)), exit: code });
      }
      resolve({ state: sig ? `crash(${sig})` : 'no-json', failure: [], note: err.trim().split('\n').pop() });
    });
  });
}

initReader();
const context = contextWithDefaults(trust);
const rows = [];
let next = 0;
async function worker() {
  while (next < files.length) {
    const file = files[next++];
    const bytes = readFileSync(file);
    const sha = createHash('sha256').update(bytes).digest('hex');
    const [c, p] = await Promise.all([summarize(file, context), provView(file)]);
    const cv = { state: c.state.toLowerCase(), failure: codeSet([...c.failure, ...c.ingredient_failure]) };
    // c2pa-rs tries to fetch a remote manifest and, offline, errors out with
    // RemoteManifestFetch; prov reports the reference as the state "remote"
    // without fetching: the same finding.
    if (cv.state === 'error' && /RemoteManifest/.test(c.error ?? '')) cv.state = 'remote';
    const sameState = cv.state === p.state;
    const sameCodes = sameState && cv.failure.join(' ') === p.failure.join(' ');
    rows.push({ file, sha, format: formatOf(file), manifest: cv.state !== 'unsigned' || p.state !== 'unsigned',
      c2pa: cv, c2pa_error: c.error, prov: p, sameState, sameCodes, known: knownFor(file, sha)?.reason ?? null });
  }
}
await Promise.all(Array.from({ length: jobs }, worker));
rows.sort((a, b) => (a.file < b.file ? -1 : 1));

let unexplained = 0;
for (const r of rows) {
  const tag = r.sameCodes ? 'ok   ' : r.known ? 'known' : 'DIFF ';
  if (!r.sameCodes && !r.known) unexplained++;
  const v = (x) => `${x.state} [${x.failure.join(' ')}]`;
  console.log(`${tag} ${basename(r.file)} [${config}]  c2pa-rs: ${v(r.c2pa)}${r.c2pa_error && r.c2pa.state === 'error' ? ` (${r.c2pa_error})` : ''}  prov: ${v(r.prov)}${r.prov.note ? ` (${r.prov.note})` : ''}${!r.sameCodes && r.known ? `  -- ${r.known}` : ''}`);
}
const pct = (a, b) => (b ? (100 * a / b).toFixed(1) + '%' : '-');
console.log(`\nagreement with c2pa-rs [${config}]`);
console.log('| format | files | with a manifest | same state | same failure codes | same state (with a manifest) | same codes (with a manifest) |');
console.log('|---|---|---|---|---|---|---|');
const groups = ['jpeg', 'png', 'bmff', 'all'];
const summary = {};
for (const g of groups) {
  const rs = rows.filter((r) => g === 'all' || r.format === g);
  const m = rs.filter((r) => r.manifest);
  const s = rs.filter((r) => r.sameState).length, c = rs.filter((r) => r.sameCodes).length;
  const ms = m.filter((r) => r.sameState).length, mc = m.filter((r) => r.sameCodes).length;
  summary[g] = { files: rs.length, manifest: m.length, same_state: s, same_codes: c, m_same_state: ms, m_same_codes: mc };
  console.log(`| ${g} | ${rs.length} | ${m.length} | ${s} (${pct(s, rs.length)}) | ${c} (${pct(c, rs.length)}) | ${ms} (${pct(ms, m.length)}) | ${mc} (${pct(mc, m.length)}) |`);
}
console.log(`${unexplained} unexplained difference(s), ${rows.filter((r) => !r.sameCodes && r.known).length} listed in known_differences.tsv`);
if (jsonOut) writeFileSync(jsonOut, rows.map((r) => JSON.stringify(r)).join('\n') + '\n');
process.exit(unexplained ? 1 : 0);
