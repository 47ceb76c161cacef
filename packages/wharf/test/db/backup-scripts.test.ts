import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataTierImageFiles } from '../../src/db/agent.js';
import { parseCatalog, planRestore, type BackupMeta } from '../../src/db/backup/catalog.js';
import { REPO_SCRIPT } from '../../src/db/backup/repo-script.js';
import { oneOff, repoEnv, repoMountArgs } from '../../src/db/backup/repository.js';
import {
  ARCHIVE_COMMAND,
  cloneArchiveScript,
  parseBaseBackupOutput,
  prepareRestoreScript,
  recoveryOutcome,
  repoEnvFileScript,
} from '../../src/db/backup/scripts.js';
import { resolveDbTier } from '../../src/db/config.js';
import { load, type Raw } from '../commands/support.js';
import { tierConfig } from './support.js';
import { createS3Server } from '../support/s3-server.js';

async function tierWith(backup: unknown) {
  const raw = tierConfig();
  (raw.accessories as Record<string, Raw>)['postgres-replica']!.directories = [
    'data:/var/lib/postgresql/data',
    'backups:/backups',
  ];
  (raw['x-wharf-db'] as Raw).backup = backup;
  return resolveDbTier(await load(raw));
}

const S3 = {
  endpoint: 'https://acct.r2.cloudflarestorage.com',
  bucket: 'hw-backups',
  prefix: 'pitr',
  access_key_id: 'R2_KEY',
  secret_access_key: 'R2_SECRET',
};

test('S3 credentials go into the environment of one-off containers by name, never into argv', async () => {
  const tier = await tierWith({ s3: S3 });
  const env = repoEnv(tier.backup!.repository, (n) => `value-of-${n}`);
  assert.deepEqual(env, {
    WHARF_REPO_S3_ENDPOINT: 'https://acct.r2.cloudflarestorage.com',
    WHARF_REPO_S3_BUCKET: 'hw-backups',
    WHARF_REPO_S3_PREFIX: 'pitr',
    WHARF_REPO_S3_REGION: 'us-east-1',
    WHARF_REPO_S3_KEY_ID: 'value-of-R2_KEY',
    WHARF_REPO_S3_SECRET: 'value-of-R2_SECRET',
    WHARF_REPO_S3_PART_BYTES: String(1024 ** 3),
  });
  const argv = oneOff('img:1', 'wharf-db-repo list wal/', Object.keys(env)).join(' ');
  assert.match(
    argv,
    /^docker run --rm -i -e WHARF_REPO_S3_ENDPOINT .* -e WHARF_REPO_S3_SECRET -e WHARF_REPO_S3_PART_BYTES --entrypoint sh img:1 -c /,
  );
  assert.doesNotMatch(argv, /value-of/);
  assert.deepEqual(repoMountArgs(tier.backup!.repository), []);
});

test('a directory repository: its mount (relative host paths under $PWD) and the settings file script', async () => {
  const tier = await tierWith({ path: '/backups' });
  const repo = tier.backup!.repository;
  assert.deepEqual(
    repoEnv(repo, () => assert.fail('no secret needed')),
    { WHARF_REPO_PATH: '/backups' },
  );
  assert.deepEqual(repoMountArgs(repo, true), ['--volume', '$PWD/app-postgres-replica/backups:/backups:ro']);
  const script = repoEnvFileScript(repo);
  assert.match(script, /umask 077/);
  assert.match(script, /env \| grep '\^WHARF_REPO_' > \/etc\/wharf-db\/repo\.env\.tmp/);
  assert.match(script, /chmod 600 \/etc\/wharf-db\/repo\.env\.tmp/);
  assert.match(script, /chown postgres:postgres \/backups/);
});

test('a clone drops archive settings; only the backup node gets them back', async () => {
  const tier = await tierWith({ path: '/backups' });
  const [primary, standby] = tier.nodes as [(typeof tier.nodes)[0], (typeof tier.nodes)[0]];
  const plain = cloneArchiveScript(tier, primary);
  assert.match(
    plain,
    /sed -i '\/\^archive_mode\/d;\/\^archive_command\/d' \/var\/lib\/postgresql\/data\/postgresql\.auto\.conf/,
  );
  assert.doesNotMatch(plain, /always/);
  const archiving = cloneArchiveScript(tier, standby);
  assert.match(archiving, /archive_mode = '\\''always'\\''/);
  assert.ok(archiving.includes('wharf-db-repo archive'), archiving);
  assert.equal(ARCHIVE_COMMAND, '/usr/local/bin/wharf-db-repo archive "%p" "%f"');
});

test('pg_basebackup -v output and the recovery log are read into data', () => {
  const out = [
    'started 2026-11-27T05:19:04.353650Z',
    'finished 2026-11-27T05:19:06.686215Z',
    'pg_basebackup: write-ahead log start point: 0/2000028 on timeline 1',
    'pg_basebackup: write-ahead log end point: 0/302E070',
    'size 4218960',
  ].join('\n');
  assert.deepEqual(parseBaseBackupOutput(out), {
    startedAt: '2026-11-27T05:19:04.353650Z',
    finishedAt: '2026-11-27T05:19:06.686215Z',
    startLsn: '0/2000028',
    stopLsn: '0/302E070',
    timeline: 1,
    bytes: 4218960,
  });
  assert.throws(() => parseBaseBackupOutput('started x'), /unexpected pg_basebackup output/);
  const log = [
    'LOG:  recovery stopping before commit of transaction 731, time 2026-11-27 05:19:14.454436+00',
    'LOG:  redo done at 0/4011240',
    'LOG:  last completed transaction was at log time 2026-11-27 05:19:13.472061+00',
  ].join('\n');
  assert.deepEqual(recoveryOutcome(log), {
    stoppedAt: '2026-11-27 05:19:14.454436+00',
    lastTransactionAt: '2026-11-27 05:19:13.472061+00',
  });
  assert.deepEqual(recoveryOutcome('LOG:  archive recovery complete'), {
    stoppedAt: undefined,
    lastTransactionAt: undefined,
  });
});

test('the restore script stages, unpacks and sets recovery to the target without archiving or peers', async () => {
  const tier = await tierWith({ path: '/backups' });
  const meta: BackupMeta = {
    label: '20261127T050100Z',
    node: 'postgres-replica',
    host: '10.0.0.2',
    started_at: '2026-11-27T05:00:59Z',
    finished_at: '2026-11-27T05:01:00Z',
    start_lsn: '0/2000028',
    stop_lsn: '0/3000100',
    timeline: 1,
    start_wal: '000000010000000000000002',
    stop_wal: '000000010000000000000003',
    bytes: 1,
  };
  const catalog = parseCatalog(
    `backup ${JSON.stringify(meta)}\nwal wal/000000010000000000000003\nlast 000000010000000000000003 desc: COMMIT 2026-11-27 05:09:00 UTC`,
  );
  const plan = planRestore(catalog, '2026-11-27T05:05:00Z', 'r');
  const fromRepo = prepareRestoreScript(tier, plan, '2026-11-27T05:05:00Z', 'repository');
  assert.match(fromRepo, /find \/var\/lib\/postgresql\/data -mindepth 1 -delete/);
  assert.match(
    fromRepo,
    /for k in 'base\/20261127T050100Z\/base\.tar\.gz' 'base\/20261127T050100Z\/pg_wal\.tar\.gz' 'wal\/000000010000000000000003'; do/,
  );
  assert.match(fromRepo, /recovery_target_time = '\\''2026-11-27T05:05:00Z'\\''/);
  assert.match(fromRepo, /recovery_target_action = '\\''promote'\\''/);
  assert.match(fromRepo, /archive_mode = '\\''off'\\''/);
  assert.match(fromRepo, /rm -f \S+\/standby\.signal \S+\/wharf\.fenced \S+\/wharf\.peers/);
  assert.match(fromRepo, /touch \/var\/lib\/postgresql\/data\/recovery\.signal/);
  const fromStdin = prepareRestoreScript(tier, plan, undefined, 'stdin');
  assert.match(fromStdin, /tar -xzf - -C \/var\/lib\/postgresql\/data\/wharf-restore/);
  assert.doesNotMatch(fromStdin, /recovery_target_time = /);
});

function repo(dir: string, args: string[], env: Record<string, string> = {}) {
  const script = join(dir, 'wharf-db-repo');
  if (!existsSync(script)) {
    writeFileSync(script, REPO_SCRIPT);
    chmodSync(script, 0o755);
  }
  const r = spawnSync('sh', [script, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('wharf-db-repo on a directory: idempotent put, refusal of different content, list by prefix, get', () => {
  const work = mkdtempSync(join(tmpdir(), 'wharf-repo-'));
  const env = { WHARF_REPO_PATH: join(work, 'repo') };
  writeFileSync(join(work, 'a'), 'segment one');
  writeFileSync(join(work, 'b'), 'segment two');
  assert.equal(repo(work, ['archive', join(work, 'a'), '000000010000000000000001'], env).code, 0);
  assert.equal(
    repo(work, ['archive', join(work, 'a'), '000000010000000000000001'], env).code,
    0,
    'same file again',
  );
  const clash = repo(work, ['archive', join(work, 'b'), '000000010000000000000001'], env);
  assert.equal(clash.code, 1);
  assert.match(
    clash.stderr,
    /wal\/000000010000000000000001 is already in the repository with different content/,
  );
  assert.equal(readFileSync(join(work, 'repo/wal/000000010000000000000001'), 'utf8'), 'segment one');
  assert.equal(repo(work, ['put', 'base/L/backup.json', join(work, 'b')], env).code, 0);
  assert.equal(repo(work, ['list', 'wal/'], env).stdout, 'wal/000000010000000000000001\n');
  assert.equal(repo(work, ['list', 'base/'], env).stdout, 'base/L/backup.json\n');
  assert.equal(repo(work, ['get', 'base/L/backup.json', join(work, 'got')], env).code, 0);
  assert.equal(readFileSync(join(work, 'got'), 'utf8'), 'segment two');
  assert.equal(repo(work, ['get', 'wal/nope', join(work, 'x')], env).code, 3);
  const none = repo(work, ['list', 'wal/']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no repository configured/);
});

/** wharf-db-repo run without blocking this process (the fake S3 store answers from it). */
function repoAsync(dir: string, args: string[], env: Record<string, string>, input = '') {
  const script = join(dir, 'wharf-db-repo');
  if (!existsSync(script)) {
    writeFileSync(script, REPO_SCRIPT);
    chmodSync(script, 0o755);
  }
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('sh', [script, ...args], { env: { PATH: process.env.PATH, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

const hasCurl = spawnSync('curl', ['--version']).status === 0;

test(
  'wharf-db-repo on S3: a file over the part size is stored as numbered parts and reassembled (archived WAL never is); delete',
  { skip: hasCurl ? false : 'curl is not installed here (the data-tier image has it)' },
  async () => {
    const work = mkdtempSync(join(tmpdir(), 'wharf-repo-s3-'));
    const creds = { accessKeyId: 'AKIDPARTS', secretAccessKey: 'parts/secret', region: 'us-east-1' };
    const server = createS3Server({ ...creds, dir: join(work, 'store') });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const env = {
        WHARF_REPO_S3_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        WHARF_REPO_S3_BUCKET: 'backups',
        WHARF_REPO_S3_PREFIX: 'pitr',
        WHARF_REPO_S3_REGION: creds.region,
        WHARF_REPO_S3_KEY_ID: creds.accessKeyId,
        WHARF_REPO_S3_SECRET: creds.secretAccessKey,
        WHARF_REPO_S3_PART_BYTES: '1000',
      };
      const big = randomBytes(3500);
      writeFileSync(join(work, 'big'), big);
      writeFileSync(join(work, 'small'), 'small file');
      for (const [key, file] of [
        ['base/L/base.tar.gz', 'big'],
        ['base/L/backup.json', 'small'],
      ]) {
        const put = await repoAsync(work, ['put', key!, join(work, file!)], env);
        assert.equal(put.code, 0, put.stderr);
      }
      const listed = await repoAsync(work, ['list', 'base/'], env);
      assert.deepEqual(listed.stdout.trim().split('\n'), [
        'base/L/backup.json',
        'base/L/base.tar.gz.part-00000',
        'base/L/base.tar.gz.part-00001',
        'base/L/base.tar.gz.part-00002',
        'base/L/base.tar.gz.part-00003',
      ]);
      // The same file again is fine part by part; a different one under the key is refused.
      assert.equal((await repoAsync(work, ['put', 'base/L/base.tar.gz', join(work, 'big')], env)).code, 0);
      writeFileSync(join(work, 'other'), randomBytes(3500));
      const clash = await repoAsync(work, ['put', 'base/L/base.tar.gz', join(work, 'other')], env);
      assert.equal(clash.code, 1);
      assert.match(
        clash.stderr,
        /base\/L\/base\.tar\.gz\.part-00000 is already in the repository with different content/,
      );

      const got = await repoAsync(work, ['get', 'base/L/base.tar.gz', join(work, 'got')], env);
      assert.equal(got.code, 0, got.stderr);
      assert.ok(readFileSync(join(work, 'got')).equals(big), 'the parts come back as the whole file');
      assert.equal((await repoAsync(work, ['get', 'base/L/nothing', join(work, 'x')], env)).code, 3);

      // Archived WAL is one object whatever its size: readers take wal/NAME whole.
      const archived = await repoAsync(work, ['archive', join(work, 'big'), '000000010000000000000001'], env);
      assert.equal(archived.code, 0, archived.stderr);
      assert.equal((await repoAsync(work, ['list', 'wal/'], env)).stdout, 'wal/000000010000000000000001\n');

      const gone = await repoAsync(work, ['delete'], env, `${listed.stdout.trim()}\nbase/L/never-there\n`);
      assert.equal(gone.code, 0, gone.stderr);
      assert.equal((await repoAsync(work, ['list', 'base/'], env)).stdout, '');
    } finally {
      server.close();
      rmSync(work, { recursive: true, force: true });
    }
  },
);

test('the data-tier image installs curl and wharf-db-repo', () => {
  const files = dataTierImageFiles('debian:bookworm');
  assert.match(files.Dockerfile!, /install -y --no-install-recommends .* curl ca-certificates/);
  assert.match(
    files.Dockerfile!,
    /COPY wharf-db-agent wharf-db-entrypoint wharf-db-repo \/usr\/local\/bin\//,
  );
  assert.equal(files['wharf-db-repo'], REPO_SCRIPT);
});
