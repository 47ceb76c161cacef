// `wharf db prune --keep N`: the plan (which backups and WAL go), and the
// script that carries it out, run in sh against a directory repository with
// the real wharf-db-repo.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { parseCatalog, type BackupMeta, type Catalog } from '../../src/db/backup/catalog.js';
import { formatPrune, parseKeep, planPrune, pruneScript } from '../../src/db/backup/prune-ops.js';
import { REPO_SCRIPT } from '../../src/db/backup/repo-script.js';
import { backupMeta, refusal } from './support.js';

/** A backup whose label (20261127T050100Z) is also its finish time. */
function meta(label: string, startWal: string, timeline = 1): BackupMeta {
  const finished = label.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z');
  return backupMeta(label, finished, startWal, timeline);
}

const B1 = meta('20261127T050100Z', '000000010000000000000002');
const B2 = meta('20261127T050300Z', '000000010000000000000005');
// After a switchover: timeline 2 from segment 6 on.
const B3 = meta('20261127T050500Z', '000000020000000000000007', 2);
const WAL = [
  '000000010000000000000001',
  '000000010000000000000002',
  '000000010000000000000003',
  '000000010000000000000004',
  '000000010000000000000005',
  '000000010000000000000006',
  '000000020000000000000006',
  '000000020000000000000007',
  '000000020000000000000008',
];

function catalog(backups: BackupMeta[]): Catalog {
  return { backups, wal: [...WAL], histories: ['00000002.history'] };
}

test('the plan keeps the newest N backups and drops WAL from before the oldest kept one, on any timeline', () => {
  const two = planPrune(catalog([B1, B2, B3]), 2);
  assert.deepEqual(
    two.remove.map((b) => b.label),
    [B1.label],
  );
  assert.deepEqual(
    two.keep.map((b) => b.label),
    [B2.label, B3.label],
  );
  assert.equal(two.walFrom, '0000000000000005');
  assert.deepEqual(two.wal, WAL.slice(0, 4));

  const one = planPrune(catalog([B1, B2, B3]), 1);
  assert.deepEqual(
    one.remove.map((b) => b.label),
    [B1.label, B2.label],
  );
  // Timeline 1's segment 6 is at the same position as timeline 2's: only positions before 7 go.
  assert.deepEqual(one.wal, WAL.slice(0, 7));

  // Keeping more than there are deletes no backup, but WAL older than every backup still goes.
  const all = planPrune(catalog([B1, B2, B3]), 5);
  assert.deepEqual(all.remove, []);
  assert.deepEqual(all.wal, ['000000010000000000000001']);
});

test('--keep must be a whole number of at least 1; the sentence says nothing was deleted', () => {
  assert.equal(parseKeep('3'), 3);
  for (const bad of ['0', '-1', '1.5', 'two', '']) {
    const message = refusal(() => parseKeep(bad));
    assert.match(message, /must be a whole number of backups, at least 1; nothing was deleted\.$/);
  }
  assert.match(
    refusal(() => parseKeep(undefined)),
    /needs --keep N/,
  );
});

test('the summary says what went and how far back restores still reach', () => {
  const text = formatPrune({
    repository: 's3://b/p at http://s3',
    removed: [B1.label],
    kept: [B2.label, B3.label],
    wal_removed: 4,
    restorable_from: B2.finished_at,
    dry_run: true,
  });
  assert.match(
    text,
    /^Would delete 1 backup\(s\) \(20261127T050100Z\) and 4 WAL segment\(s\) from s3:\/\/b\/p/,
  );
  assert.match(text, /restores can reach back to 2026-11-27T05:03:00Z\.$/);
});

function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

function repoWith(files: string[]): { work: string; repo: string; bin: string } {
  const work = mkdtempSync(join(tmpdir(), 'wharf-prune-'));
  const repo = join(work, 'repo');
  for (const f of files) {
    mkdirSync(dirname(join(repo, f)), { recursive: true });
    writeFileSync(join(repo, f), f);
  }
  const bin = join(work, 'bin');
  mkdirSync(bin);
  writeFileSync(join(bin, 'wharf-db-repo'), REPO_SCRIPT);
  chmodSync(join(bin, 'wharf-db-repo'), 0o755);
  return { work, repo, bin };
}

function sh(script: string, env: Record<string, string>, input = '') {
  return spawnSync('sh', ['-c', script], {
    encoding: 'utf8',
    input,
    env: { ...env, PATH: `${env['PATH']}` },
  });
}

test('wharf-db-repo delete on a directory: keys from stdin, missing ones fine, empty folders removed, nothing outside', () => {
  const { work, repo, bin } = repoWith([
    'base/L/backup.json',
    'base/L/base.tar.gz',
    'wal/000000010000000000000001',
  ]);
  try {
    const env = { WHARF_REPO_PATH: repo, PATH: `${bin}:${process.env['PATH']}` };
    const ok = sh('wharf-db-repo delete', env, 'base/L/backup.json\nbase/L/base.tar.gz\n\nbase/L/gone\n');
    assert.equal(ok.status, 0, ok.stderr);
    assert.deepEqual(listFiles(repo), ['wal/000000010000000000000001']);
    assert.deepEqual(readdirSync(join(repo, 'base')), [], 'the backup folder went with its last file');
    writeFileSync(join(work, 'outside'), 'keep me');
    const escape = sh('wharf-db-repo delete', env, '../outside\n');
    assert.equal(escape.status, 1);
    assert.match(escape.stderr, /refusing to delete \.\.\/outside/);
    assert.deepEqual(readdirSync(work).sort(), ['bin', 'outside', 'repo']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the prune script deletes the removed backups (backup.json first) and the old WAL, and keeps the rest', () => {
  const files = [
    ...[B1, B2, B3].flatMap((b) => [
      `base/${b.label}/backup.json`,
      `base/${b.label}/base.tar.gz`,
      `base/${b.label}/pg_wal.tar.gz`,
    ]),
    ...WAL.map((w) => `wal/${w}`),
    'wal/00000002.history',
    'wal/000000010000000000000002.00000028.backup',
  ];
  const { work, repo, bin } = repoWith(files);
  try {
    const listing = [
      ...WAL.map((w) => `wal wal/${w}`),
      'wal wal/00000002.history',
      ...[B1, B2, B3].map((b) => `backup ${JSON.stringify(b)}`),
    ].join('\n');
    const plan = planPrune(parseCatalog(listing), 1);
    const r = sh(pruneScript(plan, 'data-tier:15'), {
      WHARF_REPO_PATH: repo,
      PATH: `${bin}:${process.env['PATH']}`,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `deleted ${2 * 3 + 7}`);
    assert.deepEqual(listFiles(repo), [
      `base/${B3.label}/backup.json`,
      `base/${B3.label}/base.tar.gz`,
      `base/${B3.label}/pg_wal.tar.gz`,
      'wal/000000010000000000000002.00000028.backup',
      'wal/00000002.history',
      'wal/000000020000000000000007',
      'wal/000000020000000000000008',
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('an image whose wharf-db-repo cannot delete stops the prune before anything is touched, with a sentence', () => {
  const { work, repo, bin } = repoWith([`base/${B1.label}/backup.json`, 'wal/000000010000000000000001']);
  try {
    // wharf-db-repo as built before `delete` existed.
    writeFileSync(join(bin, 'wharf-db-repo'), REPO_SCRIPT.replace(/\n {2}delete\)[^\n]*/, ''));
    const plan = planPrune(catalog([B1, B2]), 1);
    const r = sh(pruneScript(plan, 'data-tier:15'), {
      WHARF_REPO_PATH: repo,
      PATH: `${bin}:${process.env['PATH']}`,
    });
    assert.equal(r.status, 4);
    assert.match(r.stderr, /the wharf-db-repo in data-tier:15 cannot delete; rebuild the data-tier image/);
    assert.deepEqual(listFiles(repo), [`base/${B1.label}/backup.json`, 'wal/000000010000000000000001']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
