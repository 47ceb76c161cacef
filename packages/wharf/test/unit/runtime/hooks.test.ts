import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runHook, withWharfAliases } from '../../../src/runtime/hooks.js';
import { UserError } from '../../../src/util/errors.js';

function hooksDir(scripts: Record<string, { body: string; mode?: number }>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-hooks-'));
  for (const [name, { body, mode }] of Object.entries(scripts)) {
    writeFileSync(join(dir, name), `#!/bin/sh\n${body}\n`);
    chmodSync(join(dir, name), mode ?? 0o755);
  }
  return dir;
}

test('KAMAL_ variables are also given as WHARF_, undefined ones are dropped', () => {
  assert.deepEqual(withWharfAliases({ KAMAL_VERSION: '1', KAMAL_DESTINATION: undefined, OTHER: 'x' }), {
    KAMAL_VERSION: '1',
    WHARF_VERSION: '1',
    OTHER: 'x',
  });
});

test('a hook runs with Kamal and wharf variables and secrets; a missing hook is skipped', async () => {
  const dir = hooksDir({
    'pre-deploy': { body: 'echo "$KAMAL_VERSION $WHARF_VERSION $DB_PASSWORD" > "$OUT"' },
  });
  const out = join(dir, 'out.txt');
  const written: string[] = [];
  const ran = await runHook({
    name: 'pre-deploy',
    hooksDir: dir,
    cwd: dir,
    env: { KAMAL_VERSION: 'abc' },
    secrets: { DB_PASSWORD: 's3cret', OUT: out },
    stream: false,
    write: (t) => written.push(t),
  });
  assert.equal(ran, true);
  const { readFileSync } = await import('node:fs');
  assert.equal(readFileSync(out, 'utf8'), 'abc abc s3cret\n');
  assert.equal(
    await runHook({ name: 'post-deploy', hooksDir: dir, cwd: dir, env: {}, stream: false }),
    false,
  );
});

test('a failing hook is one sentence naming it, and its output is shown redacted', async () => {
  const dir = hooksDir({ 'pre-build': { body: 'echo "token s3cret-token is bad"; exit 3' } });
  const written: string[] = [];
  await assert.rejects(
    runHook({
      name: 'pre-build',
      hooksDir: dir,
      cwd: dir,
      env: {},
      stream: false,
      write: (t) => written.push(t),
      redact: (t) => t.replaceAll('s3cret-token', '[REDACTED]'),
    }),
    (e: unknown) =>
      e instanceof UserError &&
      /^Hook `pre-build` failed with exit code 3 \(token \[REDACTED\] is bad\); fix .* or skip hooks with -H\.$/.test(
        e.message,
      ),
  );
  assert.equal(written.join(''), 'token [REDACTED] is bad\n');
});

test('a hook that is not executable is a clear error', async () => {
  const dir = hooksDir({ 'pre-connect': { body: 'true', mode: 0o644 } });
  await assert.rejects(
    runHook({ name: 'pre-connect', hooksDir: dir, cwd: dir, env: {}, stream: false }),
    /is not executable; run `chmod \+x/,
  );
});
