/**
 * End-to-end: `wharf db backup`, `db backups` and point-in-time
 * `db restore` on a 2-server fleet. The standby pg2 archives WAL; first into
 * a directory on its server (the restore target pg-restore runs on the other
 * server, so the files travel through wharf), then, after the config is
 * switched to the S3-compatible test store (test/support/s3-server.ts in a
 * container, SigV4-checked, listing pages of 2 keys), into a bucket that the
 * restore reads directly. Each phase writes a row, notes the database time,
 * writes another row, and restores to the noted time: exactly the rows
 * before it come back.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { committedProject, pgAccessory, projectHead, pushDataTierImage } from '../support/db-tier.js';
import { fleetUp, sshRun, wharfAsync, type CliResult, type TestFleet } from '../support/fleet.js';

const PASSWORD = 'pg-backup-e2e-secret';
const REPLICATION = 'repl-backup-e2e-secret';
const S3_KEY_ID = 'AKIDWHARFBACKUPTEST';
const S3_SECRET = 's3-backup-e2e-secret-7Qx';
const S3_SERVER_JS = fileURLToPath(new URL('../support/s3-server.js', import.meta.url));

function deployYml(
  fleet: TestFleet,
  images: { data: string; node: string },
  repository: 'path' | 's3',
): string {
  const [a, b] = fleet.servers.map((s) => s.address) as [string, string];
  const pg = (host: string, directories: string[] = []) =>
    pgAccessory(images.data, host, { agent: true, directories });
  const backup =
    repository === 'path'
      ? `
  backup:
    path: /backups`
      : `
  backup:
    from: pg2
    s3:
      endpoint: http://${b}:9000
      bucket: wharf-backups
      prefix: dbbackup/pitr
      region: eu-test-1
      access_key_id: S3_ACCESS_KEY_ID
      secret_access_key: S3_SECRET_ACCESS_KEY
      part_size: 1MB`;
  return `${projectHead(fleet, 'dbbackup', a)}accessories:
  pg1:${pg(a)}
  pg2:${pg(b, ['backups:/backups'])}
  haproxy:
    image: ${images.data}
    host: ${b}
    port: "${b}:6433:6433"
    cmd: haproxy -db -f /usr/local/etc/haproxy/haproxy.cfg
    directories:
      - haproxy:/usr/local/etc/haproxy
  pg-restore:
    image: ${images.data}
    host: ${a}
    env:
      clear:
        POSTGRES_USER: postgres
      secret:
        - POSTGRES_PASSWORD
    directories:
      - restored:/var/lib/postgresql/data
  s3:
    image: ${images.node}
    host: ${b}
    port: "${b}:9000:9000"
    cmd: node /srv/s3-server.mjs
    files:
      - config/s3-server.mjs:/srv/s3-server.mjs
    directories:
      - objects:/data
    env:
      clear:
        S3_REGION: eu-test-1
        S3_DIR: /data
        S3_PAGE_SIZE: "2"
      secret:
        - S3_ACCESS_KEY_ID
        - S3_SECRET_ACCESS_KEY
x-wharf-db:
  primary: pg1
  standbys: [pg2]
  database: app
  replication:
    password: REPLICATION_PASSWORD
  haproxy:
    accessory: haproxy${backup}
`;
}

function project(fleet: TestFleet, images: { data: string; node: string }): string {
  return committedProject('wharf-dbbackup-', {
    'config/deploy.yml': deployYml(fleet, images, 'path'),
    'config/s3-server.mjs': readFileSync(S3_SERVER_JS, 'utf8'),
    '.kamal/secrets': `POSTGRES_PASSWORD=${PASSWORD}\nREPLICATION_PASSWORD=${REPLICATION}\nS3_ACCESS_KEY_ID=${S3_KEY_ID}\nS3_SECRET_ACCESS_KEY=${S3_SECRET}\n`,
  });
}

describe('wharf db backup and point-in-time restore on the fleet', () => {
  let fleet: TestFleet;
  let dir: string;
  let images: { data: string; node: string };
  const outputs: string[] = [];
  const a = () => fleet.servers[0]!.address;
  const b = () => fleet.servers[1]!.address;

  async function run(args: string[], expectOk = true): Promise<CliResult> {
    const r = await wharfAsync(args, dir);
    outputs.push(r.stdout, r.stderr);
    if (expectOk) assert.equal(r.code, 0, `wharf ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r;
  }
  /** SQL on a node's container as postgres (-At output). */
  function psql(host: string, container: string, text: string): string {
    const r = sshRun(
      fleet,
      host,
      `docker exec -i ${container} psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d app -c "${text}"`,
    );
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  }
  const primarySql = (text: string) => psql(a(), 'dbbackup-pg1', text);
  /** Writes A, notes the database time, writes B; returns the noted time. */
  function writeAroundATime(first: string, second: string): string {
    primarySql(`INSERT INTO t (v) VALUES ('${first}')`);
    spawnSync('sleep', ['0.3']);
    const at = primarySql('SELECT clock_timestamp()');
    spawnSync('sleep', ['0.3']);
    primarySql(`INSERT INTO t (v) VALUES ('${second}')`);
    return at;
  }
  function restoredRows(): string[] {
    assert.equal(psql(a(), 'dbbackup-pg-restore', 'SELECT pg_is_in_recovery()'), 'f');
    return psql(a(), 'dbbackup-pg-restore', 'SELECT v FROM t ORDER BY id').split('\n');
  }

  before(() => {
    fleet = fleetUp('dbbackup', 2, 5688);
    images = { data: `${fleet.registry}/dbbackup-data:e2e`, node: `${fleet.registry}/dbbackup-node:e2e` };
    pushDataTierImage(fleet, images.data, [
      ['tag', fleet.base_images.node, images.node],
      ['push', images.node],
    ]);
    dir = project(fleet, images);
    for (const server of fleet.servers)
      sshRun(
        fleet,
        server.address,
        'docker rm -f $(docker ps -aq) >/dev/null 2>&1; rm -rf dbbackup-* .kamal',
      );
  });

  after(() => {
    if (process.env.WHARF_KEEP_FLEET !== '1') fleet?.down();
  });

  test('a directory repository on the standby: archive, two backups, restore to a time between two writes', async () => {
    await run(['accessory', 'boot', 's3']);
    await run(['db', 'setup']);
    assert.equal(psql(b(), 'dbbackup-pg2', 'SHOW archive_mode'), 'always');
    primarySql(
      `CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL); INSERT INTO t (v) VALUES ('before')`,
    );
    const first = await run(['db', 'backup']);
    assert.match(first.stdout, /Backup \d{8}T\d{6}Z of pg2 is in the directory \/backups of pg2/);
    const at = writeAroundATime('A', 'B');
    await run(['db', 'backup']);

    const listed = JSON.parse((await run(['db', 'backups', '--json'])).stdout) as {
      backups: { label: string; node: string; finished_at: string }[];
      wal: { segments: number };
      last_transaction_at: string | null;
      archiver: { failed_count?: number; mode?: string };
    };
    assert.equal(listed.backups.length, 2);
    assert.ok(listed.wal.segments >= 2, JSON.stringify(listed.wal));
    assert.ok(listed.last_transaction_at, 'the last archived transaction is found');
    assert.equal(listed.archiver.mode, 'always');

    // Refusals, before anything is touched.
    const refusals: [string[], RegExp][] = [
      [['--into', 'pg1', '--time', at], /pg1 is a database node of the tier/],
      [['--into', 'nope', '--time', at], /defines no accessory nope/],
      [
        ['--into', 'pg-restore', '--time', '2000-01-01T00:00:00Z'],
        /before the end of the oldest base backup/,
      ],
      [
        ['--into', 'pg-restore', '--time', '2999-01-01T00:00:00Z'],
        /after the last transaction in the archived WAL/,
      ],
      [['--into', 'pg-restore', '--time', '2026-11-27 05:00:00'], /not a timestamp with a time zone/],
    ];
    for (const [args, message] of refusals) {
      const r = await run(['db', 'restore', ...args, '-y'], false);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, message);
    }
    assert.equal(
      sshRun(fleet, a(), 'docker ps -a --format {{.Names}} | grep -c pg-restore').stdout.trim(),
      '0',
    );

    const restored = await run(['db', 'restore', '--into', 'pg-restore', '--time', at, '-y']);
    assert.match(restored.stdout, /pg-restore on .* is restored from/);
    assert.deepEqual(restoredRows(), ['before', 'A']);

    // Retention: keep the newest backup; the older one and the WAL before the kept one's start go.
    const dry = JSON.parse((await run(['db', 'prune', '--keep', '1', '--dry-run', '--json'])).stdout) as {
      removed: string[];
      kept: string[];
      wal_removed: number;
    };
    assert.deepEqual(dry.removed, [listed.backups[0]!.label]);
    assert.deepEqual(dry.kept, [listed.backups[1]!.label]);
    assert.ok(dry.wal_removed >= 1, JSON.stringify(dry));
    const unchanged = JSON.parse((await run(['db', 'backups', '--json'])).stdout) as typeof listed;
    assert.equal(unchanged.backups.length, 2, 'a dry run deletes nothing');
    const pruned = await run(['db', 'prune', '--keep', '1', '-y']);
    assert.match(
      pruned.stdout,
      new RegExp(`Deleted 1 backup\\(s\\) \\(${dry.removed[0]}\\) and ${dry.wal_removed} WAL segment`),
    );
    const after = JSON.parse((await run(['db', 'backups', '--json'])).stdout) as {
      backups: { label: string; start_wal: string }[];
      wal: { first: string };
    };
    assert.deepEqual(
      after.backups.map((x) => x.label),
      dry.kept,
    );
    assert.equal(
      after.wal.first.slice(8),
      after.backups[0]!.start_wal.slice(8),
      'WAL starts at the kept backup',
    );
  });

  test('an S3-compatible repository: the same restore reads the bucket directly', async () => {
    writeFileSync(join(dir, 'config/deploy.yml'), deployYml(fleet, images, 's3'));
    await run(['db', 'setup']);
    await run(['db', 'backup']);
    const at = writeAroundATime('C', 'D');
    await run(['db', 'backup']);
    const listed = JSON.parse((await run(['db', 'backups', '--json'])).stdout) as {
      repository: string;
      backups: unknown[];
      wal: { segments: number };
    };
    assert.equal(listed.repository, `s3://wharf-backups/dbbackup/pitr at http://${b()}:9000`);
    assert.equal(listed.backups.length, 2);
    // The objects are in the store's directory under bucket/prefix.
    const objects = sshRun(
      fleet,
      b(),
      'find dbbackup-s3/objects/wharf-backups/dbbackup/pitr -type f | wc -l',
    );
    assert.ok(Number(objects.stdout.trim()) >= 8, objects.stdout);
    // part_size 1MB: each base.tar.gz over 1 MiB is stored in parts (the restore below reassembles them).
    const parts = sshRun(
      fleet,
      b(),
      'find dbbackup-s3/objects/wharf-backups/dbbackup/pitr/base -name "base.tar.gz.part-*" | wc -l',
    );
    assert.ok(Number(parts.stdout.trim()) >= 4, `base.tar.gz parts: ${parts.stdout}`);

    const restored = await run(['db', 'restore', '--into', 'pg-restore', '--time', at, '-y']);
    assert.match(restored.stdout, /restored from/);
    assert.deepEqual(restoredRows(), ['before', 'A', 'B', 'C']);

    // Prune the bucket to the newest backup (S3 DELETEs); a restore to the end still works from it.
    await run(['db', 'prune', '--keep', '1', '-y']);
    const kept = JSON.parse((await run(['db', 'backups', '--json'])).stdout) as { backups: unknown[] };
    assert.equal(kept.backups.length, 1);
    await run(['db', 'restore', '--into', 'pg-restore', '-y']);
    assert.deepEqual(restoredRows(), ['before', 'A', 'B', 'C', 'D']);

    // Credentials: 0600 files, never in wharf's output.
    const mode = sshRun(fleet, b(), "docker exec dbbackup-pg2 stat -c '%a %U' /etc/wharf-db/repo.env");
    assert.equal(mode.stdout.trim(), '600 postgres');
    const envMode = sshRun(fleet, b(), "stat -c '%a' .kamal/apps/dbbackup/env/accessories/s3.env");
    assert.equal(envMode.stdout.trim(), '600');
    // A wrong secret: the store refuses the signature and wharf says so, without printing either secret.
    const secrets = join(dir, '.kamal/secrets');
    const good = readFileSync(secrets, 'utf8');
    writeFileSync(secrets, good.replace(S3_SECRET, 'not-the-s3-secret'));
    try {
      const refused = await run(['db', 'backups'], false);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /answered HTTP 403 SignatureDoesNotMatch/);
      assert.doesNotMatch(refused.stdout + refused.stderr, /not-the-s3-secret/);
    } finally {
      writeFileSync(secrets, good);
    }
    const all = outputs.join('\n');
    assert.doesNotMatch(all, new RegExp(`${S3_SECRET}|${REPLICATION}|${PASSWORD}`));
  });
});
