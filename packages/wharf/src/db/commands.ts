/**
 * Pure builders for the HA Postgres tier: the SQL each step sends (always on
 * psql's stdin, never in argv) and the exact docker argv that runs it on a
 * node's host. Secrets travel as environment variables named in
 * `docker … -e NAME` and filled by the SSH layer's stdin preamble, so no
 * value appears in a command line or a process listing.
 */
import { docker, singleQuoted, type Command } from '../commands/base.js';
import type { DbNode, DbTier } from './config.js';

/** The environment variable that carries the replication password into containers. */
export const REPLICATION_PASSWORD_ENV = 'WHARF_REPLICATION_PASSWORD';
export const FENCE_FILE = 'wharf.fenced';
export const PEERS_FILE = 'wharf.peers';
/** While it exists, the image's entrypoint keeps the container up with Postgres stopped. */
export const HOLD_FILE = 'wharf.hold';
export const PASSFILE = 'wharf.pgpass';
/** Where the agent keeps its last pg_stat_wal_receiver sample inside the container. */
export const RECEIVER_SAMPLE_FILE = '/tmp/wharf-db-receiver';
/** Where HAProxy's runtime API listens inside its container. */
export const HAPROXY_SOCKET = '/tmp/wharf-haproxy.sock';
export const HAPROXY_BACKEND = 'postgres_write';

/** A SQL string literal ('' doubles a quote). */
export function sqlLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** `docker exec -i --user postgres [-e NAME…] <service> psql -X -q -At -v ON_ERROR_STOP=1 -U <admin> -d <db> -f -` (SQL on stdin). */
export function psqlCommand(tier: DbTier, node: DbNode, envNames: string[] = []): Command {
  return execAsPostgres(node, psqlWords(tier), { stdin: true, envNames });
}

/** `docker exec [-i] --user postgres [-e NAME…] <service> WORDS…`: a program as the postgres user in the node's container. */
function execAsPostgres(
  node: DbNode,
  words: string[],
  options: { stdin?: boolean; envNames?: string[] } = {},
): Command {
  return docker(
    'exec',
    ...(options.stdin ? ['-i'] : []),
    '--user',
    'postgres',
    ...(options.envNames ?? []).flatMap((n) => ['-e', n]),
    node.service,
    ...words,
  );
}

function psqlWords(tier: DbTier): string[] {
  return [
    'psql',
    '-X',
    '-q',
    '-At',
    '-v',
    'ON_ERROR_STOP=1',
    '-U',
    singleQuoted(tier.adminUser),
    '-d',
    singleQuoted(tier.database),
    '-f',
    '-',
  ];
}

/**
 * The old primary's side of a switchover in one exec: the fence SQL (stdin;
 * it prints the WAL position after the fence), then the hold file and a fast
 * shutdown. A clean shutdown returns only once the connected standbys
 * confirmed every WAL record up to the shutdown checkpoint.
 */
export function fenceAndStopCommand(tier: DbTier, node: DbNode, seconds: number): Command {
  const d = tier.dataDir;
  return execAsPostgres(
    node,
    [
      'sh',
      '-c',
      singleQuoted(
        `${psqlWords(tier).join(' ')} && touch ${d}/${HOLD_FILE} && pg_ctl stop -D ${d} -m fast -w -t ${Math.max(1, Math.round(seconds))} >/dev/null`,
      ),
    ],
    { stdin: true },
  );
}

/** `docker exec <service> sh -c '<script>'` as root inside the node's container. */
export function shellInContainer(service: string, script: string, envNames: string[] = []): Command {
  return docker(
    'exec',
    '-i',
    ...envNames.flatMap((n) => ['-e', n]),
    service,
    'sh',
    '-c',
    singleQuoted(script),
  );
}

/**
 * A one-off container on the node's image with its volumes (the data
 * directory) that runs a shell script as root: used while the node's own
 * container is stopped (base backup, re-pointing, pg_controldata).
 */
export function oneOffOnData(node: DbNode, script: string, envNames: string[] = []): Command {
  const a = node.accessory;
  return docker(
    'run',
    '--rm',
    '-i',
    ...envNames.flatMap((n) => ['-e', n]),
    ...a.volumeArgs(),
    '--entrypoint',
    'sh',
    a.image,
    '-c',
    singleQuoted(script),
  );
}

/** Creates the replication role when missing and (re)sets its password from the environment (psql's \getenv). */
export function replicationRoleSql(user: string): string {
  const lit = sqlLiteral(user);
  return [
    `\\getenv wharf_replication_password ${REPLICATION_PASSWORD_ENV}`,
    `SELECT format('CREATE ROLE %I WITH REPLICATION LOGIN', ${lit}) WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit}) \\gexec`,
    `SELECT format('ALTER ROLE %I WITH REPLICATION LOGIN PASSWORD %L', ${lit}, :'wharf_replication_password') \\gexec`,
    '',
  ].join('\n');
}

/**
 * One JSON line describing the node: recovery, timeline, LSNs, the WAL
 * receiver, the replicas it serves with their lag, and the fence setting.
 * On a primary the timeline is read from the current WAL file name (exact at
 * once after a promotion); on a standby from the WAL receiver, else from the
 * last checkpoint.
 */
export const STATUS_SQL = `SELECT json_build_object(
  'in_recovery', pg_is_in_recovery(),
  'timeline', CASE WHEN pg_is_in_recovery()
    THEN coalesce((SELECT received_tli FROM pg_stat_wal_receiver), (SELECT timeline_id FROM pg_control_checkpoint()))
    ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END,
  'current_lsn', CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END,
  'receive_lsn', pg_last_wal_receive_lsn()::text,
  'replay_lsn', pg_last_wal_replay_lsn()::text,
  'last_replay_at', pg_last_xact_replay_timestamp(),
  'read_only', current_setting('default_transaction_read_only'),
  'fenced', (pg_stat_file('wharf.fenced', true)).size IS NOT NULL,
  'receiver', (SELECT json_build_object('status', status, 'sender_host', sender_host, 'sender_port', sender_port,
      'timeline', received_tli, 'flushed_lsn', flushed_lsn::text, 'primary_end_lsn', latest_end_lsn::text,
      'primary_end_at', latest_end_time) FROM pg_stat_wal_receiver),
  'replicas', coalesce((SELECT json_agg(json_build_object('name', application_name, 'address', client_addr::text,
      'state', state, 'sent_lsn', sent_lsn::text, 'replay_lsn', replay_lsn::text,
      'lag_bytes', CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) END,
      'replay_lag_seconds', extract(epoch FROM replay_lag)) ORDER BY application_name) FROM pg_stat_replication), '[]'::json)
);
`;

/** Fences writes on a primary: new transactions read-only, other client sessions ended; prints the WAL position after. */
export const FENCE_SQL = `ALTER SYSTEM SET default_transaction_read_only = on;
SELECT pg_reload_conf() \\g /dev/null
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() \\g /dev/null
SELECT pg_current_wal_lsn();
`;

/** Undoes FENCE_SQL (on a switchover that gives up, and before promoting a node that was fenced once). */
export const UNFENCE_SQL = `ALTER SYSTEM RESET default_transaction_read_only;
SELECT pg_reload_conf() \\g /dev/null
`;

/**
 * Settings every node gets at setup: a standby whose primary vanished retries
 * (and notices a promotion) every 200 ms instead of every 5 s.
 */
export const TUNE_SQL = `ALTER SYSTEM SET wal_retrieve_retry_interval = '200ms';
SELECT pg_reload_conf() \\g /dev/null
`;

/** psql meta-command writing the fence file (psql runs it in the container as user postgres). */
export function fenceFileMeta(tier: DbTier, reason: string): string {
  return `\\! printf '%s\\n' ${singleQuoted(reason.replace(/\n/g, ' '))} > ${tier.dataDir}/${FENCE_FILE}\n`;
}

export function unfenceFileMeta(tier: DbTier): string {
  return `\\! rm -f ${tier.dataDir}/${FENCE_FILE}\n`;
}

/** The whole fence in one psql run: fence file, the new primary_conninfo, read-only default, sessions ended; prints the LSN. */
export function fenceSql(tier: DbTier, newPrimary: DbNode, node: DbNode, reason: string): string {
  return fenceFileMeta(tier, reason) + followSql(tier, newPrimary, node) + FENCE_SQL;
}

/** On a standby: waits (server side, 20 ms steps) until it replayed `lsn`, or fails after `seconds`; prints the replay LSN. */
export function waitReplaySql(lsn: string, seconds: number): string {
  if (!/^[0-9A-F]+\/[0-9A-F]+$/i.test(lsn)) throw new Error(`not an LSN: ${lsn}`);
  return `SET statement_timeout = 0;
DO $wharf$
DECLARE deadline timestamptz := clock_timestamp() + interval '${Math.max(1, Math.round(seconds))} seconds';
BEGIN
  WHILE coalesce(pg_last_wal_replay_lsn(), '0/0'::pg_lsn) < '${lsn}'::pg_lsn LOOP
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'replayed only up to % of ${lsn}', pg_last_wal_replay_lsn();
    END IF;
    PERFORM pg_sleep(0.02);
  END LOOP;
END
$wharf$;
SELECT pg_last_wal_replay_lsn();
`;
}

/**
 * Promotes a standby (fence file removed, read-only default reset) and waits
 * up to `seconds` for it to leave recovery; prints `t` when it did, then the
 * new timeline's history file (its last line holds the switch point).
 */
export function promoteSql(tier: DbTier, seconds: number, afterReplayOf?: string): string {
  return `${afterReplayOf ? waitReplaySql(afterReplayOf, seconds) : ''}${unfenceFileMeta(tier)}${UNFENCE_SQL}SELECT pg_promote(true, ${Math.max(1, Math.round(seconds))});
SELECT pg_read_file('pg_wal/' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8) || '.history') WHERE NOT pg_is_in_recovery();
`;
}

/** The switch point (LSN where the new timeline forked) from a timeline history file's last line. */
export function switchPoint(history: string): string | undefined {
  const lines = history.split('\n').filter((l) => /^\d+\s+[0-9A-F]+\/[0-9A-F]+/i.test(l.trim()));
  return lines.length > 0 ? lines[lines.length - 1]!.trim().split(/\s+/)[1] : undefined;
}

/** The replication connection string a standby of `primary` uses (password from the passfile, never inline). */
export function primaryConninfo(tier: DbTier, primary: DbNode, standby: DbNode): string {
  return [
    `host=${primary.host}`,
    `port=${tier.port}`,
    `user=${tier.replicationUser}`,
    `passfile=${tier.dataDir}/${PASSFILE}`,
    `application_name=${standby.name}`,
  ].join(' ');
}

/** Points a running node at a new primary (written to postgresql.auto.conf; used once it runs as a standby). */
export function followSql(tier: DbTier, primary: DbNode, standby: DbNode): string {
  return `ALTER SYSTEM SET primary_conninfo = ${sqlLiteral(primaryConninfo(tier, primary, standby))};\n`;
}

/** Shell text writing the replication passfile (0600, pgpass escaping) and the peers file into the data dir. */
export function nodeFilesScript(tier: DbTier, node: DbNode): string {
  const d = tier.dataDir;
  const peers = tier.nodes.filter((n) => n !== node).map((n) => `${n.host}:${tier.agentPort}`);
  return [
    `umask 077`,
    `pw=$(printf '%s' "$${REPLICATION_PASSWORD_ENV}" | sed 's/[\\\\:]/\\\\&/g')`,
    `printf '*:*:*:%s:%s\\n' ${singleQuoted(tier.replicationUser)} "$pw" > ${d}/${PASSFILE}`,
    `printf '%s\\n' ${peers.map(singleQuoted).join(' ')} > ${d}/${PEERS_FILE}`,
    `chown postgres:postgres ${d}/${PASSFILE} ${d}/${PEERS_FILE}`,
  ].join('\n');
}

/** Appends the replication line to pg_hba.conf unless one for the user is there, then reloads. */
export function hbaScript(tier: DbTier): string {
  const file = `${tier.dataDir}/pg_hba.conf`;
  const user = tier.replicationUser;
  return [
    `if ! grep -Eq '^[[:space:]]*host[[:space:]]+replication[[:space:]]+(all|${user})[[:space:]]' ${file}; then`,
    `  printf 'host replication ${user} all scram-sha-256\\n' >> ${file}`,
    `  chown postgres:postgres ${file}`,
    `fi`,
  ].join('\n');
}

/**
 * In a one-off container: empty the standby's data dir, take a base backup of
 * the primary, and make it a standby of it (standby.signal, primary_conninfo
 * with the passfile, peers); no fence or read-only setting carried over.
 */
export function baseBackupScript(tier: DbTier, primary: DbNode, standby: DbNode): string {
  const d = tier.dataDir;
  return [
    'set -e',
    `mkdir -p ${d}`,
    `find ${d} -mindepth 1 -delete`,
    `PGPASSWORD="$${REPLICATION_PASSWORD_ENV}" pg_basebackup -h ${primary.host} -p ${tier.port} -U ${singleQuoted(tier.replicationUser)} -D ${d} -X stream -c fast -w`,
    `sed -i '/^primary_conninfo/d;/^default_transaction_read_only/d' ${d}/postgresql.auto.conf`,
    `rm -f ${d}/${FENCE_FILE} ${d}/standby.signal`,
    `touch ${d}/standby.signal`,
    `printf '%s\\n' ${singleQuoted(`primary_conninfo = ${sqlLiteral(primaryConninfo(tier, primary, standby))}`)} >> ${d}/postgresql.auto.conf`,
    nodeFilesScript(tier, standby),
    `chown -R postgres:postgres ${d}`,
    `chmod 700 ${d}`,
  ].join('\n');
}

/** On a held (stopped) node: mark it a standby, lift the fence, print pg_control's state and last checkpoint. */
export function markHeldStandbyCommand(tier: DbTier, node: DbNode): Command {
  const d = tier.dataDir;
  return execAsPostgres(node, [
    'sh',
    '-c',
    singleQuoted(
      `touch ${d}/standby.signal && rm -f ${d}/${FENCE_FILE} && pg_controldata ${d} | grep -E '^(Database cluster state|Latest checkpoint location|Latest checkpoint.s TimeLineID):'`,
    ),
  ]);
}

/** Lets the entrypoint start Postgres again (as a standby once standby.signal is there). */
export function releaseHoldCommand(tier: DbTier, node: DbNode): Command {
  return execAsPostgres(node, ['rm', '-f', `${tier.dataDir}/${HOLD_FILE}`]);
}

/** Fence an unreachable-then-found or crashed primary at rest: standby.signal plus the fence file. */
export function fenceAtRestScript(tier: DbTier, reason: string): string {
  const d = tier.dataDir;
  return [
    'set -e',
    `touch ${d}/standby.signal`,
    `printf '%s\\n' ${singleQuoted(reason)} > ${d}/${FENCE_FILE}`,
    `chown postgres:postgres ${d}/standby.signal ${d}/${FENCE_FILE}`,
  ].join('\n');
}

/** `printf … > $PGDATA/wharf.fenced` in the running container (the agent then answers 503 on /primary). */
export function writeFenceFileScript(tier: DbTier, reason: string): string {
  return `printf '%s\\n' ${singleQuoted(reason)} > ${tier.dataDir}/${FENCE_FILE}`;
}

export function removeFenceFileScript(tier: DbTier): string {
  return `rm -f ${tier.dataDir}/${FENCE_FILE}`;
}

/** `pg_isready` inside the node's container (exit 0 when it accepts connections). */
export function readyCommand(tier: DbTier, node: DbNode): Command {
  return docker(
    'exec',
    node.service,
    'pg_isready',
    '-q',
    '-U',
    singleQuoted(tier.adminUser),
    '-d',
    singleQuoted(tier.database),
  );
}

/** `docker stop -t <seconds> <service>` */
export function stopContainer(service: string, seconds = 30): Command {
  return docker('stop', '-t', String(seconds), service);
}

/** `docker start <service>` */
export function startContainer(service: string): Command {
  return docker('start', service);
}

/** `docker inspect --format '{{.State.Status}}' <service>` (fails when there is no such container). */
export function containerState(service: string): Command {
  return docker('inspect', '--format', "'{{.State.Status}}'", service);
}

/** `docker rm -f <service>` */
export function removeContainer(service: string): Command {
  return docker('rm', '-f', service);
}

/** `docker kill --signal USR2 <service>`: HAProxy in master-worker mode reloads its configuration. */
export function reloadHaproxy(service: string): Command {
  return docker('kill', '--signal', 'USR2', service);
}

/** One command to HAProxy's runtime API over its socket (Perl from perl-base, present in every Debian image). */
export function haproxyRuntime(service: string, command: string): Command {
  const script =
    'use IO::Socket::UNIX; my $s = IO::Socket::UNIX->new(Peer => shift) or die "cannot open the HAProxy socket: $!\\n"; print $s shift, "\\n"; print while <$s>;';
  return docker('exec', service, 'perl', '-e', singleQuoted(script), HAPROXY_SOCKET, singleQuoted(command));
}

/** `show stat` (CSV) from HAProxy's runtime API. */
export function haproxyShowStat(service: string): Command {
  return haproxyRuntime(service, 'show stat');
}

/**
 * pgbouncer's `SHOW POOLS` for the node's own pgbouncer, asked from inside the
 * node's container (it has psql; pgbouncer's image need not) over the host
 * port, as the admin user with the container's own POSTGRES_PASSWORD: no
 * secret passes through wharf. Pipe-separated with a header row, so columns
 * are found by name (they differ between pgbouncer versions).
 */
export function pgbouncerShowPools(tier: DbTier, node: DbNode): Command {
  const psql = [
    'PGPASSWORD="$POSTGRES_PASSWORD"',
    'PGCONNECT_TIMEOUT=5',
    'psql -X -q -A -F "|" -P footer=off',
    `-h ${singleQuoted(node.host)} -p ${tier.bouncerPort ?? 6432}`,
    `-U ${singleQuoted(tier.adminUser)} -d pgbouncer -c 'SHOW POOLS'`,
  ].join(' ');
  return docker('exec', node.service, 'sh', '-c', singleQuoted(psql));
}

/** Takes a node out of (or back into) the write pool at once, without a reload. */
export function haproxySetServer(service: string, node: string, enabled: boolean): Command {
  return haproxyRuntime(service, `${enabled ? 'enable' : 'disable'} server ${HAPROXY_BACKEND}/${node}`);
}

/** The agent's last sample of the WAL receiver on a standby (`key=value` lines). */
export function receiverSampleCommand(service: string): Command {
  return docker('exec', service, 'cat', RECEIVER_SAMPLE_FILE);
}

export interface HaproxyOptions {
  /** Nodes left out of the write pool for good (a failed-over old primary), as `disabled` servers. */
  disabled?: readonly string[];
}

/**
 * HAProxy's configuration for the write VIP: every node is a backend server
 * (its pgbouncer, or Postgres itself without pgbouncer) and only the one whose
 * agent answers 200 on /primary receives connections. A node that turns
 * unhealthy has its sessions cut so clients reconnect to the new primary.
 */
export function haproxyConfig(tier: DbTier, options: HaproxyOptions = {}): string {
  const disabled = new Set(options.disabled ?? []);
  const servers = tier.nodes.map((n) => {
    const port = n.bouncer ? tier.bouncerPort! : tier.port;
    return `  server ${n.name} ${n.host}:${port} check port ${tier.agentPort}${disabled.has(n.name) ? ' disabled' : ''}`;
  });
  return [
    '# Written by `wharf db setup` from x-wharf-db in config/deploy.yml; edits are overwritten.',
    'global',
    '  master-worker',
    `  stats socket ${HAPROXY_SOCKET} mode 600 level admin`,
    '  maxconn 2000',
    '',
    'defaults',
    '  mode tcp',
    '  timeout connect 2s',
    '  timeout client 30m',
    '  timeout server 30m',
    '  timeout check 2s',
    '',
    `listen ${HAPROXY_BACKEND}`,
    `  bind :${tier.haproxy.port}`,
    '  option httpchk GET /primary',
    '  http-check expect status 200',
    '  default-server inter 500ms fastinter 200ms downinter 200ms fall 2 rise 1 on-marked-down shutdown-sessions',
    ...servers,
    '',
  ].join('\n');
}
