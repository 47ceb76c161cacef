// Hook commands and environment, after Kamal's test/commands/hook_test.rb,
// with wharf's WHARF_* copies of every KAMAL_* detail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HookCommands } from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: ['1.1.1.1'],
  builder: { arch: 'amd64' },
};
const stamp = { performer: 'dev@example.com', at: new Date('2026-11-26T23:04:16Z') };

async function hook(
  extra: Raw = {},
  options: { destination?: string; version?: string } = {},
): Promise<HookCommands> {
  return new HookCommands(
    await load(
      { ...BASE, ...extra },
      { version: options.version ?? '123', destination: options.destination },
    ),
    stamp,
  );
}

function both(kamal: Record<string, string>): Record<string, string> {
  return {
    ...kamal,
    ...Object.fromEntries(Object.entries(kamal).map(([k, v]) => [k.replace(/^KAMAL_/, 'WHARF_'), v])),
  };
}

test('run', async () => {
  assert.deepEqual((await hook()).run('foo'), ['.kamal/hooks/foo']);
  assert.deepEqual((await hook({ hooks_path: 'custom/hooks/path' })).run('foo'), ['custom/hooks/path/foo']);
});

test('env', async () => {
  const env = (await hook()).env();
  assert.deepEqual(
    env,
    both({
      KAMAL_RECORDED_AT: '2026-11-26T23:04:16Z',
      KAMAL_PERFORMER: 'dev@example.com',
      KAMAL_VERSION: '123',
      KAMAL_SERVICE_VERSION: 'app@123',
      KAMAL_SERVICE: 'app',
    }),
  );
  assert.deepEqual(Object.keys(env).slice(0, 5), [
    'KAMAL_RECORDED_AT',
    'KAMAL_PERFORMER',
    'KAMAL_VERSION',
    'KAMAL_SERVICE_VERSION',
    'KAMAL_SERVICE',
  ]);
});

test('env with secrets', async () => {
  assert.deepEqual((await hook()).env({}, { DB_PASSWORD: 'secret' }), {
    ...both({
      KAMAL_RECORDED_AT: '2026-11-26T23:04:16Z',
      KAMAL_PERFORMER: 'dev@example.com',
      KAMAL_VERSION: '123',
      KAMAL_SERVICE_VERSION: 'app@123',
      KAMAL_SERVICE: 'app',
    }),
    DB_PASSWORD: 'secret',
  });
});

test('env with the invocation details (deploy, destination, roles, lock, runtime)', async () => {
  const env = (await hook({}, { destination: 'staging', version: '0123456789abcdef' })).env({
    hosts: ['1.1.1.1', '1.1.1.2'],
    roles: ['web'],
    lock: true,
    command: 'deploy',
    subcommand: undefined,
    runtime: 41.6,
  });
  assert.deepEqual(
    env,
    both({
      KAMAL_RECORDED_AT: '2026-11-26T23:04:16Z',
      KAMAL_PERFORMER: 'dev@example.com',
      KAMAL_DESTINATION: 'staging',
      KAMAL_VERSION: '0123456789abcdef',
      KAMAL_SERVICE_VERSION: 'app@0123456',
      KAMAL_SERVICE: 'app',
      KAMAL_HOSTS: '1.1.1.1,1.1.1.2',
      KAMAL_ROLES: 'web',
      KAMAL_LOCK: 'true',
      KAMAL_COMMAND: 'deploy',
      KAMAL_RUNTIME: '42',
    }),
  );
  assert.equal(env.KAMAL_SUBCOMMAND, undefined);
});

test('app boot hook details: subcommand and unlocked', async () => {
  const env = (await hook()).env({ hosts: ['1.1.1.1'], lock: false, command: 'app', subcommand: 'boot' });
  assert.equal(env.KAMAL_COMMAND, 'app');
  assert.equal(env.WHARF_SUBCOMMAND, 'boot');
  assert.equal(env.KAMAL_LOCK, 'false');
  assert.equal(env.KAMAL_ROLES, undefined);
});
