import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandLine } from '../../src/commands/base.js';
import { AGENT_SCRIPT, dataTierImageFiles, ENTRYPOINT_SCRIPT } from '../../src/db/agent.js';
import {
  baseBackupScript,
  fenceAndStopCommand,
  fenceSql,
  haproxyConfig,
  haproxySetServer,
  nodeFilesScript,
  oneOffOnData,
  primaryConninfo,
  promoteSql,
  psqlCommand,
  replicationRoleSql,
  sqlLiteral,
  switchPoint,
  waitReplaySql,
} from '../../src/db/commands.js';
import { resolveDbTier, type DbTier } from '../../src/db/config.js';
import { load } from '../commands/support.js';
import { tierConfig } from './support.js';

async function tier(): Promise<DbTier> {
  return resolveDbTier(await load(tierConfig()));
}

test('psql runs in the node container as postgres with SQL on stdin; secrets only as -e NAME', async () => {
  const t = await tier();
  const [primary] = t.nodes;
  assert.equal(
    commandLine(psqlCommand(t, primary!, ['WHARF_REPLICATION_PASSWORD'])),
    "docker exec -i --user postgres -e WHARF_REPLICATION_PASSWORD app-postgres psql -X -q -At -v ON_ERROR_STOP=1 -U 'heatwave' -d 'postgres' -f -",
  );
  const sql = replicationRoleSql('replicator');
  assert.match(sql, /^\\getenv wharf_replication_password WHARF_REPLICATION_PASSWORD$/m);
  assert.match(sql, /CREATE ROLE %I WITH REPLICATION LOGIN', 'replicator'\) WHERE NOT EXISTS/);
  assert.match(sql, /PASSWORD %L', 'replicator', :'wharf_replication_password'\) \\gexec/);
});

test('the standby connects with a passfile, never an inline password', async () => {
  const t = await tier();
  const [primary, standby] = t.nodes;
  const info = primaryConninfo(t, primary!, standby!);
  assert.equal(
    info,
    'host=10.0.0.1 port=5432 user=replicator passfile=/var/lib/postgresql/data/wharf.pgpass application_name=postgres-replica',
  );
  const script = baseBackupScript(t, primary!, standby!);
  assert.match(
    script,
    /PGPASSWORD="\$WHARF_REPLICATION_PASSWORD" pg_basebackup -h 10\.0\.0\.1 -p 5432 -U 'replicator' -D \/var\/lib\/postgresql\/data -X stream -c fast -w/,
  );
  assert.match(script, /touch \/var\/lib\/postgresql\/data\/standby\.signal/);
  assert.match(script, /sed -i '\/\^primary_conninfo\/d;\/\^default_transaction_read_only\/d'/);
  assert.match(script, /chown -R postgres:postgres \/var\/lib\/postgresql\/data/);
  const oneOff = commandLine(oneOffOnData(standby!, script, ['WHARF_REPLICATION_PASSWORD']));
  assert.match(
    oneOff,
    /^docker run --rm -i -e WHARF_REPLICATION_PASSWORD --volume \$PWD\/app-postgres-replica\/data:\/var\/lib\/postgresql\/data --entrypoint sh registry\.example\/data:1 -c '/,
  );
  assert.doesNotMatch(oneOff, /secret/i);
});

test('the passfile script escapes : and \\ as pgpass requires, and lists the other nodes as peers', async () => {
  const t = await tier();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-db-'));
  const script = nodeFilesScript({ ...t, dataDir: dir }, t.nodes[0]!).replace(/^chown .*$/m, 'true');
  const result = spawnSync('sh', ['-c', script], {
    env: { PATH: process.env.PATH, WHARF_REPLICATION_PASSWORD: 'a:b\\c d' },
    encoding: 'utf8',
  });
  assert.equal(result.status, 0, result.stderr);
  const pgpass = spawnSync('cat', [join(dir, 'wharf.pgpass'), join(dir, 'wharf.peers')], {
    encoding: 'utf8',
  }).stdout;
  assert.equal(pgpass, '*:*:*:replicator:a\\:b\\\\c d\n10.0.0.2:8008\n');
});

test('switchover SQL: one fence run, a server-side replay wait, promotion that prints the new history', async () => {
  const t = await tier();
  const [primary, standby] = t.nodes;
  const fence = fenceSql(t, standby!, primary!, 'switchover to postgres-replica');
  assert.match(
    fence,
    /^\\! printf '%s\\n' 'switchover to postgres-replica' > \/var\/lib\/postgresql\/data\/wharf\.fenced$/m,
  );
  assert.match(
    fence,
    /ALTER SYSTEM SET primary_conninfo = 'host=10\.0\.0\.2 port=5432 user=replicator passfile=/,
  );
  assert.match(fence, /ALTER SYSTEM SET default_transaction_read_only = on;/);
  assert.match(
    fence,
    /pg_terminate_backend\(pid\) FROM pg_stat_activity WHERE backend_type = 'client backend'/,
  );
  assert.match(fence, /SELECT pg_current_wal_lsn\(\);\n$/);
  assert.match(
    commandLine(fenceAndStopCommand(t, primary!, 30)),
    /^docker exec -i --user postgres app-postgres sh -c 'psql .* -f - && touch \/var\/lib\/postgresql\/data\/wharf\.hold && pg_ctl stop -D \/var\/lib\/postgresql\/data -m fast -w -t 30 >\/dev\/null'$/,
  );
  const wait = waitReplaySql('0/3051A88', 30);
  assert.match(
    wait,
    /WHILE coalesce\(pg_last_wal_replay_lsn\(\), '0\/0'::pg_lsn\) < '0\/3051A88'::pg_lsn LOOP/,
  );
  assert.match(wait, /interval '30 seconds'/);
  assert.throws(() => waitReplaySql("0/1'; DROP", 1), /not an LSN/);
  const promote = promoteSql(t, 30, '0/3051A88');
  assert.ok(
    promote.indexOf('pg_last_wal_replay_lsn') < promote.indexOf('pg_promote'),
    'waits before promoting',
  );
  assert.match(promote, /\\! rm -f \/var\/lib\/postgresql\/data\/wharf\.fenced/);
  assert.match(promote, /ALTER SYSTEM RESET default_transaction_read_only;/);
  assert.match(promote, /SELECT pg_promote\(true, 30\);/);
  assert.equal(switchPoint('1\t0/3051B00\tno recovery target specified\n'), '0/3051B00');
  assert.equal(switchPoint('1\t0/3000000\tx\n\n2\t0/5000000\tno recovery target specified\n'), '0/5000000');
  assert.equal(switchPoint(''), undefined);
  assert.equal(sqlLiteral("it's"), "'it''s'");
});

test('HAProxy: every node behind its pgbouncer, checked on the agent, sessions cut when it goes down', async () => {
  const t = await tier();
  const cfg = haproxyConfig(t, { disabled: ['postgres'] });
  assert.match(cfg, /^  master-worker$/m);
  assert.match(cfg, /^  stats socket \/tmp\/wharf-haproxy\.sock mode 600 level admin$/m);
  assert.match(cfg, /^  bind :6433$/m);
  assert.match(cfg, /^  option httpchk GET \/primary$/m);
  assert.match(cfg, /^  http-check expect status 200$/m);
  assert.match(cfg, /on-marked-down shutdown-sessions/);
  assert.match(cfg, /^  server postgres 10\.0\.0\.1:6432 check port 8008 disabled$/m);
  assert.match(cfg, /^  server postgres-replica 10\.0\.0\.2:6432 check port 8008$/m);
  assert.equal(
    commandLine(haproxySetServer('app-haproxy', 'postgres', false)).endsWith(
      " /tmp/wharf-haproxy.sock 'disable server postgres_write/postgres'",
    ),
    true,
  );
});

test(
  'the agent and entrypoint parse (perl -c, sh -n) and the image context holds both',
  { skip: spawnSync('perl', ['-v']).status !== 0 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-agent-'));
    writeFileSync(join(dir, 'agent'), AGENT_SCRIPT);
    writeFileSync(join(dir, 'entry'), ENTRYPOINT_SCRIPT);
    const perl = spawnSync('perl', ['-c', join(dir, 'agent')], { encoding: 'utf8' });
    assert.equal(perl.status, 0, perl.stderr);
    const sh = spawnSync('sh', ['-n', join(dir, 'entry')], { encoding: 'utf8' });
    assert.equal(sh.status, 0, sh.stderr);
    const files = dataTierImageFiles('wharf/debian:bookworm');
    assert.match(files.Dockerfile!, /^FROM wharf\/debian:bookworm$/m);
    assert.match(files.Dockerfile!, /ENTRYPOINT \["wharf-db-entrypoint"\]/);
    assert.equal(files['wharf-db-agent'], AGENT_SCRIPT);
  },
);

test(
  'the agent answers /primary 200 only on an unfenced primary and boot-check fences when a peer is primary',
  { skip: spawnSync('perl', ['-v']).status !== 0 },
  async () => {
    // A fake psql on PATH stands in for the local Postgres (the agent only runs `psql`).
    const dir = mkdtempSync(join(tmpdir(), 'wharf-agent-'));
    const pgdata = join(dir, 'data');
    spawnSync('mkdir', ['-p', pgdata, join(dir, 'bin')]);
    writeFileSync(join(dir, 'agent'), AGENT_SCRIPT);
    writeFileSync(
      join(dir, 'bin', 'psql'),
      `#!/bin/sh\nwhile IFS= read -r line; do case "$line" in '\\echo '*) echo "\${line#\\\\echo }";; select*) cat ${dir}/role;; esac; done\n`,
      { mode: 0o755 },
    );
    writeFileSync(join(dir, 'role'), 'f|\n');
    const port = 18000 + Math.floor(Math.random() * 2000);
    const { spawn } = await import('node:child_process');
    const env = {
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      PGDATA: pgdata,
      WHARF_DB_AGENT_PORT: String(port),
    };
    const agent = spawn('perl', [join(dir, 'agent'), 'serve'], { env, stdio: 'ignore' });
    try {
      const get = async (path: string) => {
        for (let i = 0; ; i++) {
          try {
            const r = await fetch(`http://127.0.0.1:${port}${path}`);
            return { status: r.status, body: await r.text() };
          } catch (error) {
            if (i > 50) throw error;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      };
      assert.deepEqual(await get('/primary'), { status: 200, body: 'primary\n' });
      writeFileSync(join(pgdata, 'wharf.fenced'), 'test\n');
      assert.deepEqual(await get('/primary'), { status: 503, body: 'fenced\n' });
      assert.match((await get('/status')).body, /^role=primary\nfenced=1\n/);
      spawnSync('rm', [join(pgdata, 'wharf.fenced')]);
      writeFileSync(join(dir, 'role'), 't|\n');
      assert.deepEqual(await get('/primary'), { status: 503, body: 'standby\n' });
      assert.equal((await get('/replica')).status, 200);

      // boot-check on a second data dir whose peer (the agent above) answers as primary.
      writeFileSync(join(dir, 'role'), 'f|\n');
      const other = join(dir, 'other');
      spawnSync('mkdir', ['-p', other]);
      writeFileSync(join(other, 'PG_VERSION'), '15\n');
      writeFileSync(join(other, 'wharf.peers'), `127.0.0.1:${port}\n`);
      const check = spawnSync('perl', [join(dir, 'agent'), 'boot-check'], {
        env: { ...env, PGDATA: other },
        encoding: 'utf8',
      });
      assert.equal(check.status, 0, check.stderr);
      assert.match(check.stdout, /is the primary, so this node starts fenced and read-only/);
      assert.equal(spawnSync('test', ['-e', join(other, 'standby.signal')]).status, 0);
      assert.equal(spawnSync('test', ['-e', join(other, 'wharf.fenced')]).status, 0);
    } finally {
      agent.kill();
    }
  },
);
