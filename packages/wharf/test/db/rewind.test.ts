import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandLine } from '../../src/commands/base.js';
import { oneOffOnData } from '../../src/db/commands.js';
import { resolveDbTier, type DbTier } from '../../src/db/config.js';
import { rejoinSummary } from '../../src/db/rejoin-ops.js';
import {
  containerLogTail,
  containerRunCommand,
  containerStillStarting,
  parseRewindOutput,
  postgresFailure,
  REWIND_FAILED,
  REWIND_NOT_POSSIBLE,
  rewindArgv,
  rewindGrantsSql,
  rewindNotes,
  rewindScript,
  rewindSourceConninfo,
} from '../../src/db/rewind.js';
import { load, type Raw } from '../commands/support.js';
import { tierConfig } from './support.js';

async function tier(backup?: unknown): Promise<DbTier> {
  const raw = tierConfig();
  if (backup) {
    const replica = (raw.accessories as Record<string, Raw>)['postgres-replica']!;
    replica.directories = [...(replica.directories as string[]), 'backups:/backups'];
    (raw['x-wharf-db'] as Raw).backup = backup;
  }
  return resolveDbTier(await load(raw));
}

test('the replication role gets the four function grants a non-superuser pg_rewind source needs', () => {
  const sql = rewindGrantsSql('repl"ica');
  for (const fn of [
    'pg_catalog.pg_ls_dir(text, boolean, boolean)',
    'pg_catalog.pg_stat_file(text, boolean)',
    'pg_catalog.pg_read_binary_file(text)',
    'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
  ]) {
    assert.ok(sql.includes(`SELECT format('GRANT EXECUTE ON FUNCTION ${fn} TO %I', 'repl"ica') \\gexec`), fn);
  }
  assert.equal(sql.split('\n').filter(Boolean).length, 4);
});

test('pg_rewind connects to the primary database as the replication role, password never in argv', async () => {
  const t = await tier();
  const [primary] = t.nodes;
  assert.equal(
    rewindSourceConninfo(t, primary!),
    'host=10.0.0.1 port=5432 user=replicator dbname=postgres connect_timeout=10 application_name=wharf-rewind',
  );
  assert.deepEqual(rewindArgv(t, primary!), [
    'pg_rewind',
    '-D',
    '/var/lib/postgresql/data',
    '--source-server=host=10.0.0.1 port=5432 user=replicator dbname=postgres connect_timeout=10 application_name=wharf-rewind',
    '--progress',
  ]);
  // A value with a space or quote is quoted the libpq way.
  assert.match(rewindSourceConninfo({ ...t, database: "my db's" }, primary!), / dbname='my db\\'s' /);
});

test('the rewind runs in a one-off container on the data directory with the password as -e NAME only', async () => {
  const t = await tier();
  const [primary, standby] = t.nodes;
  const script = rewindScript(t, primary!, standby!);
  const line = commandLine(oneOffOnData(standby!, script, ['WHARF_REPLICATION_PASSWORD']));
  assert.match(
    line,
    /^docker run --rm -i -e WHARF_REPLICATION_PASSWORD --volume \$PWD\/app-postgres-replica\/data:\/var\/lib\/postgresql\/data --entrypoint sh registry\.example\/data:1 -c '/,
  );
  assert.match(script, /PGPASSWORD="\$WHARF_REPLICATION_PASSWORD" setpriv --reuid=postgres/);
  assert.match(script, /primary_conninfo = '\\''host=10\.0\.0\.1 port=5432 user=replicator passfile=/);
  assert.match(script, /application_name=postgres-replica/);
  // No archiving on a node that is not the backup node; no -R (it would inline a connection string of its own).
  assert.match(script, /sed -i '\/\^archive_mode\/d;\/\^archive_command\/d'/);
  assert.doesNotMatch(script, /archive_mode = '\\''always/);
  assert.doesNotMatch(script, /--write-recovery-conf|'-R'/);
  const withBackup = await tier({ path: '/backups' });
  assert.match(
    rewindScript(withBackup, withBackup.nodes[0]!, withBackup.nodes[1]!),
    /archive_mode = '\\''always/,
  );
  const sh = spawnSync('sh', ['-n', '-c', script]);
  assert.equal(sh.status, 0, String(sh.stderr));
});

/**
 * The script run by sh on a temporary data directory, with stand-ins for
 * pg_rewind (its documented exit status and messages), setpriv (runs the
 * program; a test is not root), postgres -C (prints RESTORE) and chown.
 */
function runScript(t: DbTier, options: { rewind: 'ok' | 'fail'; restore?: string; files: string[] }) {
  const root = mkdtempSync(join(tmpdir(), 'wharf-rewind-'));
  const data = join(root, 'data');
  const bin = join(root, 'bin');
  mkdirSync(data);
  mkdirSync(bin);
  writeFileSync(join(data, 'PG_VERSION'), '15\n');
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    "primary_conninfo = 'host=old'\ndefault_transaction_read_only = 'on'\narchive_mode = 'always'\n",
  );
  for (const f of options.files) writeFileSync(join(data, f), `${f} as before\n`);
  const stub = (name: string, body: string) => {
    writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(bin, name), 0o755);
  };
  stub('setpriv', 'while [ "${1#--}" != "$1" ]; do shift; done\nexec "$@"');
  stub('chown', 'true');
  stub('postgres', 'printf "%s\\n" "$RESTORE"');
  stub(
    'pg_rewind',
    [
      `printf '%s\\n' "$@" > ${root}/argv`,
      `printf '%s' "$PGPASSWORD" > ${root}/password`,
      // pg_rewind deletes files the source lacks, the fence among them.
      `rm -f "$2/wharf.fenced" "$2/wharf.hold"`,
      'if [ "$FAKE" = fail ]; then echo "pg_rewind: error: could not connect to server: Connection refused" >&2; exit 1; fi',
      `printf 'pg_rewind: servers diverged at WAL location 0/3000108 on timeline 2\\r1/9 kB (11%%) copied\\r9/9 kB (100%%) copied\\npg_rewind: need to copy 52 MB (total source directory size is 310 MB)\\npg_rewind: Done!\\n' >&2`,
    ].join('\n'),
  );
  const result = spawnSync('sh', ['-c', rewindScript({ ...t, dataDir: data }, t.nodes[0]!, t.nodes[1]!)], {
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      WHARF_REPLICATION_PASSWORD: 'pw',
      FAKE: options.rewind,
      RESTORE: options.restore ?? '',
    },
    encoding: 'utf8',
  });
  const read = (f: string) => (existsSync(join(data, f)) ? readFileSync(join(data, f), 'utf8') : undefined);
  return { result, read, argv: readFileSync(join(root, 'argv'), 'utf8').split('\n'), root };
}

test('after a rewind the node is a standby of the primary: signal, conninfo, peers, no fence, no read-only default', async () => {
  const t = await tier();
  const { result, read, argv, root } = runScript(t, {
    rewind: 'ok',
    files: ['standby.signal', 'wharf.fenced', 'wharf.hold'],
  });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.equal(readFileSync(join(root, 'password'), 'utf8'), 'pw');
  assert.ok(!argv.includes('--restore-target-wal'), 'no restore_command, no --restore-target-wal');
  assert.equal(read('standby.signal'), '');
  assert.equal(read('wharf.fenced'), undefined);
  assert.equal(read('wharf.hold'), undefined);
  assert.equal(
    read('postgresql.auto.conf'),
    `primary_conninfo = 'host=10.0.0.1 port=5432 user=replicator passfile=${join(root, 'data')}/wharf.pgpass application_name=postgres-replica'\n`,
  );
  assert.equal(read('wharf.peers'), '10.0.0.1:8008\n');
  assert.equal(read('wharf.pgpass'), '*:*:*:replicator:pw\n');
  // The progress lines are dropped, pg_rewind's messages kept and read.
  assert.doesNotMatch(result.stdout, /kB \(/);
  assert.deepEqual(parseRewindOutput(result.status!, result.stdout), {
    ok: true,
    nothingToDo: false,
    copiedMb: 52,
    totalMb: 310,
    divergedAt: '0/3000108 on timeline 2',
  });
});

test('with a restore_command configured the rewind fetches missing target WAL with it', async () => {
  const t = await tier();
  const { result, argv } = runScript(t, { rewind: 'ok', restore: 'cp /a/%f %p', files: [] });
  assert.equal(result.status, 0, result.stdout + result.stderr);
  assert.ok(argv.includes('--restore-target-wal'), argv.join(' '));
});

test('a failed pg_rewind puts standby.signal and the fence file back and says why', async () => {
  const t = await tier();
  const { result, read } = runScript(t, { rewind: 'fail', files: ['standby.signal', 'wharf.fenced'] });
  assert.equal(result.status, REWIND_FAILED, result.stdout + result.stderr);
  assert.equal(read('standby.signal'), 'standby.signal as before\n');
  assert.equal(read('wharf.fenced'), 'wharf.fenced as before\n');
  // The configuration is left to the copy that follows; nothing was rewritten.
  assert.match(read('postgresql.auto.conf')!, /host=old/);
  const outcome = parseRewindOutput(result.status!, result.stdout);
  assert.deepEqual(outcome, {
    ok: false,
    reason: 'pg_rewind: could not connect to server: Connection refused',
  });
});

test('a failed pg_rewind on a node without a fence leaves none', async () => {
  const t = await tier();
  const { result, read } = runScript(t, { rewind: 'fail', files: ['standby.signal'] });
  assert.equal(result.status, REWIND_FAILED);
  assert.equal(read('wharf.fenced'), undefined);
  assert.equal(read('standby.signal'), 'standby.signal as before\n');
});

test('no data directory: nothing to rewind, the reason in one line', async () => {
  const t = await tier();
  const dir = mkdtempSync(join(tmpdir(), 'wharf-rewind-empty-'));
  const result = spawnSync('sh', ['-c', rewindScript({ ...t, dataDir: dir }, t.nodes[0]!, t.nodes[1]!)], {
    encoding: 'utf8',
  });
  assert.equal(result.status, REWIND_NOT_POSSIBLE);
  assert.deepEqual(parseRewindOutput(result.status!, result.stdout), {
    ok: false,
    reason: `no data directory at ${dir}`,
  });
});

test('pg_rewind output: nothing to do, errors, and a container that did not run', () => {
  assert.deepEqual(
    parseRewindOutput(
      0,
      'pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\nwharf-rewind: rewound\n',
    ),
    { ok: true, nothingToDo: true },
  );
  assert.deepEqual(
    parseRewindOutput(
      REWIND_FAILED,
      'pg_rewind: error: target server needs to use either data checksums or "wal_log_hints = on"\nwharf-rewind: pg_rewind exited with 1\n',
    ),
    {
      ok: false,
      reason: 'pg_rewind: target server needs to use either data checksums or "wal_log_hints = on"',
    },
  );
  assert.deepEqual(parseRewindOutput(REWIND_NOT_POSSIBLE, 'wharf-rewind: the image has no pg_rewind\n'), {
    ok: false,
    reason: 'the image has no pg_rewind',
  });
  assert.deepEqual(parseRewindOutput(125, 'docker: Error response from daemon: No such image: x.\n'), {
    ok: false,
    reason: 'pg_rewind failed (docker: Error response from daemon: No such image: x.)',
  });
  assert.deepEqual(parseRewindOutput(137, ''), { ok: false, reason: 'the rewind exited with code 137' });
});

test('the rejoin result line names the path taken', () => {
  assert.equal(
    rejoinSummary(
      { node: 'pg1', primary: 'pg2', path: 'rewind', rewoundMb: 52, sourceMb: 310, seconds: 4.26 },
      '10.0.0.1',
    ),
    "pg1 on 10.0.0.1 streams from pg2 again: rewound from pg2 (pg_rewind copied 52 MB of changed blocks and files; the primary's data directory is 310 MB), in 4.3 s.",
  );
  assert.equal(
    rejoinSummary(
      { node: 'pg1', primary: 'pg2', path: 'rewind', nothingToRewind: true, seconds: 2 },
      '10.0.0.1',
    ),
    'pg1 on 10.0.0.1 streams from pg2 again: rewound from pg2 (pg_rewind found nothing to rewind), in 2.0 s.',
  );
  assert.equal(
    rejoinSummary({ node: 'pg1', primary: 'pg2', path: 'copy', copyReason: '--copy', seconds: 9 }, 'h'),
    'pg1 on h streams from pg2 again: rebuilt from a fresh base backup of pg2 (--copy), in 9.0 s.',
  );
  assert.equal(
    rejoinSummary(
      { node: 'pg1', primary: 'pg2', path: 'copy', copyReason: 'no data directory at /d', seconds: 9 },
      'h',
    ),
    'pg1 on h streams from pg2 again: rebuilt from a fresh base backup of pg2 (no rewind: no data directory at /d), in 9.0 s.',
  );
});

test("after the rewind: a container that exited or restarted is given up on, with Postgres' FATAL line", () => {
  assert.equal(
    commandLine(containerRunCommand('app-postgres')),
    "docker inspect --format '{{.RestartCount}} {{.State.Status}}' app-postgres",
  );
  assert.equal(commandLine(containerLogTail('app-postgres')), 'docker logs --tail 30 app-postgres 2>&1');
  assert.equal(containerStillStarting('0 running\n'), true);
  assert.equal(containerStillStarting('1 running'), false);
  assert.equal(containerStillStarting('0 exited'), false);
  assert.equal(containerStillStarting('0 restarting'), false);
  assert.equal(containerStillStarting(''), false);
  const log = [
    '2026-11-27 11:50:01.100 UTC [7] LOG:  starting PostgreSQL 15.14',
    "2026-11-27 11:50:01.300 UTC [9] FATAL:  requested timeline 3 is not a child of this server's history",
    '2026-11-27 11:50:01.400 UTC [9] DETAIL:  Latest checkpoint is at 0/9000028 on timeline 2.',
    '2026-11-27 11:50:02.100 UTC [12] PANIC:  could not locate a valid checkpoint record',
    'wharf-db-agent: listening on port 8008',
  ].join('\n');
  assert.equal(postgresFailure(log), 'could not locate a valid checkpoint record');
  assert.equal(postgresFailure('LOG:  database system is ready'), undefined);
});

test('the lines of pg_rewind shown to the user: where the timelines forked and where the rewind starts', () => {
  const output = [
    'pg_rewind: connected to server',
    'pg_rewind: servers diverged at WAL location 0/A000108 on timeline 4',
    'pg_rewind: rewinding from last common checkpoint at 0/9000060 on timeline 4',
    'pg_rewind: reading source file list',
    'pg_rewind: need to copy 52 MB (total source directory size is 310 MB)',
    'pg_rewind: Done!',
    'wharf-rewind: rewound',
  ].join('\n');
  assert.deepEqual(rewindNotes(output), [
    'pg_rewind: servers diverged at WAL location 0/A000108 on timeline 4',
    'pg_rewind: rewinding from last common checkpoint at 0/9000060 on timeline 4',
  ]);
  assert.deepEqual(
    rewindNotes(
      'pg_rewind: source and target cluster are on the same timeline\npg_rewind: no rewind required\n',
    ),
    ['pg_rewind: source and target cluster are on the same timeline', 'pg_rewind: no rewind required'],
  );
});
