/**
 * pg_rewind for `wharf db rejoin`: the pure parts. An old primary (after a
 * failover, or a switchover it could not follow) or a standby left on an old
 * timeline still has its data directory; pg_rewind copies only the blocks
 * that changed since the timelines forked (plus every non-relation file) from
 * the current primary, where a fresh base backup copies everything.
 *
 * The rewind runs in a one-off container on the node's data directory while
 * its own container is stopped (pg_rewind refuses a running target). It
 * connects to the primary as the replication role, which gets the four
 * function grants the PostgreSQL documentation lists for a non-superuser
 * pg_rewind source; the password reaches libpq as PGPASSWORD from the
 * environment, never argv. After it, the data directory is made a standby
 * of the primary exactly as a clone is (standby.signal, primary_conninfo with
 * the passfile, peers, no fence, no read-only default, archiving only on
 * the backup node). When pg_rewind fails, the signal and fence files the
 * node had are put back before the caller falls back to a fresh copy.
 */
import { docker, singleQuoted, type Command } from '../commands/base.js';
import { cloneArchiveScript } from './backup/scripts.js';
import {
  FENCE_FILE,
  HOLD_FILE,
  nodeFilesScript,
  primaryConninfo,
  REPLICATION_PASSWORD_ENV,
  sqlLiteral,
} from './commands.js';
import type { DbNode, DbTier } from './config.js';

/** The rewind script's exit code when there is nothing to rewind (no data directory, no pg_rewind in the image). */
export const REWIND_NOT_POSSIBLE = 3;
/** The rewind script's exit code when pg_rewind itself failed (the signal and fence files were put back). */
export const REWIND_FAILED = 4;
/** Prefix of the lines the rewind script prints about itself (not pg_rewind's own). */
const MARK = 'wharf-rewind:';

/**
 * Grants the replication role what a non-superuser pg_rewind source needs
 * (the list in PostgreSQL's pg_rewind documentation); idempotent.
 */
export function rewindGrantsSql(user: string): string {
  const fns = [
    'pg_catalog.pg_ls_dir(text, boolean, boolean)',
    'pg_catalog.pg_stat_file(text, boolean)',
    'pg_catalog.pg_read_binary_file(text)',
    'pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean)',
  ];
  return (
    fns
      .map((fn) => `SELECT format('GRANT EXECUTE ON FUNCTION ${fn} TO %I', ${sqlLiteral(user)}) \\gexec`)
      .join('\n') + '\n'
  );
}

/**
 * Run on the primary before pg_rewind: pg_rewind compares the timelines in
 * both pg_control files, and a just-promoted primary's pg_control keeps the
 * old timeline until its first checkpoint on the new one completes (a
 * promotion only requests one, spread over checkpoint_completion_target);
 * without this the rewind finds "the same timeline", does nothing, and the
 * node then refuses to follow ("requested timeline N is not a child of this
 * server's history").
 */
export const REWIND_CHECKPOINT_SQL = 'CHECKPOINT;\n';

/** A libpq keyword value (quoted when it holds a space, a quote or a backslash, or is empty). */
function conninfoValue(value: string): string {
  return /^[^\s'\\]+$/.test(value) ? value : `'${value.replace(/[\\']/g, '\\$&')}'`;
}

/**
 * pg_rewind's `--source-server`: a normal (not replication) connection to the
 * primary's database as the replication role; no password (PGPASSWORD).
 */
export function rewindSourceConninfo(tier: DbTier, primary: DbNode): string {
  return [
    ['host', primary.host],
    ['port', String(tier.port)],
    ['user', tier.replicationUser],
    ['dbname', tier.database],
    ['connect_timeout', '10'],
    ['application_name', 'wharf-rewind'],
  ]
    .map(([k, v]) => `${k}=${conninfoValue(v!)}`)
    .join(' ');
}

/**
 * The pg_rewind command line the script runs as user postgres (pg_rewind
 * refuses root). `--restore-target-wal` is added by the script only when the
 * node's configuration has a restore_command.
 */
export function rewindArgv(tier: DbTier, primary: DbNode): string[] {
  return [
    'pg_rewind',
    '-D',
    tier.dataDir,
    `--source-server=${rewindSourceConninfo(tier, primary)}`,
    '--progress',
  ];
}

/**
 * In a one-off container (as root) on `node`'s data directory, its own
 * container stopped: rewind it to `primary`'s timeline and make it a standby
 * of `primary`; prints pg_rewind's messages (progress lines dropped).
 * Exits 0 when the node is ready to start as a standby, REWIND_NOT_POSSIBLE
 * when there is no data directory or no pg_rewind, REWIND_FAILED when
 * pg_rewind failed (standby.signal and the fence file as they were before).
 */
export function rewindScript(tier: DbTier, primary: DbNode, node: DbNode): string {
  const d = tier.dataDir;
  const asPostgres = 'setpriv --reuid=postgres --regid=postgres --init-groups';
  const pgRewind = rewindArgv(tier, primary).map(singleQuoted).join(' ');
  return [
    'set -u',
    `d=${d}`,
    `if [ ! -s "$d/PG_VERSION" ]; then echo '${MARK} no data directory at ${d}'; exit ${REWIND_NOT_POSSIBLE}; fi`,
    `if ! command -v pg_rewind >/dev/null; then echo '${MARK} the image has no pg_rewind'; exit ${REWIND_NOT_POSSIBLE}; fi`,
    // What the node had, to put back when pg_rewind fails (it deletes files the primary lacks).
    'keep=$(mktemp -d)',
    `for f in standby.signal recovery.signal ${FENCE_FILE}; do if [ -e "$d/$f" ]; then cp -p "$d/$f" "$keep/$f"; fi; done`,
    // A crashed target gets single-user crash recovery from pg_rewind, which refuses standby mode.
    'rm -f "$d/standby.signal" "$d/recovery.signal"',
    `restore=$(${asPostgres} postgres -D "$d" -C restore_command 2>/dev/null || true)`,
    'extra=',
    'if [ -n "$restore" ]; then extra=--restore-target-wal; fi',
    `if PGPASSWORD="$${REPLICATION_PASSWORD_ENV}" ${asPostgres} ${pgRewind} $extra >"$keep/log" 2>&1; then rc=0; else rc=$?; fi`,
    // --progress redraws one line with \r: keep pg_rewind's messages, drop the progress lines.
    `tr '\\r' '\\n' < "$keep/log" | grep -v -E '^[0-9]+/[0-9]+ kB \\(' | grep -v '^$' || true`,
    'if [ "$rc" != 0 ]; then',
    `  for f in standby.signal recovery.signal ${FENCE_FILE}; do if [ -e "$keep/$f" ]; then cp -p "$keep/$f" "$d/$f"; fi; done`,
    `  echo '${MARK} pg_rewind exited with '"$rc"`,
    `  exit ${REWIND_FAILED}`,
    'fi',
    `echo '${MARK} rewound'`,
    // Now a standby of the primary, as a clone is: pg_rewind copied the primary's configuration files.
    'set -e',
    `sed -i '/^primary_conninfo/d;/^default_transaction_read_only/d' "$d/postgresql.auto.conf"`,
    `rm -f "$d/${FENCE_FILE}" "$d/${HOLD_FILE}" "$d/recovery.signal"`,
    'touch "$d/standby.signal"',
    `printf '%s\\n' ${singleQuoted(`primary_conninfo = ${sqlLiteral(primaryConninfo(tier, primary, node))}`)} >> "$d/postgresql.auto.conf"`,
    nodeFilesScript(tier, node),
    cloneArchiveScript(tier, node),
    `chown -R postgres:postgres "$d"`,
    `chmod 700 "$d"`,
    'rm -rf "$keep"',
  ].join('\n');
}

/** What `rewindScript` reported. */
export type RewindOutcome =
  | { ok: true; nothingToDo: boolean; copiedMb?: number; totalMb?: number; divergedAt?: string }
  | { ok: false; reason: string };

/** Reads the rewind script's exit code and output (pure). */
export function parseRewindOutput(code: number, output: string): RewindOutcome {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  if (code === 0) {
    const copy = /need to copy (\d+) MB \(total source directory size is (\d+) MB\)/.exec(output);
    const diverged = /servers diverged at WAL location (\S+) on timeline (\d+)/.exec(output);
    return {
      ok: true,
      nothingToDo: /no rewind required/.test(output),
      ...(copy ? { copiedMb: Number(copy[1]), totalMb: Number(copy[2]) } : {}),
      ...(diverged ? { divergedAt: `${diverged[1]} on timeline ${diverged[2]}` } : {}),
    };
  }
  const own = lines.find((l) => l.startsWith(MARK) && !/exited with/.test(l));
  if (code === REWIND_NOT_POSSIBLE && own) return { ok: false, reason: own.slice(MARK.length).trim() };
  const errors = lines.filter((l) => /^pg_rewind: (error|fatal): /.test(l));
  const last = errors[errors.length - 1];
  if (last) return { ok: false, reason: `pg_rewind: ${last.replace(/^pg_rewind: (error|fatal): /, '')}` };
  const tail = lines.filter((l) => !l.startsWith(MARK)).pop();
  return {
    ok: false,
    reason: tail ? `pg_rewind failed (${tail})` : `the rewind exited with code ${code}`,
  };
}

/** `docker inspect` of the restarted node's container: `RESTARTS STATUS`. */
export function containerRunCommand(service: string): Command {
  return docker('inspect', '--format', "'{{.RestartCount}} {{.State.Status}}'", service);
}

/** The last lines of the node container's log (Postgres writes to stderr; 2>&1 keeps both). */
export function containerLogTail(service: string, lines = 30): Command {
  return [...docker('logs', '--tail', String(lines), service), '2>&1'];
}

/** Whether a rewound node's container is still trying: running and not restarted since it was started. */
export function containerStillStarting(inspect: string): boolean {
  const [restarts, status] = inspect.trim().split(/\s+/);
  return status === 'running' && restarts === '0';
}

/** The line of a Postgres log that says why it stopped (the last FATAL or PANIC), without its prefix. */
export function postgresFailure(log: string): string | undefined {
  const lines = log.split('\n').filter((l) => /\b(FATAL|PANIC):/.test(l));
  return lines[lines.length - 1]?.replace(/^.*?\b(FATAL|PANIC):\s*/, '').trim();
}

/** pg_rewind's lines worth showing: where the timelines forked and where the rewind starts from. */
export function rewindNotes(output: string): string[] {
  return output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) =>
      /^pg_rewind: (servers diverged|rewinding from|no rewind required|source and target)/.test(l),
    );
}
