import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const DOPPLER = (loggedIn: boolean) => ({
  doppler: {
    logged_in: loggedIn,
    service_token: { token: 'dp.st.prd.xxxxxxxx', project: 'my-project', config: 'prd' },
    projects: { 'my-project': { prd: { SECRET1: 'secret1', FSECRET1: 'fsecret1', FSECRET2: 'fsecret2' } } },
  },
});

test('doppler: one `secrets get` with -p/-c from --from or the names; keys are bare names', (t) => {
  const w = fakeWorld(DOPPLER(true));
  t.after(w.cleanup);
  const expected = { SECRET1: 'secret1', FSECRET1: 'fsecret1', FSECRET2: 'fsecret2' };
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'doppler',
      from: 'my-project/prd',
      secrets: ['SECRET1', 'FSECRET1', 'FSECRET2'],
    }),
    expected,
  );
  assert.deepEqual(w.argvs('doppler'), [
    ['doppler', '--version'],
    ['doppler', 'me', '--json'],
    [
      'doppler',
      'secrets',
      'get',
      'SECRET1',
      'FSECRET1',
      'FSECRET2',
      '--json',
      '-p',
      'my-project',
      '-c',
      'prd',
    ],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'doppler',
      secrets: ['my-project/prd/SECRET1', 'my-project/prd/FSECRET1', 'my-project/prd/FSECRET2'],
    }),
    expected,
  );
  assert.deepEqual(w.argvs('doppler').at(-1), [
    'doppler',
    'secrets',
    'get',
    'SECRET1',
    'FSECRET1',
    'FSECRET2',
    '--json',
    '-p',
    'my-project',
    '-c',
    'prd',
  ]);
  fetchFails(
    w,
    { adapter: 'doppler', secrets: ['FSECRET1', 'FSECRET2'] },
    /^Missing project or config from '--from=project\/config' option/,
  );
});

test('doppler: a service token in DOPPLER_TOKEN drops -p/-c; logs in when `me` fails', (t) => {
  const w = fakeWorld(DOPPLER(false), { DOPPLER_TOKEN: 'dp.st.prd.xxxxxxxx' });
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'doppler', secrets: ['SECRET1'] }), { SECRET1: 'secret1' });
  assert.deepEqual(w.argvs('doppler').at(-1), ['doppler', 'secrets', 'get', 'SECRET1', '--json']);
  const fresh = fakeWorld(DOPPLER(false));
  t.after(fresh.cleanup);
  assert.deepEqual(fetchWith(fresh, { adapter: 'doppler', from: 'my-project/prd', secrets: ['SECRET1'] }), {
    SECRET1: 'secret1',
  });
  assert.deepEqual(fresh.argvs('doppler').slice(1), [
    ['doppler', 'me', '--json'],
    ['doppler', 'login', '-y'],
    ['doppler', 'secrets', 'get', 'SECRET1', '--json', '-p', 'my-project', '-c', 'prd'],
  ]);
});

const GCP = (accounts: string[]) => ({
  gcloud: {
    accounts,
    login_account: 'email@example.com',
    default_project: 'my-default',
    service_accounts: ['service-user@example.com', 'service-user2@example.com'],
    secrets: {
      'my-default/mypassword': { '1': 'secret123' },
      'other-project/item1': { '1': 'old', '2': 'secret1' },
      'other-project/item2': { '1': 'secret2' },
      'some-project/item1': { '123': 'secret1', '124': 'newer' },
    },
  },
});

test('gcp: project/name[/version] specs, default project, keys project/name', (t) => {
  const w = fakeWorld(GCP(['email@example.com']));
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'gcp', account: 'default', secrets: ['mypassword'] }), {
    'default/mypassword': 'secret123',
  });
  assert.deepEqual(w.argvs('gcloud'), [
    ['gcloud', '--version'],
    ['gcloud', 'auth', 'list', '--format=json'],
    ['gcloud', 'secrets', 'versions', 'access', 'latest', '--secret=mypassword', '--format=json'],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'gcp_secret_manager',
      account: 'default',
      from: 'other-project',
      secrets: ['item1', 'item2'],
    }),
    {
      'other-project/item1': 'secret1',
      'other-project/item2': 'secret2',
    },
  );
  assert.deepEqual(w.argvs('gcloud').slice(-2), [
    [
      'gcloud',
      'secrets',
      'versions',
      'access',
      'latest',
      '--secret=item1',
      '--project=other-project',
      '--format=json',
    ],
    [
      'gcloud',
      'secrets',
      'versions',
      'access',
      'latest',
      '--secret=item2',
      '--project=other-project',
      '--format=json',
    ],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'gcp',
      account: 'email@example.com|service-user@example.com,service-user2@example.com',
      secrets: ['some-project/item1/123'],
    }),
    { 'some-project/item1': 'secret1' },
  );
  assert.deepEqual(w.argvs('gcloud').at(-1), [
    'gcloud',
    'secrets',
    'versions',
    'access',
    '123',
    '--secret=item1',
    '--project=some-project',
    '--account=email@example.com',
    '--impersonate-service-account=service-user@example.com,service-user2@example.com',
    '--format=json',
  ]);
  fetchFails(
    w,
    { adapter: 'gcp', account: 'default', secrets: ['nope'] },
    /^Could not read default\/nope from Google Secret Manager/,
  );
  fetchFails(w, { adapter: 'gcp', secrets: ['nope'] }, /required options '--account'/);
});

test('gcp: runs `gcloud auth login` when no account is credentialed', (t) => {
  const w = fakeWorld(GCP([]));
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'gcp', account: 'default', secrets: ['mypassword'] }), {
    'default/mypassword': 'secret123',
  });
  assert.deepEqual(w.argvs('gcloud').slice(1, 4), [
    ['gcloud', 'auth', 'list', '--format=json'],
    ['gcloud', 'auth', 'login'],
    ['gcloud', 'auth', 'list', '--format=json'],
  ]);
  const broken = fakeWorld({ gcloud: { accounts: [] } });
  t.after(broken.cleanup);
  fetchFails(broken, { adapter: 'gcp', account: 'default', secrets: ['x'] }, /^could not login to gcloud/);
});
