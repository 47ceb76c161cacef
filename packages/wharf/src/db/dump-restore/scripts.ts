/**
 * The shell scripts a fast + deferred restore runs inside the target
 * Postgres container (as the postgres user, through `docker exec`), and the
 * docker argv around them. Pure: configuration in, exact text out.
 *
 * Everything lives in one work directory on the target's data volume,
 * `$PGDATA/wharf-restore/`: the dump, the pg_restore lists, the phase 2
 * script, pg_restore's logs, `tables` (the deferred tables) and `state`, an
 * append-only log of timestamped events that `--status`, `--wait` and tests
 * read. `busy` holds the pid of the process currently working there; a
 * restore is running while that process is alive.
 */
import { docker, singleQuoted, type Command } from '../../commands/base.js';

export const WORK_DIR = '"${PGDATA:-/var/lib/postgresql/data}/wharf-restore"';
const W = `W=${WORK_DIR}`;
const NOW = '$(date +%s.%N)';

/** Exit codes of the prepare script. */
export const PREPARE_BUSY = 3;
export const PREPARE_NO_PG_RESTORE = 4;
export const PREPARE_NOT_READY = 5;

export interface TargetDb {
  service: string;
  user: string;
  database: string;
}

/** `docker exec [-i|-d] --user postgres [-e NAME…] SERVICE sh -c 'SCRIPT'`. */
export function execScript(
  service: string,
  script: string,
  options: { stdin?: boolean; detach?: boolean; envNames?: string[] } = {},
): Command {
  return docker(
    'exec',
    ...(options.stdin ? ['-i'] : []),
    ...(options.detach ? ['-d'] : []),
    '--user',
    'postgres',
    ...(options.envNames ?? []).flatMap((n) => ['-e', n]),
    service,
    'sh',
    '-c',
    singleQuoted(script),
  );
}

/**
 * The connection every psql/pg_restore in the scripts uses (local socket, the
 * admin role). Index builds run without parallel maintenance workers: those
 * share memory through /dev/shm, which Docker caps at 64 MB unless the
 * accessory sets --shm-size, and a big table's index then fails with "could
 * not resize shared memory segment"; pg_restore -j already builds several
 * indexes at once.
 */
function connection(target: TargetDb): string {
  return [
    `export PGUSER=${singleQuoted(target.user)} PGDATABASE=${singleQuoted(target.database)}`,
    `export PGOPTIONS='-c max_parallel_maintenance_workers=0'`,
  ].join('\n');
}

const busyCheck = `if [ -f "$W/busy" ] && kill -0 "$(cat "$W/busy")" 2>/dev/null; then echo "pid $(cat "$W/busy")"; exit ${PREPARE_BUSY}; fi`;

/**
 * Checks the target (pg_restore present, Postgres answering on its socket,
 * no restore running) and empties the work directory.
 */
export function prepareScript(): string {
  return [
    W,
    busyCheck,
    `command -v pg_restore >/dev/null 2>&1 || exit ${PREPARE_NO_PG_RESTORE}`,
    `pg_isready -q || exit ${PREPARE_NOT_READY}`,
    'rm -rf "$W" && mkdir -p "$W" && echo $$ > "$W/busy"',
    `echo "prepared ${NOW}" > "$W/state"`,
  ].join('\n');
}

/** Receives the dump on stdin (streamed over SSH). */
export function receiveDumpScript(): string {
  return [W, 'echo $$ > "$W/busy"', 'cat > "$W/dump.part" && mv "$W/dump.part" "$W/dump"'].join('\n');
}

/** pg_dump of the source node into the work directory; the password comes in as PGPASSWORD. */
export function pgDumpScript(source: { host: string; port: number; user: string; database: string }): string {
  return [
    W,
    'echo $$ > "$W/busy"',
    `exec pg_dump -h ${singleQuoted(source.host)} -p ${source.port} -U ${singleQuoted(source.user)} -d ${singleQuoted(source.database)} -Fc -f "$W/dump"`,
  ].join('\n');
}

/** The first `bytes` of the dump in base64 and the dump's size on the line before. */
export function readHeadScript(bytes: number): string {
  return [W, 'stat -c %s "$W/dump"', `head -c ${bytes} "$W/dump" | base64 -w0`].join('\n');
}

/** Writes files into the work directory in one exec (quoted here-documents: no expansion). */
export function writeFilesScript(files: Record<string, string>): string {
  const lines = [W];
  let n = 0;
  for (const [name, content] of Object.entries(files)) {
    let marker = `WHARF_EOF_${n++}`;
    while (content.includes(marker)) marker += '_';
    const body = content.endsWith('\n') || content === '' ? content : `${content}\n`;
    lines.push(`cat > "$W/${name}" <<'${marker}'`, `${body}${marker}`);
  }
  return lines.join('\n');
}

/**
 * Phase 1: a fresh database, then pre-data, small tables' data and their
 * post-data from phase1.list. The database is usable when it prints.
 */
export function phase1Script(target: TargetDb, jobs: number): string {
  const db = target.database.replace(/"/g, '""');
  return [
    W,
    'cd "$W" || exit 1',
    'echo $$ > busy',
    connection(target),
    `echo "phase1-start ${NOW}" >> state`,
    `psql -X -q -v ON_ERROR_STOP=1 -d template1 >phase1.log 2>&1 <<'WHARF_SQL' || { echo "failed ${NOW} phase1" >> state; tail -n 5 phase1.log >&2; exit 1; }`,
    `DROP DATABASE IF EXISTS "${db}" WITH (FORCE);`,
    `CREATE DATABASE "${db}";`,
    'WHARF_SQL',
    `pg_restore -d "$PGDATABASE" -j ${jobs} -L phase1.list dump >>phase1.log 2>&1 || { echo "failed ${NOW} phase1" >> state; grep -m 3 -i error phase1.log >&2 || tail -n 5 phase1.log >&2; exit 1; }`,
    `echo "usable ${NOW}" >> state`,
  ].join('\n');
}

/**
 * Phase 2, written to phase2.sh and started detached (`docker exec -d`): each
 * deferred table's data from its own list, `jobs` tables at a time, then
 * post.list (their indexes, constraints, foreign keys, …) with `jobs`
 * parallel jobs. On success the dump is deleted (it can be as big as the
 * database); on failure it stays for a look.
 */
export function phase2Script(target: TargetDb, jobs: number): string {
  return [
    '#!/bin/sh',
    W,
    'cd "$W" || exit 1',
    'echo $$ > busy',
    connection(target),
    `echo "phase2-start ${NOW}" >> state`,
    'status=0',
    'if ls data-*.list >/dev/null 2>&1; then',
    `  ls data-*.list | xargs -P ${jobs} -n 1 sh -c '`,
    '    n=${1#data-}; n=${n%.list}',
    `    echo "table-start $n ${NOW}" >> state`,
    `    if pg_restore -d "$PGDATABASE" -L "$1" dump 2>"data-$n.log"; then echo "table-done $n ${NOW}" >> state; else echo "table-failed $n ${NOW}" >> state; exit 1; fi' sh || status=1`,
    'fi',
    `echo "data-done ${NOW}" >> state`,
    `if [ "$status" = 0 ] && [ -s post.list ]; then pg_restore -d "$PGDATABASE" -j ${jobs} -L post.list dump 2>post.log || status=1; fi`,
    `if [ "$status" = 0 ]; then rm -f dump; echo "done ${NOW}" >> state; else echo "failed ${NOW} phase2" >> state; fi`,
    'rm -f busy',
    '',
  ].join('\n');
}

export function startPhase2Script(): string {
  return [W, 'exec sh "$W/phase2.sh" >"$W/phase2.out" 2>&1'].join('\n');
}

/**
 * Whether a process works there, the state log, the deferred tables, and COPY
 * progress. Liveness is read before the state: phase 2 writes `done` and then
 * removes `busy`, so a state read first could miss a `done` written just
 * before the liveness check and report a finished restore as interrupted.
 */
export function progressScript(target: TargetDb): string {
  return [
    W,
    connection(target),
    'echo "--alive"',
    'if [ -f "$W/busy" ] && kill -0 "$(cat "$W/busy")" 2>/dev/null; then echo yes; else echo no; fi',
    'echo "--state"',
    'cat "$W/state" 2>/dev/null',
    'echo "--tables"',
    'cat "$W/tables" 2>/dev/null',
    'echo "--copy"',
    `psql -X -At -F "$(printf '\\t')" -c "SELECT n.nspname, c.relname, p.bytes_processed FROM pg_stat_progress_copy p JOIN pg_class c ON c.oid = p.relid JOIN pg_namespace n ON n.oid = c.relnamespace" 2>/dev/null || true`,
  ].join('\n');
}
