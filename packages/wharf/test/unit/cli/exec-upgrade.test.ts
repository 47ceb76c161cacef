/** app exec --raw option checks, and the host groups and host narrowing of `upgrade`. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkExecOptions } from '../../../src/deploy/app-ops.js';
import { upgradeGroups, withSpecificHosts } from '../../../src/deploy/upgrade-ops.js';
import { Context } from '../../../src/runtime/context.js';
import { UserError } from '../../../src/util/errors.js';

test('checkExecOptions: --raw is refused with -i or --detach (Kamal), allowed with --reuse', () => {
  assert.doesNotThrow(() => checkExecOptions({ raw: true }));
  assert.doesNotThrow(() => checkExecOptions({ raw: true, reuse: true }));
  assert.throws(
    () => checkExecOptions({ raw: true, interactive: true }),
    /^UserError: --raw cannot be combined with --interactive; drop one of them\.$/,
  );
  assert.throws(
    () => checkExecOptions({ raw: true, detach: true }),
    (e: unknown) =>
      e instanceof UserError && e.message === '--raw cannot be combined with --detach; drop one of them.',
  );
  assert.throws(
    () => checkExecOptions({ raw: true, interactive: true, detach: true }),
    /--detach cannot be combined with --interactive/,
  );
});

test('checkExecOptions: an empty command is refused with one sentence', () => {
  assert.throws(
    () => checkExecOptions({ command: [] }),
    /^UserError: No command given to execute; pass it after the options/,
  );
  assert.doesNotThrow(() => checkExecOptions({ command: ['ls'] }));
});

test('upgradeGroups: every host at once, or one at a time with --rolling', () => {
  assert.deepEqual(upgradeGroups(['a', 'b', 'c'], false), [['a', 'b', 'c']]);
  assert.deepEqual(upgradeGroups(['a', 'b', 'c'], true), [['a'], ['b'], ['c']]);
  assert.deepEqual(upgradeGroups([], true), []);
});

test('withSpecificHosts narrows the selection inside and restores it after, also on failure', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-upgrade-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(
    join(dir, 'config/deploy.yml'),
    JSON.stringify({
      service: 'app',
      image: 'app',
      registry: { server: 'localhost:5000' },
      servers: { web: ['10.0.0.1', '10.0.0.2'], workers: { hosts: ['10.0.0.3'], proxy: false } },
      builder: { arch: 'amd64' },
    }),
  );
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    const ctx = new Context({ flags: { quiet: true, version: '1', hosts: '10.0.0.1,10.0.0.3' } });
    assert.deepEqual((await ctx.selection()).hosts, ['10.0.0.1', '10.0.0.3']);
    const inside = await withSpecificHosts(
      ctx,
      ['10.0.0.3', '10.0.0.2'],
      async () => (await ctx.selection()).hosts,
    );
    // Only hosts the command selected: 10.0.0.2 was not.
    assert.deepEqual(inside, ['10.0.0.3']);
    assert.deepEqual((await ctx.selection()).hosts, ['10.0.0.1', '10.0.0.3']);
    await assert.rejects(
      withSpecificHosts(ctx, ['10.0.0.1'], async () => {
        assert.deepEqual((await ctx.selection()).appHosts, ['10.0.0.1']);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.deepEqual((await ctx.selection()).hosts, ['10.0.0.1', '10.0.0.3']);
    assert.equal(ctx.flags.hosts, '10.0.0.1,10.0.0.3');
    await ctx.close();
  } finally {
    process.chdir(cwd);
  }
});

test("parseEnvOption takes KEY=VALUE and Kamal's KEY:VALUE; the first = or : ends the name", async () => {
  const { parseEnvOption } = await import('../../../src/cli/app-command.js');
  assert.deepEqual(parseEnvOption('RAILS_ENV:production'), { RAILS_ENV: 'production' });
  assert.deepEqual(parseEnvOption('DATABASE_URL:postgres://u:p@h/db?x=1'), {
    DATABASE_URL: 'postgres://u:p@h/db?x=1',
  });
  assert.deepEqual(parseEnvOption('A=b:c', { Z: '1' }), { Z: '1', A: 'b:c' });
  assert.deepEqual(parseEnvOption('EMPTY='), { EMPTY: '' });
  assert.throws(() => parseEnvOption(':v'), /--env :v is not KEY=VALUE/);
  assert.throws(() => parseEnvOption('NOVALUE'), UserError);
});
