/**
 * Reading a restore's progress back from the target: the `state` event log,
 * the deferred tables and pg_stat_progress_copy (see scripts.ts'
 * progressScript), turned into one picture and into lines for people.
 */
import { formatBytes, formatSeconds } from './size.js';
import { qualifiedName } from './toc.js';

export interface TableProgress {
  n: string;
  name: string;
  namespace: string;
  tag: string;
  /** The size the decision used (bytes). */
  bytes?: number;
  start?: number;
  done?: number;
  failed?: number;
  /** Bytes COPY has read so far, while it runs. */
  copied?: number;
}

export type Phase = 'none' | 'preparing' | 'phase1' | 'loading' | 'done' | 'failed' | 'interrupted';

export interface RestoreProgress {
  phase: Phase;
  /** A process is working in the target's restore directory. */
  alive: boolean;
  phase1Start?: number;
  usable?: number;
  phase2Start?: number;
  dataDone?: number;
  done?: number;
  failed?: { at: number; phase: string };
  tables: TableProgress[];
}

/** Tables file line: `N<TAB>BYTES<TAB>SCHEMA<TAB>NAME` (BYTES empty when unknown). */
export function tablesFile(tables: { namespace: string; tag: string; bytes?: number }[]): string {
  return tables.map((t, i) => `${i + 1}\t${t.bytes ?? ''}\t${t.namespace}\t${t.tag}`).join('\n') + '\n';
}

export function parseProgress(text: string): RestoreProgress {
  const sections: Record<string, string[]> = { state: [] };
  let current = 'state';
  for (const line of text.split('\n')) {
    if (line.startsWith('--') && ['--state', '--tables', '--alive', '--copy'].includes(line.trim())) {
      current = line.trim().slice(2);
      sections[current] = [];
    } else if (line.trim() !== '') sections[current]!.push(line);
  }
  const tables: TableProgress[] = (sections.tables ?? []).map((line) => {
    const [n = '', bytes = '', namespace = '', tag = ''] = line.split('\t');
    return {
      n,
      namespace,
      tag,
      name: qualifiedName({ namespace, tag }),
      ...(bytes !== '' ? { bytes: Number(bytes) } : {}),
    };
  });
  const byN = new Map(tables.map((t) => [t.n, t]));
  const p: RestoreProgress = { phase: 'none', alive: (sections.alive ?? [])[0] === 'yes', tables };
  let prepared = false;
  for (const line of sections.state!) {
    const [event, a, b] = line.trim().split(/\s+/);
    const at = Number(a);
    switch (event) {
      case 'prepared':
        prepared = true;
        break;
      case 'phase1-start':
        p.phase1Start = at;
        break;
      case 'usable':
        p.usable = at;
        break;
      case 'phase2-start':
        p.phase2Start = at;
        break;
      case 'data-done':
        p.dataDone = at;
        break;
      case 'done':
        p.done = at;
        break;
      case 'failed':
        p.failed = { at, phase: b ?? '' };
        break;
      case 'table-start':
      case 'table-done':
      case 'table-failed': {
        const t = byN.get(a ?? '');
        const when = Number(b);
        if (t) {
          if (event === 'table-start') t.start = when;
          else if (event === 'table-done') t.done = when;
          else t.failed = when;
        }
        break;
      }
    }
  }
  for (const line of sections.copy ?? []) {
    const [namespace, tag, bytes] = line.split('\t');
    const t = tables.find((x) => x.namespace === namespace && x.tag === tag && x.done === undefined);
    if (t) t.copied = Number(bytes);
  }
  p.phase =
    p.done !== undefined
      ? 'done'
      : p.failed !== undefined
        ? 'failed'
        : !prepared
          ? 'none'
          : !p.alive
            ? 'interrupted'
            : p.usable !== undefined
              ? 'loading'
              : p.phase1Start !== undefined
                ? 'phase1'
                : 'preparing';
  return p;
}

/** Seconds from the start of phase 1 to `at`. */
function since(p: RestoreProgress, at: number | undefined): string | undefined {
  return at !== undefined && p.phase1Start !== undefined ? formatSeconds(at - p.phase1Start) : undefined;
}

/** One line per deferred table: loaded, loading (bytes so far) or waiting. */
export function tableLines(p: RestoreProgress): string[] {
  return p.tables.map((t) => {
    const size = t.bytes !== undefined ? ` (size ${formatBytes(t.bytes)})` : '';
    if (t.done !== undefined) return `  ${t.name}: loaded after ${since(p, t.done) ?? '?'}${size}`;
    if (t.failed !== undefined) return `  ${t.name}: FAILED (see data-${t.n}.log)`;
    if (t.start !== undefined)
      return `  ${t.name}: loading, ${formatBytes(t.copied ?? 0)} read so far${size}`;
    return `  ${t.name}: waiting${size}`;
  });
}

/** The whole picture for `--status` and the end of `--wait`. */
export function describeProgress(p: RestoreProgress, into: string): string {
  const lines: string[] = [];
  const usable = since(p, p.usable);
  const complete = since(p, p.done);
  switch (p.phase) {
    case 'none':
      return `No fast + deferred restore has run in ${into}.`;
    case 'preparing':
      lines.push(`Restore into ${into}: receiving the dump.`);
      break;
    case 'phase1':
      lines.push(`Restore into ${into}: phase 1 (schema and small tables) running.`);
      break;
    case 'loading':
      lines.push(
        `Restore into ${into}: usable after ${usable}; loading ${p.tables.length} deferred table${p.tables.length === 1 ? '' : 's'} in the background${p.dataDone !== undefined ? ' (data loaded, building indexes and constraints)' : ''}.`,
      );
      break;
    case 'done':
      lines.push(`Restore into ${into}: usable after ${usable}, complete after ${complete}.`);
      break;
    case 'failed':
      lines.push(
        `Restore into ${into} FAILED in ${p.failed!.phase || 'a phase'}${usable ? ` (it was usable after ${usable})` : ''}; the logs are in $PGDATA/wharf-restore/ in the container.`,
      );
      break;
    case 'interrupted':
      lines.push(
        `Restore into ${into} was interrupted (no process works on it: the container restarted or wharf stopped mid-way); run the restore again.`,
      );
      break;
  }
  lines.push(...tableLines(p));
  return lines.join('\n');
}
