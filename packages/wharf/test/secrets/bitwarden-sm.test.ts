import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const BWS = {
  bws: {
    access_token: '0.token',
    projects: [{ id: '82aeb5bd-6958-4a89-8197-eacab758acce', name: 'app' }],
    secrets: [
      {
        id: '11111111-0000-0000-0000-000000000001',
        key: 'KAMAL_REGISTRY_PASSWORD',
        value: 'some_password',
        projectId: '82aeb5bd-6958-4a89-8197-eacab758acce',
      },
      {
        id: '6f8cdf27-de2b-4c77-a35d-07df8050e332',
        key: 'MY_OTHER_SECRET',
        value: 'my=wierd"secret',
        projectId: null,
      },
      {
        id: '22222222-0000-0000-0000-000000000002',
        key: 'SSH_PRIVATE_KEY',
        value: 'some_key\nwith_linebreak',
        projectId: '82aeb5bd-6958-4a89-8197-eacab758acce',
      },
    ],
  },
};

test('bitwarden-sm: secret ids, all, PROJECT/all', (t) => {
  const w = fakeWorld(BWS, { BWS_ACCESS_TOKEN: '0.token' });
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'bitwarden-sm',
      secrets: ['6f8cdf27-de2b-4c77-a35d-07df8050e332', '22222222-0000-0000-0000-000000000002'],
    }),
    {
      MY_OTHER_SECRET: 'my=wierd"secret',
      SSH_PRIVATE_KEY: 'some_key\nwith_linebreak',
    },
  );
  assert.deepEqual(w.argvs('bws'), [
    ['bws', '--version'],
    ['bws', 'project', 'list'],
    ['bws', 'secret', 'get', '6f8cdf27-de2b-4c77-a35d-07df8050e332'],
    ['bws', 'secret', 'get', '22222222-0000-0000-0000-000000000002'],
  ]);
  assert.deepEqual(Object.keys(fetchWith(w, { adapter: 'bitwarden_secrets_manager', secrets: ['all'] })), [
    'KAMAL_REGISTRY_PASSWORD',
    'MY_OTHER_SECRET',
    'SSH_PRIVATE_KEY',
  ]);
  assert.deepEqual(w.argvs('bws').at(-1), ['bws', 'secret', 'list']);
  assert.deepEqual(
    Object.keys(
      fetchWith(w, {
        adapter: 'bitwarden-sm',
        from: '82aeb5bd-6958-4a89-8197-eacab758acce',
        secrets: ['all'],
      }),
    ),
    ['KAMAL_REGISTRY_PASSWORD', 'SSH_PRIVATE_KEY'],
  );
  assert.deepEqual(w.argvs('bws').at(-1), ['bws', 'secret', 'list', '82aeb5bd-6958-4a89-8197-eacab758acce']);
});

test('bitwarden-sm: errors', (t) => {
  const w = fakeWorld(BWS, { BWS_ACCESS_TOKEN: '0.token' });
  t.after(w.cleanup);
  fetchFails(
    w,
    { adapter: 'bitwarden-sm', secrets: [] },
    /^You must specify what to retrieve from Bitwarden Secrets Manager/,
  );
  fetchFails(
    w,
    { adapter: 'bitwarden-sm', secrets: ['82aeb5bd-6958-4a89-8197-000000000000'] },
    /^Could not read 82aeb5bd-6958-4a89-8197-000000000000 from Bitwarden Secrets Manager/,
  );
  fetchFails(
    w,
    { adapter: 'bitwarden-sm', secrets: ['nope/all'] },
    /^Could not read secrets from Bitwarden Secrets Manager/,
  );
  const noToken = fakeWorld(BWS);
  t.after(noToken.cleanup);
  fetchFails(
    noToken,
    { adapter: 'bitwarden-sm', secrets: ['all'] },
    /^Could not authenticate to Bitwarden Secrets Manager\. Did you set a valid access token\?/,
  );
});
