/** `wharf db restore` fast + deferred: what is refused through the CLI before any server is contacted. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { wharf } from '../../support/fleet.js';
import { FIXTURES } from './support.js';

function project(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-restore-cli-'));
  mkdirSync(join(dir, 'config'));
  // 192.0.2.0/24 is TEST-NET-1: nothing answers there, so any SSH attempt would fail the test.
  writeFileSync(
    join(dir, 'config/deploy.yml'),
    'service: x\nimage: x\nservers: [192.0.2.9]\nregistry: {server: "localhost:5000"}\nbuilder: {arch: amd64}\naccessories:\n  staging: {image: "pg:1", host: 192.0.2.9}\n',
  );
  spawnSync('git', ['init', '-q'], { cwd: dir });
  return dir;
}

test('bad --jobs and --defer-over, a piped dump without --defer and --from-node without a tier are refused offline', () => {
  const dir = project();
  const run = (...args: string[]) =>
    wharf(['db', 'restore', '--into', 'staging', ...args, '-y'], { cwd: dir });
  const cases: [string[], RegExp][] = [
    [['--dump', `${FIXTURES}sample.dump`, '--jobs', 'abc'], /--jobs abc is not a number of parallel jobs/],
    [['--dump', `${FIXTURES}sample.dump`, '--defer-over', '12QB'], /--defer-over "12QB" is not a size/],
    [['--dump', `${FIXTURES}piped.dump`], /piped\.dump has no data offsets \(pg_dump wrote it to a pipe\)/],
    [['--from-node', 'pg1'], /--from-node pg1 needs the x-wharf-db block in config\/deploy\.yml/],
  ];
  for (const [args, pattern] of cases) {
    const r = run(...args);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern, args.join(' '));
    assert.equal(r.stderr.trim().split('\n').length, 1, `one sentence: ${r.stderr}`);
  }
});
