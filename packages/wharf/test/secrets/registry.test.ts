import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync } from 'node:fs';
import { AdapterRegistry } from '../../src/secrets/adapters/registry.js';
import { commandAdapter } from '../../src/secrets/adapters/command.js';
import {
  extractSecret,
  fetchSecrets,
  formatSecretsJson,
  formatSecretsPrint,
  runInlineSecretsCommand,
} from '../../src/secrets/commands.js';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld, quietRunner } from './support.js';

test('adapter names: Kamal aliases, snake_case and CamelCase class names', () => {
  const registry = new AdapterRegistry();
  const pairs: Array<[string, string]> = [
    ['1password', '1password'],
    ['1Password', '1password'],
    ['one_password', '1password'],
    ['OnePassword', '1password'],
    ['lastpass', 'lastpass'],
    ['LastPass', 'lastpass'],
    ['last_pass', 'lastpass'],
    ['gcp', 'gcp'],
    ['gcp_secret_manager', 'gcp'],
    ['GcpSecretManager', 'gcp'],
    ['bitwarden-sm', 'bitwarden-sm'],
    ['bitwarden_secrets_manager', 'bitwarden-sm'],
    ['bitwarden', 'bitwarden'],
    ['aws_secrets_manager', 'aws_secrets_manager'],
    ['doppler', 'doppler'],
    ['passbolt', 'passbolt'],
    ['enpass', 'enpass'],
    ['test', 'test'],
  ];
  for (const [given, name] of pairs) assert.equal(registry.lookup(given, { PATH: '' }).name, name, given);
  assert.throws(() => registry.lookup('vault', { PATH: '' }), /Unknown secrets adapter: vault; use one of /);
});

test('the generic adapter: wharf-secrets-NAME on PATH, or registered with commandAdapter', (t) => {
  const w = fakeWorld({
    generic: { required_account: 'ops', secrets: { A: 'alpha-value', 'team/B': 'beta-value' } },
  });
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'fake', account: 'ops', secrets: ['A'] }), { A: 'alpha-value' });
  assert.deepEqual(w.argvs('wharf-secrets-fake').at(-1), ['wharf-secrets-fake', '--account', 'ops', 'A']);
  fetchFails(
    w,
    { adapter: 'fake', secrets: ['A'] },
    /^The fake secrets adapter \(.*wharf-secrets-fake\) exited with status 1; run it by hand/,
  );

  const script = w.write('bin/my-vault', '#!/bin/sh\necho "{\\"n\\": 42, \\"args\\": \\"$*\\"}"\n');
  chmodSync(script, 0o755);
  const registry = new AdapterRegistry();
  registry.register(commandAdapter({ name: 'my-vault', command: script, args: ['export', '--json'] }), [
    'mv',
  ]);
  const values = fetchSecrets(
    { adapter: 'mv', from: 'prod', secrets: ['X', 'Y'] },
    { env: w.env, runner: quietRunner, adapters: registry },
  );
  assert.deepEqual(Object.fromEntries(values), { n: '42', args: 'export --json --from prod X Y' });

  const bad = w.write('bin/bad-vault', '#!/bin/sh\necho "secret-in-output-but-not-json"\n');
  chmodSync(bad, 0o755);
  registry.register(commandAdapter({ name: 'bad', command: bad }));
  assert.throws(
    () =>
      fetchSecrets({ adapter: 'bad', secrets: [] }, { env: w.env, runner: quietRunner, adapters: registry }),
    (e: Error) =>
      e.name === 'UserError' &&
      !e.message.includes('secret-in-output') &&
      /did not print valid JSON/.test(e.message),
  );
});

test('fetch JSON keeps the fetched order, even for numeric-looking keys', () => {
  const values = new Map([
    ['b', '1'],
    ['10', 'ten'],
    ['a', 'x"y\\z\n中'],
  ]);
  assert.equal(formatSecretsJson(values), '{"b":"1","10":"ten","a":"x\\"y\\\\z\\n中"}');
  assert.equal(formatSecretsJson(new Map()), '{}');
});

test('extract and print helpers', () => {
  assert.equal(extractSecret('foo', '{"abc/foo":"oof","foo/x":"no"}'), 'oof');
  assert.equal(extractSecret('n', '{"n":5}'), '5');
  assert.throws(() => extractSecret('x', '[1]'), /not a JSON object/);
  assert.equal(
    formatSecretsPrint([
      ['A', '1'],
      ['B', 'two\n'],
    ]),
    'A=1\nB=two\n',
  );
});

test('inline fetch/extract parse Thor-style options', () => {
  const escaped = runInlineSecretsCommand([
    'secrets',
    'fetch',
    '--adapter=test',
    '--account',
    'x',
    '--from=dir',
    'abc',
    '--inline',
  ]);
  assert.equal(escaped, '\\{\\"dir/abc\\":\\"cba/rid\\"\\}');
  assert.equal(
    runInlineSecretsCommand(['secrets', 'extract', 'abc', '{"dir/abc":"cba/rid"}', '--inline']),
    'cba/rid',
  );
  assert.throws(
    () => runInlineSecretsCommand(['secrets', 'fetch', '-a', 'test', '--bogus', 'x']),
    /Unknown option --bogus/,
  );
  assert.throws(
    () => runInlineSecretsCommand(['secrets', 'extract', 'only-name']),
    /takes NAME and the fetched JSON/,
  );
});
