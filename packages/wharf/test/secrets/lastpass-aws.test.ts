import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const entry = (fullname: string, password: string) => ({
  id: `id-${fullname}`,
  name: fullname.split('/').pop(),
  fullname,
  password,
  group: fullname.includes('/') ? 'Folder' : '',
});
const LPASS = (loggedIn: boolean) => ({
  lpass: {
    user: 'email@example.com',
    logged_in: loggedIn,
    items: [
      entry('SECRET1', 'secret1'),
      entry('FOLDER1/FSECRET1', 'fsecret1'),
      entry('FOLDER1/FSECRET2', 'fsecret2'),
    ],
  },
});

test('lastpass: one `lpass show … --json`; --from prefixes names; keys are fullnames', (t) => {
  const w = fakeWorld(LPASS(true));
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'lastpass',
      account: 'email@example.com',
      secrets: ['SECRET1', 'FOLDER1/FSECRET1', 'FOLDER1/FSECRET2'],
    }),
    {
      SECRET1: 'secret1',
      'FOLDER1/FSECRET1': 'fsecret1',
      'FOLDER1/FSECRET2': 'fsecret2',
    },
  );
  assert.deepEqual(w.argvs('lpass'), [
    ['lpass', '--version'],
    ['lpass', 'status', '--color', 'never'],
    ['lpass', 'show', 'SECRET1', 'FOLDER1/FSECRET1', 'FOLDER1/FSECRET2', '--json'],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'last_pass',
      account: 'email@example.com',
      from: 'FOLDER1',
      secrets: ['FSECRET1', 'FSECRET2'],
    }),
    { 'FOLDER1/FSECRET1': 'fsecret1', 'FOLDER1/FSECRET2': 'fsecret2' },
  );
  assert.deepEqual(w.argvs('lpass').at(-1), [
    'lpass',
    'show',
    'FOLDER1/FSECRET1',
    'FOLDER1/FSECRET2',
    '--json',
  ]);
  fetchFails(
    w,
    { adapter: 'lastpass', account: 'email@example.com', secrets: ['NOPE'] },
    /^Could not read NOPE from LastPass/,
  );
});

test('lastpass: logs in when status names someone else or nobody', (t) => {
  const w = fakeWorld(LPASS(false));
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, { adapter: 'lastpass', account: 'email@example.com', secrets: ['SECRET1'] }),
    { SECRET1: 'secret1' },
  );
  assert.deepEqual(w.argvs('lpass').slice(1), [
    ['lpass', 'status', '--color', 'never'],
    ['lpass', 'login', 'email@example.com'],
    ['lpass', 'show', 'SECRET1', '--json'],
  ]);
  const other = fakeWorld(LPASS(false));
  t.after(other.cleanup);
  fetchFails(
    other,
    { adapter: 'lastpass', account: 'someone@example.com', secrets: ['SECRET1'] },
    /^Failed to login to LastPass as someone@example.com/,
  );
});

const AWS = {
  aws: {
    profiles: ['default', 'prod'],
    secrets: {
      secret: { KEY1: 'VALUE1', KEY2: 'VALUE2' },
      secret2: '{"KEY3":"VALUE3"}',
      plain: 'a-string-secret',
      port: '5432',
      flag: 'true',
      name: '"quoted-string"',
      nothing: 'null',
      'myapp/RailsUser': {
        host: 'db.example',
        port: 5432,
        ssl: true,
        weight: 1.5,
        missing: null,
        replicas: { read: 'r.example', port: 5433 },
        tags: ['prod', 'db'],
      },
      'secret/KEY1': 'VALUE1',
    },
  },
};

test('aws_secrets_manager: one batch call, JSON objects expand to name/key, scalars to name', (t) => {
  const w = fakeWorld(AWS);
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'aws_secrets_manager',
      account: 'default',
      secrets: ['secret', 'secret2', 'plain'],
    }),
    {
      'secret/KEY1': 'VALUE1',
      'secret/KEY2': 'VALUE2',
      'secret2/KEY3': 'VALUE3',
      plain: 'a-string-secret',
    },
  );
  assert.deepEqual(w.argvs('aws'), [
    ['aws', '--version'],
    [
      'aws',
      'secretsmanager',
      'batch-get-secret-value',
      '--secret-id-list',
      'secret',
      'secret2',
      'plain',
      '--profile',
      'default',
      '--output',
      'json',
    ],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'AwsSecretsManager',
      secrets: ['port', 'flag', 'name', 'nothing', 'myapp/RailsUser'],
    }),
    {
      port: '5432',
      flag: 'true',
      name: 'quoted-string',
      nothing: 'null',
      'myapp/RailsUser/host': 'db.example',
      'myapp/RailsUser/port': '5432',
      'myapp/RailsUser/ssl': 'true',
      'myapp/RailsUser/weight': '1.5',
      'myapp/RailsUser/missing': 'null',
      'myapp/RailsUser/replicas': '{"read":"r.example","port":5433}',
      'myapp/RailsUser/tags': '["prod","db"]',
    },
  );
  assert.deepEqual(w.argvs('aws').at(-1), [
    'aws',
    'secretsmanager',
    'batch-get-secret-value',
    '--secret-id-list',
    'port',
    'flag',
    'name',
    'nothing',
    'myapp/RailsUser',
    '--output',
    'json',
  ]);
  assert.deepEqual(fetchWith(w, { adapter: 'aws_secrets_manager', from: 'secret', secrets: ['KEY1'] }), {
    'secret/KEY1': 'VALUE1',
  });
});

test('aws_secrets_manager: missing secrets and unknown profiles fail', (t) => {
  const w = fakeWorld(AWS);
  t.after(w.cleanup);
  fetchFails(
    w,
    { adapter: 'aws_secrets_manager', account: 'default', secrets: ['unknown1', 'unknown2'] },
    "AWS Secrets Manager: unknown1: Secrets Manager can't find the specified secret. unknown2: Secrets Manager can't find the specified secret.",
  );
  fetchFails(
    w,
    { adapter: 'aws_secrets_manager', account: 'staging', secrets: ['secret'] },
    /^Could not read secret from AWS Secrets Manager; check the secret names and your credentials for profile staging\.$/,
  );
});
