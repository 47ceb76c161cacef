/**
 * Splits an archive's TOC into the two phases of a fast + deferred restore:
 *
 * - phase 1 (the database is usable after it): every pre-data entry (schema,
 *   types, functions, every table including the deferred ones, empty), the
 *   data of the tables that are not deferred, sequence values, and the
 *   post-data entries (indexes, constraints, triggers, rules, policies,
 *   materialized view refreshes) that do not reach a deferred table;
 * - phase 2 (in the background): the data of each deferred table (one list
 *   per table, loaded in parallel), then every post-data entry that reaches a
 *   deferred table through its dependencies (its own indexes and
 *   constraints, foreign keys from or to it, triggers on it, materialized
 *   views over it), and comments, grants and labels attached to those.
 *
 * "Reaches" follows pg_dump's recorded dependencies transitively, so a
 * foreign key from a small table to a deferred one, an index on a
 * materialized view over a view over a deferred table, or a comment on a
 * deferred table's index all move to phase 2. Sequence values (SEQUENCE SET)
 * stay in phase 1 even for a deferred table's sequence: new rows written
 * while the table loads then take ids after the restored ones.
 */
import { UserError } from '../../util/errors.js';
import { qualifiedName, type TocEntry } from './toc.js';

export interface DeferredTable {
  /** The TABLE entry's dump id. */
  tableId: number;
  /** The TABLE DATA entry's dump id. */
  dataId: number;
  name: string;
  /** Size used for the decision (bytes); undefined when unknown. */
  bytes?: number;
}

export interface RestorePlan {
  deferred: DeferredTable[];
  /** Tables whose data loads in phase 1. */
  smallTables: number;
  /** Dump ids restored in phase 1, in TOC order. */
  phase1: number[];
  /** Dump ids restored in phase 2 after the data, in TOC order. */
  deferredPost: number[];
}

export interface PlanOptions {
  /** Table sizes in bytes keyed by the TABLE DATA entry's dump id. */
  sizes: Map<number, number>;
  /** Tables larger than this (bytes) are deferred (when `tables` is not given). */
  deferOver: number;
  /** Defer exactly these tables (`name` or `schema.name`), whatever their size. */
  tables?: string[];
}

/** The TABLE entry a TABLE DATA entry fills. */
function tableOf(data: TocEntry, byId: Map<number, TocEntry>, entries: TocEntry[]): TocEntry | undefined {
  for (const dep of data.deps) {
    const e = byId.get(dep);
    if (e && e.desc === 'TABLE') return e;
  }
  return entries.find((e) => e.desc === 'TABLE' && e.oid === data.oid);
}

function matchesName(entry: TocEntry, wanted: string): boolean {
  const plain = `${entry.namespace}.${entry.tag}`;
  return wanted === entry.tag || wanted === plain || wanted === qualifiedName(entry);
}

/** Which tables to defer: the explicit list, else every table whose data is larger than `deferOver`. */
export function chooseDeferred(entries: TocEntry[], options: PlanOptions): DeferredTable[] {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const data = entries.filter((e) => e.desc === 'TABLE DATA');
  const chosen: DeferredTable[] = [];
  const describe = (d: TocEntry, table: TocEntry): DeferredTable => ({
    tableId: table.id,
    dataId: d.id,
    name: qualifiedName(d),
    ...(options.sizes.has(d.id) ? { bytes: options.sizes.get(d.id)! } : {}),
  });
  if (options.tables !== undefined) {
    for (const wanted of options.tables) {
      const d = data.find((e) => matchesName(e, wanted));
      const table = d && tableOf(d, byId, entries);
      if (!d || !table) {
        const names = data.map((e) => qualifiedName(e));
        throw new UserError(
          `--defer names ${wanted}, which is not a table with data in the dump${names.length > 0 ? ` (tables: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''})` : ''}; fix the name.`,
        );
      }
      if (!chosen.some((c) => c.dataId === d.id)) chosen.push(describe(d, table));
    }
    return chosen;
  }
  for (const d of data) {
    const size = options.sizes.get(d.id);
    const table = tableOf(d, byId, entries);
    if (size !== undefined && size > options.deferOver && table) chosen.push(describe(d, table));
  }
  return chosen;
}

/** Whether `id`'s dependencies reach any of `targets` (transitively). */
function reaches(id: number, byId: Map<number, TocEntry>, targets: Set<number>, memo: Map<number, boolean>) {
  const stack = [id];
  const seen = new Set<number>();
  while (stack.length > 0) {
    const current = stack.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    if (current !== id && targets.has(current)) return true;
    const known = memo.get(current);
    if (current !== id && known !== undefined) {
      if (known) return true;
      continue;
    }
    for (const dep of byId.get(current)?.deps ?? []) stack.push(dep);
  }
  return false;
}

export function planRestore(entries: TocEntry[], options: PlanOptions): RestorePlan {
  const deferred = chooseDeferred(entries, options);
  const byId = new Map(entries.map((e) => [e.id, e]));
  const deferredTables = new Set(deferred.map((d) => d.tableId));
  const deferredData = new Set(deferred.map((d) => d.dataId));
  const memo = new Map<number, boolean>();
  const later = new Set<number>();
  for (const e of entries) {
    if (e.section === 'post-data') {
      const r = reaches(e.id, byId, deferredTables, memo);
      memo.set(e.id, r);
      if (r) later.add(e.id);
    }
  }
  // Comments, grants and security labels go with the object they describe.
  for (const e of entries) {
    if (e.section === 'none' && e.deps.some((d) => later.has(d) || deferredData.has(d))) later.add(e.id);
  }
  const phase1 = entries.filter((e) => !later.has(e.id) && !deferredData.has(e.id)).map((e) => e.id);
  const deferredPost = entries.filter((e) => later.has(e.id)).map((e) => e.id);
  const smallTables = entries.filter((e) => e.desc === 'TABLE DATA' && !deferredData.has(e.id)).length;
  return { deferred, smallTables, phase1, deferredPost };
}

/** A `pg_restore -L` list: one `ID; …` line per entry in the given order (pg_restore reads the id). */
export function listFile(entries: TocEntry[], ids: number[]): string {
  const byId = new Map(entries.map((e) => [e.id, e]));
  const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');
  return (
    ids
      .map((id) => {
        const e = byId.get(id);
        if (!e) throw new Error(`dump id ${id} is not in the TOC`);
        return clean(`${e.id}; ${e.tableOid} ${e.oid} ${e.desc} ${e.namespace || '-'} ${e.tag} ${e.owner}`);
      })
      .join('\n') + '\n'
  );
}
