/**
 * Reading a custom-format archive's TOC. fixtures/sample.dump was made by
 * pg_dump 15 -Fc -f from fixtures/schema.sql (a small "big" table, foreign
 * keys both ways, views, materialized views, triggers, a comment on an index,
 * a grant, a schema and a table whose names hold a space and a semicolon);
 * fixtures/piped.dump is the same database written to a pipe (no data
 * offsets); fixtures/sample-list.txt is `pg_restore -l -v sample.dump`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  dataBlockSizes,
  parseArchiveToc,
  qualifiedName,
  TocTruncated,
  type TocEntry,
} from '../../../src/db/dump-restore/toc.js';
import { UserError } from '../../../src/util/errors.js';
import { FIXTURES, sample } from './support.js';

/** pg_restore's own reading: id -> {line, deps}. */
function pgRestoreListing(): Map<number, { line: string; deps: number[] }> {
  const out = new Map<number, { line: string; deps: number[] }>();
  let last: { line: string; deps: number[] } | undefined;
  for (const line of readFileSync(`${FIXTURES}sample-list.txt`, 'utf8').split('\n')) {
    const entry = /^(\d+); /.exec(line);
    const deps = /^;\s+depends on: (.*)$/.exec(line);
    if (entry) {
      last = { line, deps: [] };
      out.set(Number(entry[1]), last);
    } else if (deps && last) last.deps = deps[1]!.trim().split(/\s+/).map(Number);
  }
  return out;
}

test('every entry pg_restore lists is read with the same id, kind, owner and dependencies', () => {
  const toc = parseArchiveToc(sample(), 'sample.dump');
  assert.equal(toc.version, '1.14-0');
  const listing = pgRestoreListing();
  assert.ok(listing.size > 40);
  const byId = new Map(toc.entries.map((e) => [e.id, e]));
  for (const [id, { line, deps }] of listing) {
    const e = byId.get(id);
    assert.ok(e, `entry ${id} not read`);
    assert.ok(line.includes(` ${e.desc} `), `${line} vs desc ${e.desc}`);
    assert.ok(line.endsWith(` ${e.owner}`) || e.owner === '', `${line} vs owner ${e.owner}`);
    assert.ok(line.includes(`${e.tableOid} ${e.oid} `), `${line} vs oids ${e.tableOid} ${e.oid}`);
    assert.deepEqual(e.deps, deps, `dependencies of ${line}`);
  }
});

test('names with spaces and semicolons, sections and data offsets come out exactly', () => {
  const toc = parseArchiveToc(sample(), 'sample.dump');
  const find = (desc: string, tag: string) => toc.entries.find((e) => e.desc === desc && e.tag === tag)!;
  const weird = find('TABLE', 'Weird; name');
  assert.equal(weird.namespace, 'odd schema');
  assert.equal(qualifiedName(weird), '"odd schema"."Weird; name"');
  assert.equal(qualifiedName(find('TABLE', 'events')), 'public.events');
  assert.equal(find('TABLE', 'events').section, 'pre-data');
  assert.equal(find('TABLE DATA', 'events').section, 'data');
  assert.equal(find('SEQUENCE SET', 'events_id_seq').section, 'data');
  assert.equal(find('INDEX', 'events_customer_idx').section, 'post-data');
  assert.equal(find('FK CONSTRAINT', 'orders orders_last_event_fkey').section, 'post-data');
  assert.equal(find('MATERIALIZED VIEW DATA', 'event_counts').section, 'post-data');
  assert.equal(find('ACL', 'TABLE events').section, 'none');
  const data = toc.entries.filter((e) => e.desc === 'TABLE DATA');
  assert.equal(data.length, 5);
  for (const d of data) assert.ok(d.dataOffset! >= toc.tocBytes, `${d.tag} offset ${d.dataOffset}`);
});

test('data block sizes: the big table has the biggest block and the blocks tile the data area', () => {
  const buf = sample();
  const toc = parseArchiveToc(buf, 'sample.dump');
  const sizes = dataBlockSizes(toc, buf.length);
  const tagOf = (id: number) => toc.entries.find((e) => e.id === id)!.tag;
  const biggest = [...sizes].sort((a, b) => b[1] - a[1])[0]!;
  assert.equal(tagOf(biggest[0]), 'events');
  assert.ok(biggest[1] > 20_000);
  const first = Math.min(...toc.entries.filter((e) => e.dataOffset !== undefined).map((e) => e.dataOffset!));
  assert.equal(
    [...sizes.values()].reduce((a, b) => a + b, 0),
    buf.length - first,
  );
});

test('an archive written to a pipe has no offsets, so no sizes', () => {
  const buf = readFileSync(`${FIXTURES}piped.dump`);
  const toc = parseArchiveToc(buf, 'piped.dump');
  assert.equal(toc.entries.filter((e: TocEntry) => e.desc === 'TABLE DATA').length, 5);
  assert.equal(dataBlockSizes(toc, buf.length).size, 0);
});

test('a prefix that ends inside the TOC asks for more; other files are refused naming the file', () => {
  const buf = sample();
  const toc = parseArchiveToc(buf, 'x');
  for (const cut of [3, 12, 200, toc.tocBytes - 1])
    assert.throws(() => parseArchiveToc(buf.subarray(0, cut), 'x'), TocTruncated, `cut at ${cut}`);
  assert.equal(parseArchiveToc(buf.subarray(0, toc.tocBytes), 'x').entries.length, toc.entries.length);
  assert.throws(
    () => parseArchiveToc(Buffer.from('--\n-- PostgreSQL database dump\n--\n'), 'plain.sql'),
    (e: unknown) =>
      e instanceof UserError && /plain.sql is not a pg_dump custom-format archive/.test(e.message),
  );
  const tar = Buffer.from(buf);
  tar[10] = 3; // format byte: tar
  assert.throws(
    () => parseArchiveToc(tar, 'dump.tar'),
    (e: unknown) => e instanceof UserError && /not in the custom format/.test(e.message),
  );
});
