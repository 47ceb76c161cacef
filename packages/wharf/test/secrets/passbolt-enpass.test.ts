import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const MY = 'dcbe0e39-42d8-42db-9637-8256b9f2f8e3';
const OTHER = '14e11dd8-b279-4689-8bd9-fa33ebb527da';
const SUB = '6a3f21fc-aa40-4ba9-852c-7477fdd0310d';
const resource = (name: string, folder: string, password: string) => ({
  id: `${name}-${folder || 'root'}`,
  folder_parent_id: folder,
  name,
  password,
});
const PASSBOLT = {
  passbolt: {
    configured: true,
    folders: [
      { id: MY, folder_parent_id: '', name: 'my-project' },
      { id: OTHER, folder_parent_id: '', name: 'other-project' },
      { id: SUB, folder_parent_id: MY, name: 'subfolder' },
    ],
    resources: [
      resource('SECRET1', '', 'secret1'),
      resource('FSECRET1', '', 'fsecret1'),
      resource('SECRET1', MY, 'my-secret1'),
      resource('FSECRET1', MY, 'my-fsecret1'),
      resource('FSECRET2', OTHER, 'other-fsecret2'),
      resource('SECRET1', SUB, 'sub-secret1'),
      resource('My Secret', '', 'spaced'),
    ],
  },
};

test('passbolt: root names, folders and nested folders, argv as Kamal builds it', (t) => {
  const w = fakeWorld(PASSBOLT);
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'passbolt', secrets: ['SECRET1', 'FSECRET1'] }), {
    SECRET1: 'secret1',
    FSECRET1: 'fsecret1',
  });
  assert.deepEqual(w.argvs('passbolt'), [
    ['passbolt', '--version'],
    ['passbolt', 'verify'],
    [
      'passbolt',
      'list',
      'resources',
      '--filter',
      'Name == "SECRET1" || Name == "FSECRET1"',
      '--column',
      'name',
      '--column',
      'password',
      '--json',
    ],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'passbolt',
      secrets: ['my-project/SECRET1', 'my-project/FSECRET1', 'other-project/FSECRET2'],
    }),
    {
      SECRET1: 'my-secret1',
      FSECRET1: 'my-fsecret1',
      FSECRET2: 'other-fsecret2',
    },
  );
  assert.deepEqual(w.argvs('passbolt').slice(-2), [
    ['passbolt', 'list', 'folders', '--filter', 'Name == "my-project" || Name == "other-project"', '--json'],
    [
      'passbolt',
      'list',
      'resources',
      '--filter',
      `(Name == "SECRET1" && FolderParentID == "${MY}") || (Name == "FSECRET1" && FolderParentID == "${MY}") || (Name == "FSECRET2" && FolderParentID == "${OTHER}")`,
      '--folder',
      MY,
      '--folder',
      OTHER,
      '--column',
      'name',
      '--column',
      'password',
      '--json',
    ],
  ]);
  assert.deepEqual(
    fetchWith(w, { adapter: 'passbolt', from: 'my-project/subfolder', secrets: ['SECRET1'] }),
    { SECRET1: 'sub-secret1' },
  );
  assert.deepEqual(w.argvs('passbolt').slice(-3), [
    ['passbolt', 'list', 'folders', '--filter', 'Name == "my-project"', '--json'],
    ['passbolt', 'list', 'folders', '--filter', `Name == "subfolder" && FolderParentID == "${MY}"`, '--json'],
    [
      'passbolt',
      'list',
      'resources',
      '--filter',
      `(Name == "SECRET1" && FolderParentID == "${SUB}")`,
      '--folder',
      MY,
      '--folder',
      SUB,
      '--column',
      'name',
      '--column',
      'password',
      '--json',
    ],
  ]);
  assert.deepEqual(fetchWith(w, { adapter: 'passbolt', secrets: ['My Secret'] }), { 'My Secret': 'spaced' });
});

test('passbolt: missing folders, missing secrets, not configured', (t) => {
  const w = fakeWorld(PASSBOLT);
  t.after(w.cleanup);
  fetchFails(
    w,
    { adapter: 'passbolt', secrets: ['nofolder/SECRET1'] },
    /^Could not find the following folders in Passbolt: nofolder/,
  );
  fetchFails(
    w,
    { adapter: 'passbolt', secrets: ['SECRET1', 'MISSING'] },
    /^Could not find the following secrets in Passbolt: MISSING/,
  );
  fetchFails(w, { adapter: 'passbolt', secrets: [] }, /^No secrets given to fetch from Passbolt/);
  const unconfigured = fakeWorld({ passbolt: { configured: false } });
  t.after(unconfigured.cleanup);
  fetchFails(unconfigured, { adapter: 'passbolt', secrets: ['X'] }, /^Failed to login to Passbolt/);
});

const ENPASS = {
  enpass: {
    vaults: {
      'vault-path': {
        password: 'master',
        items: [
          { title: 'FooBar', label: 'SECRET_1', password: 'my-password-1' },
          { title: 'FooBar', label: 'SECRET_2', password: 'my-password-2' },
          { title: 'Hello', label: 'SECRET_3', password: 'my-password-1' },
          { title: 'FooBar', label: '', password: 'my-password-3' },
          { title: 'FooBar', label: 'EMPTY', password: '' },
        ],
      },
    },
  },
};

test('enpass: titles in one `show`, Title/Label keys, whole items', (t) => {
  const w = fakeWorld(ENPASS, { MASTERPW: 'master' });
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'enpass', from: 'vault-path', secrets: ['FooBar/SECRET_1'] }), {
    'FooBar/SECRET_1': 'my-password-1',
  });
  assert.deepEqual(w.argvs('enpass-cli'), [
    ['enpass-cli', 'version'],
    ['enpass-cli', '-json', '-vault', 'vault-path', 'show', 'FooBar'],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'enpass',
      from: 'vault-path',
      secrets: ['FooBar/SECRET_1', 'FooBar/SECRET_2', 'Hello/SECRET_3'],
    }),
    {
      'FooBar/SECRET_1': 'my-password-1',
      'FooBar/SECRET_2': 'my-password-2',
      'Hello/SECRET_3': 'my-password-1',
    },
  );
  assert.deepEqual(w.argvs('enpass-cli').at(-1), [
    'enpass-cli',
    '-json',
    '-vault',
    'vault-path',
    'show',
    'FooBar',
    'Hello',
  ]);
  assert.deepEqual(fetchWith(w, { adapter: 'enpass', from: 'vault-path', secrets: ['FooBar'] }), {
    'FooBar/SECRET_1': 'my-password-1',
    'FooBar/SECRET_2': 'my-password-2',
    FooBar: 'my-password-3',
  });
  fetchFails(w, { adapter: 'enpass', secrets: ['FooBar'] }, /pass --from PATH_TO_VAULT/);
  const wrong = fakeWorld(ENPASS, { MASTERPW: 'nope' });
  t.after(wrong.cleanup);
  fetchFails(
    wrong,
    { adapter: 'enpass', from: 'vault-path', secrets: ['FooBar'] },
    /^Could not read FooBar from the Enpass vault vault-path/,
  );
});
