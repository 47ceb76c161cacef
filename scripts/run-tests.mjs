#!/usr/bin/env node
// Runs every compiled test file with node's test runner, in one invocation so
// the closing summary covers all of them. `--unit` skips the end-to-end tests
// (files under a test/e2e folder), which need a Docker engine.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';

const unitOnly = process.argv.includes('--unit');
// The packages' compiled tests, and the examples' own tests (plain .mjs, no build).
const roots = [
  'packages/wharf/dist/test',
  'packages/proxy/dist/test',
  ...readdirSync('examples').map((name) => join('examples', name, 'test')),
];
const files = [];
function walk(dir) {
  let entries = [];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of entries.sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) walk(path);
    else if (entry.endsWith('.test.js') || entry.endsWith('.test.mjs')) files.push(path);
  }
}
roots.forEach(walk);
const selected = files.filter((f) => !(unitOnly && f.includes('/e2e/')));
// Unit tests first, end-to-end after: a broken unit shows before slow runs.
selected.sort((a, b) => Number(a.includes('/e2e/')) - Number(b.includes('/e2e/')));
if (selected.length === 0) {
  console.error('run-tests: no test files found; run `npm run build` first.');
  process.exit(1);
}
const extra = process.argv.slice(2).filter((a) => a !== '--unit');
// spec for people on stdout, TAP to a file for the closing count line.
const tapDir = mkdtempSync(join(tmpdir(), 'wharf-tests-'));
const tapFile = join(tapDir, 'results.tap');
const result = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=1',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...extra,
    ...selected,
  ],
  { stdio: 'inherit' },
);
let tap = '';
try {
  tap = readFileSync(tapFile, 'utf8');
} catch {}
rmSync(tapDir, { recursive: true, force: true });
const count = (key) => Number(new RegExp(`^# ${key} (\\d+)$`, 'm').exec(tap)?.[1] ?? 0);
const failed = count('fail') + count('cancelled');
const status = result.status ?? 1;
console.log(`${count('pass')} passed, ${failed} failed, ${count('skipped') + count('todo')} skipped`);
process.exit(status === 0 && failed > 0 ? 1 : status);
