// Parity check, run by hand: fetches each scenario of scenarios.json through
// Kamal's own Ruby adapters and through wharf's, both against the fake CLIs,
// and compares the results and the exact CLI calls.
//   KAMAL_LIB=/path/to/kamal/lib node packages/wharf/test/secrets/parity/compare-adapters.mjs [scenarios.json]
// Needs ruby + activesupport and a built wharf (npm run build).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchSecrets } from '../../../dist/src/secrets/commands.js';
import { spawnRunner } from '../../../dist/src/secrets/runner.js';

const BIN = fileURLToPath(new URL('../../fakes/bin', import.meta.url));
const RUBY_HARNESS = fileURLToPath(new URL('./kamal-adapters.rb', import.meta.url));
const KAMAL_LIB = process.env.KAMAL_LIB;
if (!KAMAL_LIB) {
  console.error('set KAMAL_LIB to the lib/ directory of a Kamal checkout');
  process.exit(2);
}
function world(vault, extra = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cmp-'));
  writeFileSync(join(dir, 'vault.json'), JSON.stringify(vault));
  const env = {
    PATH: [BIN, dirname(process.execPath), '/usr/bin', '/bin'].join(':'),
    HOME: dir,
    WHARF_FAKE_VAULT: join(dir, 'vault.json'),
    WHARF_FAKE_LOG: join(dir, 'log'),
    ...extra,
  };
  const log = () =>
    existsSync(join(dir, 'log'))
      ? readFileSync(join(dir, 'log'), 'utf8')
          .trim()
          .split('\n')
          .map((l) => {
            const c = JSON.parse(l);
            return [c.cli, ...c.argv, ...(c.env.BW_SESSION ? ['BW_SESSION=' + c.env.BW_SESSION] : [])].join(
              ' ',
            );
          })
      : [];
  return { env, log };
}
const quiet = (f, a, o = {}) => spawnRunner(f, a, { ...o, stderr: 'pipe' });
const scenarios = JSON.parse(
  readFileSync(process.argv[2] ?? fileURLToPath(new URL('./scenarios.json', import.meta.url)), 'utf8'),
);
let bad = 0;
for (const s of scenarios) {
  const rw = world(s.vault, s.env),
    mw = world(s.vault, s.env);
  const r = JSON.parse(
    spawnSync('ruby', [RUBY_HARNESS, KAMAL_LIB, JSON.stringify(s.request)], {
      env: rw.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).stdout || '{"error":"no output"}',
  );
  let m;
  try {
    m = { ok: Object.fromEntries(fetchSecrets(s.request, { env: mw.env, runner: quiet })) };
  } catch (e) {
    m = { error: e.message };
  }
  const same = JSON.stringify(r.ok) === JSON.stringify(m.ok) && (r.ok !== undefined || m.ok === undefined);
  const sameLog = JSON.stringify(rw.log()) === JSON.stringify(mw.log());
  if (!same || !sameLog) bad++;
  console.log(`${same && sameLog ? 'SAME' : 'DIFF'} ${s.name}`);
  if (!same) console.log('   ruby', JSON.stringify(r), '\n   mine', JSON.stringify(m));
  if (!sameLog) console.log('   ruby log', rw.log(), '\n   mine log', mw.log());
}
console.log(`${scenarios.length - bad}/${scenarios.length} same`);
