/**
 * Pure builders for the shell scripts and SQL of backups and point-in-time
 * restore. Each script runs in a container of the data-tier image
 * (`wharf-db-repo`, pg_basebackup, pg_waldump, tar); wharf only moves bytes
 * between servers when a directory repository is on another server than the
 * restore target.
 */
import { singleQuoted } from '../../commands/base.js';
import { REPLICATION_PASSWORD_ENV, sqlLiteral } from '../commands.js';
import type { BackupRepository, DbNode, DbTier } from '../config.js';
import type { BackupMeta, RestorePlan } from './catalog.js';
import { REPO_ENV_FILE } from './repo-script.js';

/** Postgres' archive_command on the backup node. */
export const ARCHIVE_COMMAND = '/usr/local/bin/wharf-db-repo archive "%p" "%f"';
/** Where a restore stages the repository's files, inside the target's data directory (removed after promotion). */
export const STAGING_DIR = 'wharf-restore';

/** Turns on continuous archiving (archive_mode needs a restart to change; archive_command only a reload). */
export const ARCHIVE_ON_SQL = `ALTER SYSTEM SET archive_mode = 'always';
ALTER SYSTEM SET archive_command = ${sqlLiteral(ARCHIVE_COMMAND)};
SELECT pg_reload_conf() \\g /dev/null
SELECT pg_sleep(0.2) \\g /dev/null
SELECT json_build_object('mode', current_setting('archive_mode'), 'pending_restart', (SELECT pending_restart FROM pg_settings WHERE name = 'archive_mode'), 'in_recovery', pg_is_in_recovery());
`;

/** One JSON line: archiving settings and pg_stat_archiver of a node. */
export const ARCHIVER_SQL = `SELECT json_build_object('mode', current_setting('archive_mode'), 'command', current_setting('archive_command'),
  'in_recovery', pg_is_in_recovery(), 'archived_count', archived_count, 'last_archived_wal', last_archived_wal,
  'last_archived_time', last_archived_time, 'failed_count', failed_count, 'last_failed_wal', last_failed_wal,
  'last_failed_time', last_failed_time) FROM pg_stat_archiver;
`;

/** How many of the newest archived segments `db backups` and a restore search for the last transaction. */
export const LAST_LOOKBACK = 8;

/** Completes the current WAL segment on the primary so the standby archives it. */
export const SWITCH_WAL_SQL = `SELECT pg_switch_wal();\n`;

/**
 * As root in the backup node's container: the repository settings for
 * archive_command in /etc/wharf-db/repo.env (0600, postgres; outside PGDATA,
 * so no base backup or clone copies the credentials) and, for a directory
 * repository, the directory owned by postgres.
 */
export function repoEnvFileScript(repo: BackupRepository): string {
  return [
    'set -e',
    'umask 077',
    `mkdir -p ${dirOf(REPO_ENV_FILE)}`,
    `chmod 755 ${dirOf(REPO_ENV_FILE)}`,
    `env | grep '^WHARF_REPO_' > ${REPO_ENV_FILE}.tmp`,
    `chown postgres:postgres ${REPO_ENV_FILE}.tmp`,
    `chmod 600 ${REPO_ENV_FILE}.tmp`,
    `mv -f ${REPO_ENV_FILE}.tmp ${REPO_ENV_FILE}`,
    ...(repo.kind === 'path'
      ? [`mkdir -p ${repo.containerPath}`, `chown postgres:postgres ${repo.containerPath}`]
      : []),
  ].join('\n');
}

function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/'));
}

/**
 * Appended to a clone's script (in its one-off container, before it starts):
 * the archive settings copied from the node it was cloned from are dropped,
 * and the backup node gets them back, so exactly one node archives.
 */
export function cloneArchiveScript(tier: DbTier, node: DbNode): string {
  const conf = `${tier.dataDir}/postgresql.auto.conf`;
  const archives = tier.backup?.node.name === node.name;
  return [
    `sed -i '/^archive_mode/d;/^archive_command/d' ${conf}`,
    ...(archives
      ? [
          `printf '%s\\n' ${singleQuoted(`archive_mode = 'always'`)} ${singleQuoted(`archive_command = ${sqlLiteral(ARCHIVE_COMMAND)}`)} >> ${conf}`,
        ]
      : []),
    `chown postgres:postgres ${conf}`,
  ].join('\n');
}

/**
 * Lists the repository: `wal KEY` per archived file, `backup JSON` per
 * complete base backup and, with `last`, `last SEGMENT desc: COMMIT TIME`
 * for the newest transaction pg_waldump finds, looking back over at most
 * LAST_LOOKBACK segments (a quiet database's newest ones hold only WAL switches).
 */
export function catalogScript(last: boolean): string {
  return [
    'set -e',
    'w=$(mktemp -d)',
    'wharf-db-repo list wal/ > "$w/wal"',
    `sed 's/^/wal /' "$w/wal"`,
    `for k in $(wharf-db-repo list base/ | grep '/backup.json$'); do`,
    '  wharf-db-repo get "$k" "$w/b.json"',
    `  printf 'backup %s\\n' "$(tr -d '\\n' < "$w/b.json")"`,
    'done',
    ...(last
      ? [
          `for s in $(sed 's|^wal/||' "$w/wal" | grep -E '^[0-9A-F]{24}$' | sort -r | head -n ${LAST_LOOKBACK}); do`,
          '  wharf-db-repo get "wal/$s" "$w/$s"',
          `  t=$(pg_waldump -p "$w" "$s" 2>/dev/null | grep -oE 'desc: (COMMIT|ABORT) [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+ [A-Za-z0-9:+-]+' | tail -n 1 || true)`,
          '  rm -f "$w/$s"',
          '  if [ -n "$t" ]; then echo "last $s $t"; break; fi',
          'done',
        ]
      : []),
    'rm -rf "$w"',
  ].join('\n');
}

/**
 * In a one-off container on the backup node's server: pg_basebackup of
 * `source` (tar, gzip, WAL streamed, manifest) into a temporary directory,
 * then each file into base/<label>/ of the repository. Prints `started`,
 * `finished`, pg_basebackup's WAL start/end lines and `size BYTES`.
 */
export function baseBackupToRepoScript(tier: DbTier, source: DbNode, label: string): string {
  const now = `$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)`;
  return [
    'set -e',
    'w=$(mktemp -d /tmp/wharf-backup.XXXXXX)',
    `echo "started ${now}"`,
    `if ! PGPASSWORD="$${REPLICATION_PASSWORD_ENV}" pg_basebackup -h ${source.host} -p ${tier.port} -U ${singleQuoted(tier.replicationUser)} -D "$w/b" -Ft -z -X stream -c fast -w -v -l ${singleQuoted(`wharf ${label}`)} 2> "$w/log"; then`,
    `  grep -v '^pg_basebackup: \\(initiating\\|checkpoint\\|starting\\|waiting\\|syncing\\|renaming\\|write-ahead\\)' "$w/log" | tail -n 3 >&2`,
    '  exit 1',
    'fi',
    `echo "finished ${now}"`,
    `grep -E 'write-ahead log (start|end) point' "$w/log"`,
    'for f in base.tar.gz pg_wal.tar.gz backup_manifest; do',
    `  wharf-db-repo put "base/${label}/$f" "$w/b/$f"`,
    'done',
    `echo "size $(cat "$w/b/base.tar.gz" "$w/b/pg_wal.tar.gz" | wc -c)"`,
    'rm -rf "$w"',
  ].join('\n');
}

/** What pg_basebackup -v printed, as data. */
export function parseBaseBackupOutput(out: string): {
  startedAt: string;
  finishedAt: string;
  startLsn: string;
  stopLsn: string;
  timeline: number;
  bytes: number;
} {
  const pick = (re: RegExp) => re.exec(out)?.[1];
  const startedAt = pick(/^started (\S+)$/m);
  const finishedAt = pick(/^finished (\S+)$/m);
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(out);
  const stopLsn = pick(/write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i);
  const bytes = Number(pick(/^size (\d+)$/m) ?? NaN);
  if (!startedAt || !finishedAt || !start || !stopLsn || Number.isNaN(bytes)) {
    throw new Error(`unexpected pg_basebackup output: ${out.slice(0, 300)}`);
  }
  return { startedAt, finishedAt, startLsn: start[1]!, stopLsn, timeline: Number(start[2]), bytes };
}

/** Stores stdin (the backup.json) at base/<label>/backup.json. */
export function putMetaScript(meta: BackupMeta): string {
  return [
    'set -e',
    'w=$(mktemp -d)',
    'cat > "$w/backup.json"',
    `wharf-db-repo put ${singleQuoted(`base/${meta.label}/backup.json`)} "$w/backup.json"`,
    'rm -rf "$w"',
  ].join('\n');
}

/** The repository keys a restore needs. */
export function restoreKeys(plan: RestorePlan): string[] {
  return [
    `base/${plan.backup.label}/base.tar.gz`,
    `base/${plan.backup.label}/pg_wal.tar.gz`,
    ...plan.walFiles.map((f) => `wal/${f}`),
  ];
}

/** On the repository's server: the keys as one gzip'd tar on stdout (a directory repository, copied through wharf). */
export function packKeysScript(repo: BackupRepository & { kind: 'path' }, keys: string[]): string {
  return `cd ${singleQuoted(repo.containerPath)} && tar -czf - -- ${keys.map(singleQuoted).join(' ')}`;
}

/**
 * In a one-off container on the target's data directory: empty it, bring the
 * repository files into the staging directory (from the repository itself,
 * or from the tar on stdin), unpack the base backup and its WAL, and set up
 * recovery: restore_command from the staging directory, the target time
 * with promotion, no archiving, no replication, no fence, no peers.
 */
export function prepareRestoreScript(
  tier: DbTier,
  plan: RestorePlan,
  target: string | undefined,
  source: 'repository' | 'stdin',
): string {
  const d = tier.dataDir;
  const stage = `${d}/${STAGING_DIR}`;
  const label = plan.backup.label;
  const keys = restoreKeys(plan);
  const settings = [
    `archive_mode = 'off'`,
    `restore_command = ${sqlLiteral(`cp ${stage}/wal/%f "%p"`)}`,
    ...(target !== undefined
      ? [`recovery_target_time = ${sqlLiteral(target)}`, `recovery_target_action = 'promote'`]
      : []),
  ];
  return [
    'set -e',
    `mkdir -p ${d}`,
    `find ${d} -mindepth 1 -delete`,
    `mkdir -p ${stage}/wal`,
    ...(source === 'stdin'
      ? [`tar -xzf - -C ${stage}`]
      : [
          `for k in ${keys.map(singleQuoted).join(' ')}; do`,
          `  mkdir -p "${stage}/$(dirname "$k")"`,
          `  wharf-db-repo get "$k" "${stage}/$k"`,
          'done',
        ]),
    `tar -xzf ${stage}/base/${label}/base.tar.gz -C ${d}`,
    `tar -xzf ${stage}/base/${label}/pg_wal.tar.gz -C ${d}/pg_wal`,
    `rm -rf ${stage}/base`,
    `sed -i '/^primary_conninfo/d;/^default_transaction_read_only/d;/^archive_/d;/^restore_command/d;/^recovery_target/d' ${d}/postgresql.auto.conf`,
    `printf '%s\\n' ${settings.map(singleQuoted).join(' ')} >> ${d}/postgresql.auto.conf`,
    `rm -f ${d}/standby.signal ${d}/wharf.fenced ${d}/wharf.peers ${d}/wharf.hold ${d}/wharf.pgpass`,
    `touch ${d}/recovery.signal`,
    `chown -R postgres:postgres ${d}`,
    `chmod 700 ${d}`,
    `echo "staged $(ls ${stage}/wal | wc -l) WAL files"`,
  ].join('\n');
}

/** After promotion: recovery settings reset and the staging directory removed. */
export function finishRestoreSql(tier: DbTier): string {
  return [
    'ALTER SYSTEM RESET restore_command;',
    'ALTER SYSTEM RESET recovery_target_time;',
    'ALTER SYSTEM RESET recovery_target_action;',
    'SELECT pg_reload_conf() \\g /dev/null',
    `\\! rm -rf ${tier.dataDir}/${STAGING_DIR}`,
    '',
  ].join('\n');
}

/** Where recovery stopped, from the restored server's log. */
export function recoveryOutcome(log: string): { stoppedAt?: string; lastTransactionAt?: string } {
  const stop = /recovery stopping (?:before|after) (?:commit|abort) of transaction \d+, time (.+?)\s*$/m.exec(
    log,
  );
  const last = [...log.matchAll(/last completed transaction was at log time (.+?)\s*$/gm)].pop();
  return { stoppedAt: stop?.[1], lastTransactionAt: last?.[1] };
}
