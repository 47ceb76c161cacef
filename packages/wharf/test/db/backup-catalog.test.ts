import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  firstGap,
  formatCatalog,
  nextPosition,
  parseCatalog,
  planRestore,
  timestampMicros,
  walFileName,
  type BackupMeta,
} from '../../src/db/backup/catalog.js';
import { backupMeta, refusal } from './support.js';

const meta = backupMeta;

const LISTING = [
  'wal wal/000000010000000000000002',
  'wal wal/000000010000000000000001',
  'wal wal/000000010000000000000003',
  'wal wal/000000010000000000000004',
  'wal wal/00000002.history',
  'wal wal/000000020000000000000004',
  'wal wal/000000010000000000000003.00000028.backup',
  `backup ${JSON.stringify(meta('20261127T050300Z', '2026-11-27T05:03:00.500000Z', '000000010000000000000003'))}`,
  `backup ${JSON.stringify(meta('20261127T050100Z', '2026-11-27T05:01:00.250000Z', '000000010000000000000002'))}`,
  'backup {not json',
  'last 000000020000000000000004 desc: COMMIT 2026-11-27 05:06:07.123456 UTC',
  '',
].join('\n');

test('WAL file names from timeline and LSN (16 MiB segments)', () => {
  assert.equal(walFileName(1, '0/3000028'), '000000010000000000000003');
  assert.equal(walFileName(2, '1/FF000000'), '0000000200000001000000FF');
  assert.equal(walFileName(16, 'A/12345678'), '000000100000000A00000012');
  assert.throws(() => walFileName(1, 'nope'));
});

test('the catalog: segments sorted, histories apart, backups by finish time, broken backup.json skipped', () => {
  const c = parseCatalog(LISTING);
  assert.deepEqual(c.wal, [
    '000000010000000000000001',
    '000000010000000000000002',
    '000000010000000000000003',
    '000000010000000000000004',
    '000000020000000000000004',
  ]);
  assert.deepEqual(c.histories, ['00000002.history']);
  assert.deepEqual(
    c.backups.map((b) => b.label),
    ['20261127T050100Z', '20261127T050300Z'],
  );
  assert.equal(c.lastTransactionAt, '2026-11-27 05:06:07.123456 UTC');
  assert.equal(c.lastTransactionWal, '000000020000000000000004');
});

test('timestamps with a zone to microseconds: ISO 8601 and the way Postgres prints them', () => {
  const base = timestampMicros('2026-11-27T05:06:07.123456Z')!;
  assert.equal(timestampMicros('2026-11-27 05:06:07.123456 UTC'), base);
  assert.equal(timestampMicros('2026-11-27 05:06:07.123456+00'), base);
  assert.equal(timestampMicros('2026-11-27 07:06:07.123456+02:00'), base);
  assert.equal(timestampMicros('2026-11-27 00:06:07.123456-0500'), base);
  assert.equal(timestampMicros('2026-11-27T05:06:07.123Z'), base - 456n);
  assert.equal(timestampMicros('2026-11-27T05:06Z'), base - 7_123_456n);
  assert.equal(timestampMicros('2026-11-27 05:06:07'), undefined, 'no zone: ambiguous');
  assert.equal(timestampMicros('yesterday'), undefined);
  assert.equal(timestampMicros('2026-13-01T00:00:00Z'), undefined);
});

test('planRestore: the latest backup that finished before the target, WAL from its start on', () => {
  const c = parseCatalog(LISTING);
  const early = planRestore(c, '2026-11-27T05:02:00Z', 'the repo');
  assert.equal(early.backup.label, '20261127T050100Z');
  assert.deepEqual(early.walFiles, [
    '00000002.history',
    '000000010000000000000002',
    '000000010000000000000003',
    '000000010000000000000004',
    '000000020000000000000004',
  ]);
  const late = planRestore(c, '2026-11-27 05:06:07.123456+00', 'the repo');
  assert.equal(late.backup.label, '20261127T050300Z');
  assert.equal(late.walFiles.includes('000000010000000000000002'), false);
  assert.equal(
    planRestore(c, undefined, 'the repo').backup.label,
    '20261127T050300Z',
    'no target: the latest',
  );
  // A target exactly at a backup's finish may use it.
  assert.equal(planRestore(c, '2026-11-27T05:03:00.5Z', 'r').backup.label, '20261127T050300Z');
});

test('planRestore refusals: before the oldest backup, after the archive, no zone, no backup, no transaction found', () => {
  const c = parseCatalog(LISTING);
  assert.match(
    refusal(() => planRestore(c, '2026-11-27T05:01:00.2Z', 'the repo')),
    /before the end of the oldest base backup in the repo \(20261127T050100Z, finished 2026-11-27T05:01:00.250000Z\)/,
  );
  assert.match(
    refusal(() => planRestore(c, '2026-11-27T05:06:07.123457Z', 'the repo')),
    /after the last transaction in the archived WAL of the repo \(2026-11-27 05:06:07.123456 UTC\)/,
  );
  assert.match(
    refusal(() => planRestore(c, '2026-11-27 05:02', 'r')),
    /not a timestamp with a time zone/,
  );
  assert.match(
    refusal(() => planRestore(parseCatalog('wal wal/000000010000000000000001'), undefined, 'r')),
    /holds no complete base backup/,
  );
  const noLast = parseCatalog(LISTING.replace(/^last .*$/m, ''));
  assert.match(
    refusal(() => planRestore(noLast, '2026-11-27T05:04:00Z', 'r')),
    /no transaction was found/,
  );
  assert.equal(planRestore(noLast, undefined, 'r').backup.label, '20261127T050300Z');
});

test('formatCatalog shows the backups, the WAL range and the restorable window', () => {
  const text = formatCatalog('s3://b/p at https://x', parseCatalog(LISTING), 'Archiver on pg2: ok');
  assert.match(text, /^Repository: s3:\/\/b\/p at https:\/\/x$/m);
  assert.match(text, /^ {2}20261127T050100Z {2}from pg2 {2}finished 2026-11-27T05:01:00.250000Z {2}3.0 MB/m);
  assert.match(
    text,
    /^Archived WAL: 000000010000000000000001 \.\. 000000020000000000000004 \(5 segments, 1 timeline histories\)$/m,
  );
  assert.match(
    text,
    /^Restorable with --time: 2026-11-27T05:01:00.250000Z \.\. 2026-11-27 05:06:07.123456 UTC$/m,
  );
  assert.match(formatCatalog('r', parseCatalog('')), /Base backups: none/);
});

test('a hole in the archived WAL after the backup: staged WAL stops before it and the listing names it', () => {
  const c = parseCatalog(
    [
      `backup ${JSON.stringify(meta('20261127T050100Z', '2026-11-27T05:01:00Z', '000000010000000000000002'))}`,
      'wal wal/000000010000000000000002',
      'wal wal/000000010000000000000003',
      'wal wal/000000010000000000000005',
      'wal wal/000000010000000000000006',
      'last 000000010000000000000006 desc: COMMIT 2026-11-27 05:09:00 UTC',
    ].join('\n'),
  );
  const plan = planRestore(c, '2026-11-27T05:02:00Z', 'r');
  assert.equal(plan.gap, '0000000000000004');
  assert.deepEqual(plan.walFiles, ['000000010000000000000002', '000000010000000000000003']);
  assert.match(formatCatalog('r', c), /^Gap: no archived WAL file at position 0000000000000004/m);
  assert.equal(planRestore(parseCatalog(LISTING), undefined, 'r').gap, undefined);
});

test('WAL positions roll over from segment FF to the next log', () => {
  assert.equal(nextPosition('00000000000000FE'), '00000000000000FF');
  assert.equal(nextPosition('00000000000000FF'), '0000000100000000');
  assert.equal(
    firstGap(['0000000100000000000000FF', '000000010000000100000000'], '00000000000000FE'),
    undefined,
  );
});
