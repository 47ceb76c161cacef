import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecrets, inlineSecretsArgs } from '../../src/secrets/secrets.js';
import { fakeWorld, quietRunner } from './support.js';

function isUserError(pattern: RegExp) {
  return (error: Error) => {
    assert.equal(error.name, 'UserError');
    assert.match(error.message, pattern);
    return true;
  };
}

test('reads -common, then the plain file or the destination file; later files win', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets.dest', 'SECRET=DEF\n');
  w.write('.kamal/secrets', 'SECRET=ABC\n');
  w.write('.kamal/secrets-common', 'SECRET=GHI\nSECRET2=JKL\n');
  const make = (destination?: string) =>
    createSecrets({ projectDir: w.dir, destination, env: w.env, runner: quietRunner });
  assert.equal(make().get('SECRET'), 'ABC');
  assert.equal(make('dest').get('SECRET'), 'DEF');
  assert.equal(make('nodest').get('SECRET'), 'GHI');
  for (const d of [undefined, 'dest', 'nodest']) assert.equal(make(d).get('SECRET2'), 'JKL');
  assert.deepEqual(make('dest').names(), ['SECRET', 'SECRET2']);
  assert.deepEqual(make('dest').toEnv(), { SECRET: 'DEF', SECRET2: 'JKL' });
  assert.deepEqual(make('dest').filenames, ['.kamal/secrets-common', '.kamal/secrets.dest']);
  assert.deepEqual(make('nodest').existingFiles(), ['.kamal/secrets-common']);
});

test('custom secrets_path, with destination and common file', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('custom/path/secrets', 'SECRET=BASE\n');
  w.write('custom/path/secrets.prod', 'SECRET=PROD\n');
  w.write('custom/path/secrets-common', 'COMMON=SHARED\nSECRET=COMMON\n');
  const secrets = createSecrets({ projectDir: w.dir, secretsPath: 'custom/path/secrets', env: w.env });
  assert.equal(secrets.get('SECRET'), 'BASE');
  assert.equal(secrets.get('COMMON'), 'SHARED');
  assert.equal(
    createSecrets({
      projectDir: w.dir,
      secretsPath: 'custom/path/secrets',
      destination: 'prod',
      env: w.env,
    }).get('SECRET'),
    'PROD',
  );
});

test('a missing secret names the files searched, or the files that would have been', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env }).get('SECRET'),
    isUserError(
      /^Secret 'SECRET' not found, no secret files \(\.kamal\/secrets-common, \.kamal\/secrets\) provided; /,
    ),
  );
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env, destination: 'dest' }).get('SECRET'),
    isUserError(/no secret files \(\.kamal\/secrets-common, \.kamal\/secrets\.dest\) provided/),
  );
  assert.throws(
    () => createSecrets({ projectDir: w.dir, secretsPath: 'custom/path/secrets', env: w.env }).get('SECRET'),
    isUserError(/no secret files \(custom\/path\/secrets-common, custom\/path\/secrets\) provided/),
  );
  w.write('.kamal/secrets-common', 'A=1\n');
  w.write('.kamal/secrets.staging', 'B=2\n');
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env, destination: 'staging' }).get('SECRET'),
    isUserError(
      /^Secret 'SECRET' not found in \.kamal\/secrets-common, \.kamal\/secrets\.staging; define SECRET/,
    ),
  );
});

test('has is true for defined, non-blank secrets (Kamal key?)', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets', 'SECRET1=ABC\nBLANK=\n');
  const secrets = createSecrets({ projectDir: w.dir, env: w.env });
  assert.equal(secrets.has('SECRET1'), true);
  assert.equal(secrets.has('SECRET2'), false);
  assert.equal(secrets.has('BLANK'), false);
});

test('files are read lazily, once, with $(...) run through /bin/sh in the project directory', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write(
    '.kamal/secrets',
    'COUNT=$(echo run >> runs.txt; pwd)\nFROM_ENV=$MY_TOKEN\nNESTED=$(echo "$(echo "$(echo deep)")")\n',
  );
  const secrets = createSecrets({ projectDir: w.dir, env: { ...w.env, MY_TOKEN: 'tok-123' } });
  assert.throws(
    () => readFileSync(join(w.dir, 'runs.txt')),
    /ENOENT/,
    'nothing runs before the first access',
  );
  assert.equal(secrets.get('COUNT'), w.dir);
  assert.equal(secrets.get('FROM_ENV'), 'tok-123');
  assert.equal(secrets.get('NESTED'), 'deep');
  secrets.names();
  secrets.toEnv();
  assert.equal(readFileSync(join(w.dir, 'runs.txt'), 'utf8'), 'run\n');
});

test('a failing $(...) command makes that secret unusable (not silently empty); others still load', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets-common', 'OVERRIDDEN=$(exit 1)\n');
  w.write(
    '.kamal/secrets',
    'TOKEN=super-secret-token\nDB=$(echo $TOKEN; exit 3)\nOK=$(false || true)\nOVERRIDDEN=fine\nAGAIN=$(exit 2)\nAGAIN=second\n',
  );
  const logged: string[] = [];
  const secrets = createSecrets({
    projectDir: w.dir,
    env: w.env,
    runner: quietRunner,
    log: (l) => logged.push(l),
  });
  assert.equal(secrets.get('TOKEN'), 'super-secret-token');
  assert.equal(secrets.get('OK'), '');
  assert.equal(secrets.get('OVERRIDDEN'), 'fine');
  assert.equal(secrets.get('AGAIN'), 'second');
  assert.deepEqual(secrets.failedNames(), ['DB']);
  assert.equal(secrets.has('DB'), false);
  assert.throws(
    () => secrets.get('DB'),
    (error: Error) => {
      assert.equal(error.name, 'UserError');
      assert.equal(
        error.message,
        "Secret 'DB' could not be read: the command `echo $TOKEN; exit 3` for DB in .kamal/secrets exited with status 3; fix the command (or end it with `|| true` if an empty value is fine).",
      );
      return true;
    },
  );
  // As in Kamal, the whole set still holds what the command printed (hooks get it), and the redactor knows it.
  assert.equal(secrets.toEnv().DB, 'super-secret-token');
  assert.ok(logged.some((l) => l.startsWith('Warning: the command `echo $TOKEN; exit 3`')));
  assert.ok(logged.every((l) => !l.includes('super-secret-token')));
});

test("Kamal's integration secrets: inline `kamal secrets fetch/extract` with the test adapter", (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write(
    '.kamal/secrets',
    [
      'SECRETS=$(kamal secrets fetch --adapter test --account test INTERPOLATED_SECRET1 INTERPOLATED_SECRET2 INTERPOLATED_中文 INTERPOLATED_LPARENRPAREN)',
      'INTERPOLATED_SECRET1=$(kamal secrets extract INTERPOLATED_SECRET1 ${SECRETS})',
      'INTERPOLATED_SECRET2=$(kamal secrets extract INTERPOLATED_SECRET2 ${SECRETS})',
      'INTERPOLATED_SECRET3=$(kamal secrets extract INTERPOLATED_中文 ${SECRETS})',
      'INTERPOLATED_SECRET4=$(wharf secrets extract INTERPOLATED_LPARENRPAREN $SECRETS)',
      '',
    ].join('\n'),
  );
  w.write('.kamal/secrets-common', `SECRET_TOKEN='1234 with "中文"'\nSECRET_TAG='TAGME'\n`);
  // No kamal or wharf on PATH: the commands must run in-process.
  const secrets = createSecrets({ projectDir: w.dir, env: { ...w.env, PATH: '/nonexistent' } });
  assert.equal(secrets.get('SECRET_TOKEN'), '1234 with "中文"');
  assert.equal(secrets.get('INTERPOLATED_SECRET1'), '1TERCES_DETALOPRETNI');
  assert.equal(secrets.get('INTERPOLATED_SECRET2'), '2TERCES_DETALOPRETNI');
  assert.equal(secrets.get('INTERPOLATED_SECRET3'), '文中_DETALOPRETNI');
  assert.equal(secrets.get('INTERPOLATED_SECRET4'), ')(_DETALOPRETNI');
  // The stored fetch result is the shell-escaped JSON, as in Kamal.
  assert.equal(
    secrets.get('SECRETS'),
    '\\{\\"INTERPOLATED_SECRET1\\":\\"1TERCES_DETALOPRETNI\\",\\"INTERPOLATED_SECRET2\\":\\"2TERCES_DETALOPRETNI\\",\\"INTERPOLATED_\\中\\文\\":\\"\\文\\中_DETALOPRETNI\\",\\"INTERPOLATED_LPARENRPAREN\\":\\"\\)\\(_DETALOPRETNI\\"\\}',
  );
  assert.deepEqual(secrets.names(), [
    'SECRET_TOKEN',
    'SECRET_TAG',
    'SECRETS',
    'INTERPOLATED_SECRET1',
    'INTERPOLATED_SECRET2',
    'INTERPOLATED_SECRET3',
    'INTERPOLATED_SECRET4',
  ]);
});

test('the seed stack: 1Password via -common plus .staging, signed in by the fake op', (t) => {
  const w = fakeWorld({
    op: {
      accounts: { 'warmly.1password.com': { signed_in: false, session_token: 'op-session-abcdef' } },
      vaults: {
        IT: {
          items: {
            'Heatwave-Kamal': {
              fields: [
                { label: 'RAILS_MASTER_KEY', value: 'master-key-0123456789' },
                { label: 'BUNDLE_GEMS__CONTRIBSYS__COM', value: 'sidekiq:pro-creds' },
                { label: 'KAMAL_REGISTRY_PASSWORD', value: 'ghp_registrytoken' },
              ],
            },
            'Heatwave-Postgres-Staging': {
              fields: [
                { label: 'password', value: 'pg-staging-pw' },
                { section: 'config', label: 'ENV_KEY', value: 'staging-env-key' },
              ],
            },
          },
        },
      },
    },
  });
  t.after(w.cleanup);
  w.write(
    '.kamal/secrets-common',
    [
      '# resolver-only: no literal secrets',
      'SECRETS=$(kamal secrets fetch --adapter 1password --account warmly.1password.com --from IT/Heatwave-Kamal RAILS_MASTER_KEY BUNDLE_GEMS__CONTRIBSYS__COM KAMAL_REGISTRY_PASSWORD)',
      'RAILS_MASTER_KEY=$(kamal secrets extract RAILS_MASTER_KEY $SECRETS)',
      'BUNDLE_GEMS__CONTRIBSYS__COM=$(kamal secrets extract BUNDLE_GEMS__CONTRIBSYS__COM $SECRETS)',
      'KAMAL_REGISTRY_PASSWORD=$(kamal secrets extract KAMAL_REGISTRY_PASSWORD $SECRETS)',
      '',
    ].join('\n'),
  );
  w.write(
    '.kamal/secrets.staging',
    [
      'SECRETS=$(kamal secrets fetch --adapter 1password --account warmly.1password.com --from IT/Heatwave-Postgres-Staging password config/ENV_KEY)',
      'POSTGRES_PASSWORD=$(kamal secrets extract Heatwave-Postgres-Staging $SECRETS)',
      'HEATWAVE_ENV_KEY=$(kamal secrets extract ENV_KEY $SECRETS)',
      'DIRECT=$(op read op://IT/Heatwave-Postgres-Staging/config/ENV_KEY --session op-session-abcdef)',
      '',
    ].join('\n'),
  );
  const logged: string[] = [];
  const secrets = createSecrets({
    projectDir: w.dir,
    destination: 'staging',
    env: w.env,
    runner: quietRunner,
    log: (l) => logged.push(l),
  });
  assert.equal(secrets.get('RAILS_MASTER_KEY'), 'master-key-0123456789');
  assert.equal(secrets.get('BUNDLE_GEMS__CONTRIBSYS__COM'), 'sidekiq:pro-creds');
  assert.equal(secrets.get('KAMAL_REGISTRY_PASSWORD'), 'ghp_registrytoken');
  assert.equal(secrets.get('POSTGRES_PASSWORD'), 'pg-staging-pw');
  assert.equal(secrets.get('HEATWAVE_ENV_KEY'), 'staging-env-key');
  assert.equal(secrets.get('DIRECT'), 'staging-env-key');
  const signin = ['op', 'signin', '--account', 'warmly.1password.com', '--force', '--raw'];
  assert.deepEqual(w.argvs('op'), [
    ['op', '--version'],
    ['op', 'account', 'get', '--account', 'warmly.1password.com'],
    signin,
    [
      'op',
      'item',
      'get',
      'Heatwave-Kamal',
      '--vault',
      'IT',
      '--format',
      'json',
      '--account',
      'warmly.1password.com',
      '--session',
      'op-session-abcdef',
      '--fields',
      'label=RAILS_MASTER_KEY,label=BUNDLE_GEMS__CONTRIBSYS__COM,label=KAMAL_REGISTRY_PASSWORD',
    ],
    ['op', '--version'],
    ['op', 'account', 'get', '--account', 'warmly.1password.com'],
    signin,
    [
      'op',
      'item',
      'get',
      'Heatwave-Postgres-Staging',
      '--vault',
      'IT',
      '--format',
      'json',
      '--account',
      'warmly.1password.com',
      '--session',
      'op-session-abcdef',
      '--fields',
      'label=password,label=config.ENV_KEY',
    ],
    ['op', 'read', 'op://IT/Heatwave-Postgres-Staging/config/ENV_KEY', '--session', 'op-session-abcdef'],
  ]);
  // The verbose log shows what ran, with the session token and every value redacted.
  const log = logged.join('\n');
  assert.match(log, /Running op item get Heatwave-Kamal --vault IT .* --session \[REDACTED\]/);
  for (const value of Object.values(secrets.toEnv()))
    assert.ok(!log.includes(value), 'no secret value in the verbose log');
  assert.ok(!log.includes('op-session-abcdef'));
  // The redactor knows every value and the session token.
  assert.equal(
    secrets.redact('push -p ghp_registrytoken key=master-key-0123456789 session op-session-abcdef'),
    'push -p [REDACTED] key=[REDACTED] session [REDACTED]',
  );
});

test('a $(kamal secrets …) that is not fetch or extract is refused', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets', 'X=$(kamal secrets print)\n');
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env }).get('X'),
    isUserError(/Only `kamal secrets fetch` and `kamal secrets extract`/),
  );
  w.write('.kamal/secrets', 'X=$(kamal secrets fetch --adapter test FOO)\n');
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env }).get('X'),
    isUserError(/required options '--account'/),
  );
  w.write('.kamal/secrets', 'X=$(kamal secrets fetch --adapter nope FOO)\n');
  assert.throws(
    () => createSecrets({ projectDir: w.dir, env: w.env }).get('X'),
    isUserError(/Unknown secrets adapter: nope; use one of /),
  );
});

test('inlineSecretsArgs recognises kamal, wharf, bin/kamal and bundle exec kamal', () => {
  assert.deepEqual(inlineSecretsArgs('kamal secrets fetch -a test X'), [
    'secrets',
    'fetch',
    '-a',
    'test',
    'X',
  ]);
  assert.deepEqual(inlineSecretsArgs(' wharf secrets extract X {}'), ['secrets', 'extract', 'X', '{}']);
  assert.deepEqual(inlineSecretsArgs('bin/kamal secrets extract X {}'), ['secrets', 'extract', 'X', '{}']);
  assert.deepEqual(inlineSecretsArgs('bundle exec kamal secrets extract X {}'), [
    'secrets',
    'extract',
    'X',
    '{}',
  ]);
  assert.deepEqual(inlineSecretsArgs('npx wharf secrets extract X {}'), ['secrets', 'extract', 'X', '{}']);
  assert.equal(inlineSecretsArgs('echo kamal secrets'), undefined);
  assert.equal(inlineSecretsArgs('kamal deploy'), undefined);
});
