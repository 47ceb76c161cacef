/** Splitting a TOC into the two phases and writing pg_restore lists. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { listFile, planRestore, type RestorePlan } from '../../../src/db/dump-restore/plan.js';
import { dataBlockSizes, parseArchiveToc, type TocEntry } from '../../../src/db/dump-restore/toc.js';
import { UserError } from '../../../src/util/errors.js';
import { sample } from './support.js';

function sampleToc() {
  const buf = sample();
  const toc = parseArchiveToc(buf, 'sample.dump');
  return { entries: toc.entries, sizes: dataBlockSizes(toc, buf.length) };
}

function named(entries: TocEntry[], ids: number[]): string[] {
  return ids.map((id) => {
    const e = entries.find((x) => x.id === id)!;
    return `${e.desc} ${e.tag}`;
  });
}

test('deferring the big table moves its data, indexes, constraints, triggers, FKs both ways and matview refresh to phase 2', () => {
  const { entries, sizes } = sampleToc();
  const plan = planRestore(entries, { sizes, deferOver: 10_000 });
  assert.deepEqual(
    plan.deferred.map((d) => d.name),
    ['public.events'],
  );
  assert.equal(plan.smallTables, 4);
  assert.deepEqual(named(entries, plan.deferredPost).sort(), [
    'COMMENT INDEX events_customer_idx',
    'CONSTRAINT events events_pkey',
    'FK CONSTRAINT events events_customer_id_fkey',
    'FK CONSTRAINT events events_product_id_fkey',
    'FK CONSTRAINT orders orders_last_event_fkey',
    'INDEX event_counts_idx',
    'INDEX events_customer_idx',
    'MATERIALIZED VIEW DATA event_counts',
    'TRIGGER events events_touch',
  ]);
  const phase1 = named(entries, plan.phase1);
  for (const kept of [
    'TABLE events', // the table exists (empty) from phase 1 on
    'COMMENT TABLE events', // comments and grants on the table itself
    'ACL TABLE events',
    'SEQUENCE SET events_id_seq', // new rows get ids after the restored ones
    'DEFAULT events id',
    'TABLE DATA customers',
    'TABLE DATA Weird; name',
    'CONSTRAINT customers customers_pkey',
    'FK CONSTRAINT orders orders_customer_id_fkey', // between two small tables
    'FK CONSTRAINT Weird; name Weird; name_customer_id_fkey',
    'CHECK CONSTRAINT orders orders_id_positive',
    'TRIGGER customers orders_touch',
    'MATERIALIZED VIEW DATA product_names',
    'VIEW customer_orders',
  ])
    assert.ok(phase1.includes(kept), `${kept} should be in phase 1`);
  assert.ok(!phase1.includes('TABLE DATA events'));
  // Every entry exactly once, phase 1 in TOC order.
  const all = [...plan.phase1, ...plan.deferred.map((d) => d.dataId), ...plan.deferredPost];
  assert.deepEqual(
    [...all].sort((a, b) => a - b),
    entries.map((e) => e.id).sort((a, b) => a - b),
  );
  const order = entries.map((e) => e.id);
  assert.deepEqual(
    plan.phase1,
    order.filter((id) => plan.phase1.includes(id)),
  );
  assert.deepEqual(
    plan.deferredPost,
    order.filter((id) => plan.deferredPost.includes(id)),
  );
});

test('nothing is deferred when every table is under the limit; everything is phase 1', () => {
  const { entries, sizes } = sampleToc();
  const plan: RestorePlan = planRestore(entries, { sizes, deferOver: 64 * 1024 * 1024 });
  assert.deepEqual(plan.deferred, []);
  assert.deepEqual(plan.deferredPost, []);
  assert.equal(plan.phase1.length, entries.length);
});

test('--defer names tables by name, schema.name or quoted name, whatever their size; unknown names are refused', () => {
  const { entries, sizes } = sampleToc();
  for (const spelling of ['Weird; name', 'odd schema.Weird; name', '"odd schema"."Weird; name"']) {
    const plan = planRestore(entries, { sizes, deferOver: 0, tables: [spelling] });
    assert.deepEqual(
      plan.deferred.map((d) => d.name),
      ['"odd schema"."Weird; name"'],
    );
    assert.deepEqual(named(entries, plan.deferredPost).sort(), [
      'CONSTRAINT Weird; name Weird; name_pkey',
      'FK CONSTRAINT Weird; name Weird; name_customer_id_fkey',
    ]);
  }
  const two = planRestore(entries, { sizes, deferOver: 0, tables: ['public.orders', 'customers', 'orders'] });
  assert.deepEqual(
    two.deferred.map((d) => d.name),
    ['public.orders', 'public.customers'],
  );
  // Everything referencing customers waits for it.
  assert.ok(named(entries, two.deferredPost).includes('FK CONSTRAINT events events_customer_id_fkey'));
  assert.throws(
    () => planRestore(entries, { sizes, deferOver: 0, tables: ['nope'] }),
    (e: unknown) =>
      e instanceof UserError &&
      /--defer names nope, which is not a table with data in the dump \(tables: /.test(e.message),
  );
});

test('dependencies are followed transitively: a matview over a view over a deferred table waits for it', () => {
  const e = (
    id: number,
    desc: string,
    tag: string,
    section: TocEntry['section'],
    deps: number[],
  ): TocEntry => ({
    id,
    hadDumper: false,
    tableOid: '0',
    oid: String(1000 + id),
    tag,
    desc,
    section,
    namespace: 'public',
    owner: 'app',
    deps,
  });
  const entries = [
    e(1, 'TABLE', 'big', 'pre-data', []),
    e(2, 'VIEW', 'v', 'pre-data', [1]),
    e(3, 'MATERIALIZED VIEW', 'mv', 'pre-data', [2]),
    e(4, 'TABLE DATA', 'big', 'data', [1]),
    e(5, 'INDEX', 'mv_idx', 'post-data', [3]),
    e(6, 'MATERIALIZED VIEW DATA', 'mv', 'post-data', [3, 99]), // 99: not in the TOC (a boundary marker)
    e(7, 'COMMENT', 'INDEX mv_idx', 'none', [5]),
    e(8, 'TABLE', 'small', 'pre-data', []),
    e(9, 'TABLE DATA', 'small', 'data', [8]),
    e(10, 'INDEX', 'small_idx', 'post-data', [8]),
  ];
  entries[3]!.oid = entries[0]!.oid;
  const plan = planRestore(entries, {
    sizes: new Map([
      [4, 100],
      [9, 1],
    ]),
    deferOver: 10,
  });
  assert.deepEqual(
    plan.deferred.map((d) => [d.tableId, d.dataId, d.bytes]),
    [[1, 4, 100]],
  );
  assert.deepEqual(plan.deferredPost, [5, 6, 7]);
  assert.deepEqual(plan.phase1, [1, 2, 3, 8, 9, 10]);
});

test('list files: one "ID; …" line per entry in the given order, newlines in names flattened', () => {
  const { entries } = sampleToc();
  const text = listFile(entries, [3407, 216]);
  assert.equal(
    text,
    '3407; 0 16405 TABLE DATA public events postgres\n216; 1259 16386 TABLE public customers postgres\n',
  );
  const odd = { ...entries[0]!, id: 5, tag: 'a\nb' };
  assert.equal(
    listFile([odd], [5]),
    `5; ${odd.tableOid} ${odd.oid} ${odd.desc} ${odd.namespace || '-'} a b ${odd.owner}\n`,
  );
  assert.throws(() => listFile(entries, [123456]), /not in the TOC/);
});
