#!/usr/bin/env node
// usage: node check_fixtures.mjs [FIXTURE_DIR]
// Self-test of the harness: reads every fixture with c2pa_read.mjs in both trust
// configurations and checks state + failure codes against expected_fixtures.json
// (transcribed from FIXTURE_DIR/EXPECTED.md). Also checks that the full reader.json()
// output equals the stored reader-json/ files (ignoring object key order: c2pa-rs
// emits the manifests map in hash order, which changes from run to run).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { contextFor, initReader, mimeFor, readerJson } from './c2pa_lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const dir = resolve(process.argv[2] ?? join(here, '../../../shared/fixtures/c2pa'));
const expected = JSON.parse(readFileSync(join(here, 'expected_fixtures.json'), 'utf8')).fixtures;
const roots = join(dir, 'certs/trust/test_cert_root_bundle.pem');
const configs = [
  { name: 'noanchors', args: [], stored: 'no-anchors' },
  { name: 'anchors', args: ['--trust', roots], stored: 'test-anchors' },
];

let passed = 0, failed = 0;
const result = (ok, what, detail = '') => {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? '  ' + detail : ''}`);
};

const files = readdirSync(dir).filter((f) => mimeFor(f)).sort();
for (const f of Object.keys(expected)) if (!files.includes(f)) result(false, f, 'listed in expected_fixtures.json but missing');

initReader();
for (const cfg of configs) {
  const out = execFileSync(process.execPath, [join(here, 'c2pa_read.mjs'), ...cfg.args,
    ...files.map((f) => join(dir, f))], { encoding: 'utf8' });
  const got = out.trim().split('\n').map((l) => JSON.parse(l));
  const context = contextFor(cfg.args[1]);
  for (const [i, f] of files.entries()) {
    const exp = expected[f]?.[cfg.name];
    const what = `${f} [${cfg.name}]`;
    if (!exp) { result(false, what, 'no entry in expected_fixtures.json'); continue; }
    const g = got[i];
    const view = (o) => `${o.state} ${JSON.stringify(o.failure)} ingredient ${JSON.stringify(o.ingredient_failure)}`
      + (o.error ? ` error ${o.error}` : '');
    const ok = g.file === join(dir, f) && g.state === exp.state
      && isDeepStrictEqual(g.failure, exp.failure)
      && isDeepStrictEqual(g.ingredient_failure, exp.ingredient_failure)
      && (exp.error ?? null) === g.error;
    result(ok, what, ok ? view(g) : `got ${view(g)}; expected ${view(exp)}`);

    const stored = join(dir, 'reader-json', `${f}.${cfg.stored}.json`);
    if (!existsSync(stored)) continue;  // files without a manifest have none
    const raw = JSON.parse(await readerJson(mimeFor(f), readFileSync(join(dir, f)), context));
    result(isDeepStrictEqual(raw, JSON.parse(readFileSync(stored, 'utf8'))),
      `${what} reader.json() == reader-json/${f}.${cfg.stored}.json`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
