/** Sizes, the target's resolution, the scripts run in the target, and progress read back. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { restoreFiles } from '../../../src/db/dump-restore/index.js';
import { planRestore } from '../../../src/db/dump-restore/plan.js';
import { describeProgress, parseProgress, tablesFile } from '../../../src/db/dump-restore/progress.js';
import {
  execScript,
  phase1Script,
  phase2Script,
  progressScript,
  writeFilesScript,
} from '../../../src/db/dump-restore/scripts.js';
import { formatBytes, parseSize } from '../../../src/db/dump-restore/size.js';
import { resolveTarget } from '../../../src/db/dump-restore/target.js';
import { dataBlockSizes, parseArchiveToc } from '../../../src/db/dump-restore/toc.js';
import { resolveDbTier } from '../../../src/db/config.js';
import { UserError } from '../../../src/util/errors.js';
import { load } from '../../commands/support.js';
import { tierConfig } from '../support.js';
import { sample } from './support.js';

test('sizes: numbers with binary units in any case, refused otherwise naming the option', () => {
  assert.equal(parseSize('64MB'), 64 * 1024 ** 2);
  assert.equal(parseSize('64mb'), 64 * 1024 ** 2);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.equal(parseSize('1.5G'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('512kB'), 512 * 1024);
  assert.equal(parseSize(' 100 '), 100);
  assert.equal(parseSize('0'), 0);
  for (const bad of ['', 'MB', '-1MB', '64XB', '1e6', '64 M B'])
    assert.throws(
      () => parseSize(bad),
      (e: unknown) =>
        e instanceof UserError && /^--defer-over ".*" is not a size; write a number/.test(e.message),
      bad,
    );
  assert.equal(formatBytes(100), '100 bytes');
  assert.equal(formatBytes(1536), '1.5 kB');
  assert.equal(formatBytes(2 * 1024 ** 3), '2.0 GB');
});

async function configWithStaging() {
  const raw = tierConfig();
  (raw.accessories as Record<string, unknown>).staging = {
    image: 'registry.example/data:1',
    host: '10.0.0.3',
    env: { clear: { POSTGRES_USER: 'heatwave', POSTGRES_DB: 'heatwave_staging' } },
  };
  (raw.accessories as Record<string, unknown>).twice = { image: 'x:1', hosts: ['10.0.0.1', '10.0.0.2'] };
  return load(raw);
}

test('target: a separate Postgres accessory; tier nodes, tier helpers, unknown names and multi-host accessories are refused', async () => {
  const config = await configWithStaging();
  const tier = resolveDbTier(config);
  assert.deepEqual(resolveTarget(config, tier, 'staging'), {
    name: 'staging',
    service: 'app-staging',
    host: '10.0.0.3',
    user: 'heatwave',
    database: 'heatwave_staging',
  });
  const refused = (into: string, pattern: RegExp) =>
    assert.throws(
      () => resolveTarget(config, tier, into),
      (e: unknown) => e instanceof UserError && pattern.test(e.message),
      into,
    );
  refused(
    'postgres',
    /^--into postgres: postgres is the primary node of x-wharf-db .* never overwrites a tier node/,
  );
  refused('postgres-replica', /is the standby node of x-wharf-db/);
  refused('haproxy', /is the tier's HAProxy accessory .* not a Postgres database/);
  refused('pgbouncer-replica', /is the tier's pgbouncer accessory/);
  refused('nope', /has no accessory named nope \(accessories: postgres, postgres-replica, .*staging/);
  refused('twice', /runs on 2 hosts \(10\.0\.0\.1, 10\.0\.0\.2\); a restore target needs exactly one host/);
  // Without a tier block, the database defaults come from the accessory's env.
  assert.equal(resolveTarget(config, undefined, 'postgres').database, 'postgres');
});

test('the files of a restore land in the work directory byte for byte (real sh, here-documents)', () => {
  const buf = sample();
  const toc = parseArchiveToc(buf, 'sample.dump');
  const plan = planRestore(toc.entries, { sizes: dataBlockSizes(toc, buf.length), deferOver: 10_000 });
  const target = { name: 'staging', service: 's', host: 'h', user: "o'brien", database: 'app' };
  const files = restoreFiles(toc, plan, target, 3);
  assert.deepEqual(Object.keys(files).sort(), [
    'data-1.list',
    'phase1.list',
    'phase2.sh',
    'post.list',
    'tables',
  ]);
  assert.equal(files['data-1.list'], '3407; 0 16405 TABLE DATA public events postgres\n');
  assert.match(files.tables!, /^1\t\d+\tpublic\tevents\n$/);
  assert.match(files['phase2.sh']!, /xargs -P 3 -n 1/);
  assert.match(files['phase2.sh']!, /pg_restore -d "\$PGDATABASE" -j 3 -L post\.list dump/);
  assert.match(files['phase2.sh']!, /export PGUSER='o'\\''brien' PGDATABASE='app'/);
  // Content that contains the here-document marker itself.
  files['tricky.txt'] = "WHARF_EOF_0\n$HOME `x` 'q'\nno newline at the end";
  const pgdata = mkdtempSync(join(tmpdir(), 'wharf-restore-files-'));
  const r = spawnSync('sh', ['-c', `mkdir -p "$PGDATA/wharf-restore" && ${writeFilesScript(files)}`], {
    env: { ...process.env, PGDATA: pgdata },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  const dir = join(pgdata, 'wharf-restore');
  assert.deepEqual(readdirSync(dir).sort(), Object.keys(files).sort());
  for (const [name, content] of Object.entries(files)) {
    const expected = content === '' || content.endsWith('\n') ? content : `${content}\n`;
    assert.equal(readFileSync(join(dir, name), 'utf8'), expected, name);
  }
  // The phase 2 script is valid sh.
  assert.equal(spawnSync('sh', ['-n', join(dir, 'phase2.sh')]).status, 0);
  assert.equal(spawnSync('sh', ['-n', '-c', phase1Script(target, 2)]).status, 0);
});

test('scripts run as the postgres user in the target; the database name is quoted as an identifier', () => {
  const cmd = execScript('app-staging', 'echo hi', { detach: true, envNames: ['PGPASSWORD'] });
  assert.deepEqual(cmd.slice(0, 8), [
    'docker',
    'exec',
    '-d',
    '--user',
    'postgres',
    '-e',
    'PGPASSWORD',
    'app-staging',
  ]);
  const p1 = phase1Script({ service: 's', user: 'u', database: 'we"ird' }, 2);
  assert.match(p1, /DROP DATABASE IF EXISTS "we""ird" WITH \(FORCE\);\nCREATE DATABASE "we""ird";/);
  assert.match(p1, /pg_restore -d "\$PGDATABASE" -j 2 -L phase1\.list dump/);
  assert.match(phase2Script({ service: 's', user: 'u', database: 'd' }, 1), /rm -f dump; echo "done/);
});

const STATE = `prepared 100.0
phase1-start 110.5
usable 112.0
phase2-start 112.1
table-start 1 112.2
table-start 2 112.2
table-done 2 113.0
`;
const TABLES = tablesFile([
  { namespace: 'public', tag: 'events', bytes: 2 * 1024 ** 3 },
  { namespace: 'odd schema', tag: 'Big', bytes: 100 * 1024 ** 2 },
  { namespace: 'public', tag: 'later' },
]);

test('progress: loading with bytes read so far per table, then done with both times', () => {
  const loading = parseProgress(
    `${STATE}--tables\n${TABLES}--alive\nyes\n--copy\npublic\tevents\t1073741824\n`,
  );
  assert.equal(loading.phase, 'loading');
  assert.equal(loading.tables[0]!.copied, 1024 ** 3);
  assert.equal(
    describeProgress(loading, 'staging'),
    [
      'Restore into staging: usable after 1.5 s; loading 3 deferred tables in the background.',
      '  public.events: loading, 1.0 GB read so far (size 2.0 GB)',
      '  "odd schema"."Big": loaded after 2.5 s (size 100.0 MB)',
      '  public.later: waiting',
    ].join('\n'),
  );
  const done = parseProgress(
    `${STATE}table-done 1 150.0\ntable-start 3 150.1\ntable-done 3 150.2\ndata-done 150.3\ndone 160.5\n--tables\n${TABLES}--alive\nno\n--copy\n`,
  );
  assert.equal(done.phase, 'done');
  assert.match(
    describeProgress(done, 'staging'),
    /^Restore into staging: usable after 1\.5 s, complete after 50\.0 s\.\n/,
  );
});

test('progress: failed, interrupted (nobody works on it), phase 1, and never run', () => {
  const failed = parseProgress(
    `${STATE}table-failed 1 120\ndata-done 120\nfailed 120.1 phase2\n--tables\n${TABLES}--alive\nno\n`,
  );
  assert.equal(failed.phase, 'failed');
  assert.match(describeProgress(failed, 's'), /FAILED in phase2 \(it was usable after 1\.5 s\)/);
  assert.match(describeProgress(failed, 's'), /public\.events: FAILED \(see data-1\.log\)/);
  const gone = parseProgress(`${STATE}--tables\n${TABLES}--alive\nno\n--copy\n`);
  assert.equal(gone.phase, 'interrupted');
  assert.match(describeProgress(gone, 's'), /was interrupted .* run the restore again/);
  assert.equal(parseProgress('prepared 1\nphase1-start 2\n--tables\n--alive\nyes\n').phase, 'phase1');
  // As progressScript prints it: liveness first, then the state log.
  assert.equal(
    parseProgress('--alive\nno\n--state\nprepared 1\nphase1-start 2\nusable 3\ndone 9\n--tables\n').phase,
    'done',
  );
  assert.equal(
    parseProgress('--alive\nyes\n--state\nprepared 1\nphase1-start 2\n--tables\n').phase,
    'phase1',
  );
  assert.equal(parseProgress('prepared 1\n--tables\n--alive\nyes\n').phase, 'preparing');
  const never = parseProgress('--tables\n--alive\nno\n--copy\n');
  assert.equal(never.phase, 'none');
  assert.equal(describeProgress(never, 'staging'), 'No fast + deferred restore has run in staging.');
});

test('the progress script, run by a real sh, reports a finished restore as done once its process is gone', () => {
  const pgdata = mkdtempSync(join(tmpdir(), 'wharf-restore-progress-'));
  const script = progressScript({ service: 'staging', user: 'postgres', database: 'app' });
  const run = (setup: string) =>
    parseProgress(
      spawnSync(
        'sh',
        ['-c', `mkdir -p "$PGDATA/wharf-restore" && cd "$PGDATA/wharf-restore" && ${setup}\n${script}`],
        {
          env: { ...process.env, PGDATA: pgdata, PATH: `/nonexistent:${process.env.PATH}` },
          encoding: 'utf8',
        },
      ).stdout,
    );
  // Phase 2 ended: `done` written, `busy` removed.
  const done = run(
    'printf "prepared 1\\nphase1-start 2\\nusable 3\\nphase2-start 4\\ndone 9\\n" > state; rm -f busy',
  );
  assert.equal(done.phase, 'done');
  assert.equal(done.alive, false);
  // Still loading: busy names a live process (this sh's parent).
  const loading = run(
    'printf "prepared 1\\nphase1-start 2\\nusable 3\\nphase2-start 4\\n" > state; echo $$ > busy',
  );
  assert.equal(loading.alive, true);
  assert.equal(loading.phase, 'loading');
  // Nothing works there and no `done`: interrupted.
  const gone = run('echo 999999 > busy');
  assert.equal(gone.phase, 'interrupted');
});
