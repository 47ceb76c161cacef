/**
 * What the repository holds, as data: the base backups (their backup.json),
 * the archived WAL files and the last transaction in the archive; choosing
 * the backup a point-in-time restore starts from and checking the target
 * time against what can be reached. Pure functions, unit-tested.
 */
import { UserError } from '../../util/errors.js';

/** The metadata `db backup` stores as base/<label>/backup.json (written last: its presence marks a complete backup). */
export interface BackupMeta {
  label: string;
  /** The node pg_basebackup read from. */
  node: string;
  host: string;
  /** Wall clock of the backup node's server before and after pg_basebackup (ISO 8601, UTC). */
  started_at: string;
  finished_at: string;
  start_lsn: string;
  stop_lsn: string;
  timeline: number;
  /** The WAL file holding start_lsn / stop_lsn. */
  start_wal: string;
  stop_wal: string;
  /** Bytes of base.tar.gz + pg_wal.tar.gz. */
  bytes: number;
}

export interface Catalog {
  backups: BackupMeta[];
  /** Archived WAL segments (24 hex digits), sorted. */
  wal: string[];
  /** Timeline history files in the archive. */
  histories: string[];
  /** Commit (or abort) time of the last transaction found at the end of the archive, as Postgres printed it. */
  lastTransactionAt?: string;
  /** The WAL segment that transaction is in. */
  lastTransactionWal?: string;
}

const SEGMENT = /^[0-9A-F]{24}$/;

/** The WAL segment file name holding `lsn` on `timeline` (16 MiB segments, Postgres' default). */
export function walFileName(timeline: number, lsn: string): string {
  const m = /^([0-9A-F]+)\/([0-9A-F]+)$/i.exec(lsn);
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  const low = Number.parseInt(m[2]!, 16);
  return `${hex(timeline)}${hex(Number.parseInt(m[1]!, 16))}${hex(Math.floor(low / 0x1000000))}`;
}

/** The position part of a segment name (log + segment number), comparable across timelines. */
export function segmentPosition(name: string): string {
  return name.slice(8, 24);
}

/**
 * Parses the listing script's output: `wal KEY` lines, `backup JSON` lines
 * and an optional `last SEGMENT desc: COMMIT TIME` line.
 */
export function parseCatalog(output: string): Catalog {
  const catalog: Catalog = { backups: [], wal: [], histories: [] };
  for (const line of output.split('\n')) {
    const [kind, ...rest] = line.split(' ');
    const value = rest.join(' ').trim();
    if (kind === 'wal') {
      const name = value.replace(/^wal\//, '');
      if (SEGMENT.test(name)) catalog.wal.push(name);
      else if (/^[0-9A-F]{8}\.history$/.test(name)) catalog.histories.push(name);
    } else if (kind === 'backup') {
      try {
        const meta = JSON.parse(value) as BackupMeta;
        if (typeof meta.label === 'string' && typeof meta.finished_at === 'string')
          catalog.backups.push(meta);
      } catch {
        // a backup.json that does not parse is not a usable backup
      }
    } else if (kind === 'last') {
      const m = /^([0-9A-F]{24}) desc: (?:COMMIT|ABORT) (.+)$/.exec(value);
      if (m) {
        catalog.lastTransactionWal = m[1];
        catalog.lastTransactionAt = m[2]!.trim();
      }
    }
  }
  catalog.wal.sort();
  catalog.histories.sort();
  catalog.backups.sort((a, b) =>
    a.finished_at < b.finished_at ? -1 : a.finished_at > b.finished_at ? 1 : 0,
  );
  return catalog;
}

/**
 * Microseconds since the epoch of a timestamp with an explicit zone:
 * ISO 8601 (`2026-11-27T05:01:02.123456Z`, `+02:00`) or the way Postgres
 * prints one (`2026-11-27 05:01:02.123456 UTC`, `+00`). Undefined when the
 * text is not such a timestamp (a time without a zone is ambiguous).
 */
export function timestampMicros(text: string): bigint | undefined {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6})\d*)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$/i.exec(
      text.trim(),
    );
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +s);
  if (Number.isNaN(ms) || +mo! < 1 || +mo! > 12 || +d! < 1 || +d! > 31 || +h! > 23 || +mi! > 59 || +s > 60)
    return undefined;
  let offsetMinutes = 0;
  if (/^[+-]/.test(zone!)) {
    const digits = zone!.slice(1).replace(':', '');
    offsetMinutes =
      (zone![0] === '-' ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || 0));
  }
  return (BigInt(ms) - BigInt(offsetMinutes) * 60_000n) * 1000n + BigInt(frac.padEnd(6, '0'));
}

export interface RestorePlan {
  backup: BackupMeta;
  /** WAL segments (and history files) to stage for recovery: every archived file from the backup's start on, up to a gap. */
  walFiles: string[];
  /** The first segment position missing from the archive after the backup's end (recovery cannot pass it). */
  gap?: string;
}

/** The position after `position` (16 hex digits: log, then segment 00..FF of 16 MiB WAL). */
export function nextPosition(position: string): string {
  const log = Number.parseInt(position.slice(0, 8), 16);
  const seg = Number.parseInt(position.slice(8), 16);
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return seg >= 0xff ? `${hex(log + 1)}${hex(0)}` : `${hex(log)}${hex(seg + 1)}`;
}

/** The first position after `from` (exclusive) up to the newest archived one that no archived segment holds. */
export function firstGap(wal: string[], from: string, minTimeline = 1): string | undefined {
  const held = new Set(
    wal.filter((w) => Number.parseInt(w.slice(0, 8), 16) >= minTimeline).map(segmentPosition),
  );
  const last = [...held].sort().pop();
  if (last === undefined || last <= from) return undefined;
  for (let p = nextPosition(from); p <= last; p = nextPosition(p)) {
    if (!held.has(p)) return p;
  }
  return undefined;
}

/**
 * The backup a restore to `target` starts from (the latest one that finished
 * before it; the latest of all without a target) and the WAL it needs, or
 * one sentence saying why the target cannot be reached.
 */
export function planRestore(catalog: Catalog, target: string | undefined, where: string): RestorePlan {
  if (catalog.backups.length === 0) {
    throw new UserError(
      `Restore refused: ${where} holds no complete base backup; take one with \`wharf db backup\` first.`,
    );
  }
  let backup = catalog.backups[catalog.backups.length - 1]!;
  if (target !== undefined) {
    const at = timestampMicros(target);
    if (at === undefined) {
      throw new UserError(
        `Restore refused: --time ${target} is not a timestamp with a time zone; write it like 2026-11-27T05:01:02.5Z or '2026-11-27 05:01:02+00'.`,
      );
    }
    const before = catalog.backups.filter((b) => (timestampMicros(b.finished_at) ?? 0n) <= at);
    if (before.length === 0) {
      throw new UserError(
        `Restore refused: --time ${target} is before the end of the oldest base backup in ${where} (${catalog.backups[0]!.label}, finished ${catalog.backups[0]!.finished_at}); pick a later time (\`wharf db backups\` lists what can be restored).`,
      );
    }
    backup = before[before.length - 1]!;
    const end =
      catalog.lastTransactionAt === undefined ? undefined : timestampMicros(catalog.lastTransactionAt);
    if (end === undefined) {
      throw new UserError(
        `Restore refused: no transaction was found in the archived WAL of ${where}, so --time ${target} cannot be checked; write something, run \`wharf db backup\` (it switches WAL) and try again, or restore without --time.`,
      );
    }
    if (at > end) {
      throw new UserError(
        `Restore refused: --time ${target} is after the last transaction in the archived WAL of ${where} (${catalog.lastTransactionAt}); recovery would stop short of it, so pick an earlier time, run \`wharf db backup\` to archive the current WAL first, or restore without --time to replay everything archived.`,
      );
    }
  }
  const from = segmentPosition(backup.start_wal);
  // The backup's own pg_wal.tar.gz holds start..stop; the archive must continue from there without holes.
  const gap = firstGap(catalog.wal, segmentPosition(backup.stop_wal), backup.timeline);
  const walFiles = [
    ...catalog.histories,
    ...catalog.wal.filter(
      (w) =>
        segmentPosition(w) >= from &&
        (gap === undefined || segmentPosition(w) < gap) &&
        Number.parseInt(w.slice(0, 8), 16) >= backup.timeline,
    ),
  ];
  return gap === undefined ? { backup, walFiles } : { backup, walFiles, gap };
}

function megabytes(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** `db backups` as text. */
export function formatCatalog(where: string, catalog: Catalog, archiver?: string): string {
  const lines = [`Repository: ${where}`];
  if (catalog.backups.length === 0) lines.push('Base backups: none (take one with `wharf db backup`)');
  else {
    lines.push(`Base backups (${catalog.backups.length}):`);
    for (const b of catalog.backups) {
      lines.push(
        `  ${b.label}  from ${b.node}  finished ${b.finished_at}  ${megabytes(b.bytes)}  WAL ${b.start_lsn}..${b.stop_lsn} (timeline ${b.timeline})`,
      );
    }
  }
  lines.push(
    catalog.wal.length === 0
      ? 'Archived WAL: none'
      : `Archived WAL: ${catalog.wal[0]} .. ${catalog.wal[catalog.wal.length - 1]} (${catalog.wal.length} segments${catalog.histories.length > 0 ? `, ${catalog.histories.length} timeline histories` : ''})`,
  );
  const oldest = catalog.backups[0];
  const gap = oldest && firstGap(catalog.wal, segmentPosition(oldest.stop_wal), oldest.timeline);
  if (gap) {
    lines.push(
      `Gap: no archived WAL file at position ${gap} (recovery from a backup older than it stops there; take a new backup)`,
    );
  }
  if (catalog.lastTransactionAt) lines.push(`Last archived transaction: ${catalog.lastTransactionAt}`);
  if (catalog.backups.length > 0 && catalog.lastTransactionAt) {
    lines.push(`Restorable with --time: ${catalog.backups[0]!.finished_at} .. ${catalog.lastTransactionAt}`);
  }
  if (archiver) lines.push(archiver);
  return lines.join('\n');
}
