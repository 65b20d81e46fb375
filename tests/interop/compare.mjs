#!/usr/bin/env node
// usage: node compare.mjs [--trust ROOTS.pem] PROV_BIN FILE...   (normally via compare.sh)
// For each FILE compares `PROV_BIN verify --json [--trust ROOTS] FILE` with c2pa-rs
// (c2pa_read.mjs, same trust): the state (Trusted/Valid/Invalid/unsigned vs prov's
// lower-case state) and the failure-code set (prov codes.failure vs c2pa-rs active
// manifest failure ∪ ingredient failure). known_differences.tsv lists accepted mismatches.
import { accessSync, constants, readFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const usage = (msg) => {
  if (msg) console.error(`compare: ${msg}`);
  console.error('usage: compare.sh [--trust ROOTS.pem] PROV_BIN FILE...');
  process.exit(2);
};

const args = process.argv.slice(2);
let trust = null;
if (args[0] === '--trust') { trust = args[1] ?? ''; args.splice(0, 2); }
const [prov, ...files] = args;
if (trust === '' || !prov || files.length === 0) usage();
try { accessSync(prov, constants.X_OK); } catch { usage(`not executable: ${prov}`); }
const config = trust ? 'anchors' : 'noanchors';

// known_differences.tsv: basename <TAB> anchors|noanchors <TAB> reason; '#' starts a comment.
const known = new Map();
const tsv = join(here, 'known_differences.tsv');
for (const [n, line] of readFileSync(tsv, 'utf8').split('\n').entries()) {
  if (!line.trim() || line.startsWith('#')) continue;
  const [name, cfg, ...reason] = line.split('\t');
  if (!['anchors', 'noanchors', 'both'].includes(cfg) || reason.join('').trim() === '')
    usage(`${tsv}:${n + 1}: expected "basename<TAB>anchors|noanchors|both<TAB>reason"`);
  for (const c of cfg === 'both' ? ['anchors', 'noanchors'] : [cfg]) known.set(`${name}\t${c}`, reason.join('\t').trim());
}

const trustArgs = trust ? ['--trust', trust] : [];
const c2pa = execFileSync(process.execPath, [join(here, 'c2pa_read.mjs'), ...trustArgs, ...files],
  { encoding: 'utf8', maxBuffer: 64 << 20 }).trim().split('\n').map((l) => JSON.parse(l));

const codeSet = (list) => [...new Set((list ?? []).map((c) => (typeof c === 'string' ? c : c?.code)))].sort();
const show = (v) => `${v.state} [${v.failure.join(' ')}]${v.note ? ` (${v.note})` : ''}`;

function provView(file) {
  const r = spawnSync(prov, ['verify', '--json', ...trustArgs, file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  for (const line of (r.stdout ?? '').split('\n')) {
    let o;
    try { o = JSON.parse(line); } catch { continue; }
    if (o && typeof o === 'object' && 'state' in o) return { state: String(o.state), failure: codeSet(o.codes?.failure) };
  }
  const why = r.error ? r.error.message : `exit ${r.status}: ${(r.stderr ?? '').trim().split('\n').pop()}`;
  return { state: 'no-json', failure: [], note: why };
}

let passed = 0, failed = 0, knownCount = 0;
for (const [i, file] of files.entries()) {
  const c = c2pa[i];
  const cv = { state: c.state, failure: codeSet([...c.failure, ...c.ingredient_failure]),
               note: c.state === 'error' ? c.error : null };
  const pv = provView(file);
  const same = cv.state.toLowerCase() === pv.state && cv.failure.join('\n') === pv.failure.join('\n');
  const views = `c2pa-rs: ${show(cv)}  prov: ${show(pv)}`;
  const reason = known.get(`${basename(file)}\t${config}`);
  if (same) {
    passed++;
    console.log(`ok   ${file} [${config}]  ${views}${reason ? `  (listed as known difference but agrees: ${reason})` : ''}`);
  } else if (reason) {
    knownCount++;
    console.log(`known ${file} [${config}]  known difference: ${reason}  ${views}`);
  } else {
    failed++;
    console.log(`FAIL ${file} [${config}]  ${views}`);
  }
}
if (knownCount) console.log(`${knownCount} known difference(s), not counted`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
