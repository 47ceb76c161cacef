import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redactor } from '../../src/secrets/redactor.js';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const login = (name: string, password: string | null, fields?: Array<[string, string]>) => ({
  object: 'item',
  id: `id-${name}`,
  type: 1,
  name,
  ...(fields ? { fields: fields.map(([n, value]) => ({ name: n, value, type: 1, linkedId: null })) } : {}),
  login: { uris: [], username: null, password, totp: null },
});
const ITEMS = [
  login('mypassword', 'secret123'),
  login('myitem', null, [
    ['field1', 'secret1'],
    ['field2', 'blam'],
    ['field3', 'fewgrwjgk'],
    ['field4', 'auto'],
  ]),
  { object: 'item', id: 'id-mynote', type: 2, name: 'mynote', notes: 'NOTES', secureNote: { type: 0 } },
  {
    object: 'item',
    id: 'id-notefields',
    type: 2,
    name: 'fieldnote',
    secureNote: { type: 0 },
    fields: [
      { name: 'field1', value: 'secret1' },
      { name: 'field2', value: 'blam' },
    ],
  },
];
const bwVault = (status: string) => ({
  bw: { status, email: 'email@example.com', session: '0987654321', items: ITEMS },
});
const ACCOUNT = 'email@example.com';

test('bitwarden: login password, custom fields, --from and several items', (t) => {
  const w = fakeWorld(bwVault('unlocked'));
  t.after(w.cleanup);
  assert.deepEqual(fetchWith(w, { adapter: 'bitwarden', account: ACCOUNT, secrets: ['mypassword'] }), {
    mypassword: 'secret123',
  });
  assert.deepEqual(w.argvs('bw'), [
    ['bw', '--version'],
    ['bw', 'status'],
    ['bw', 'sync'],
    ['bw', 'get', 'item', 'mypassword'],
  ]);
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'bitwarden',
      account: ACCOUNT,
      from: 'myitem',
      secrets: ['field1', 'field2', 'field3'],
    }),
    {
      'myitem/field1': 'secret1',
      'myitem/field2': 'blam',
      'myitem/field3': 'fewgrwjgk',
    },
  );
  assert.deepEqual(
    fetchWith(w, {
      adapter: 'bitwarden',
      account: ACCOUNT,
      secrets: ['mypassword', 'myitem/field1', 'myitem/field2'],
    }),
    {
      mypassword: 'secret123',
      'myitem/field1': 'secret1',
      'myitem/field2': 'blam',
    },
  );
  assert.deepEqual(fetchWith(w, { adapter: 'bitwarden', account: ACCOUNT, secrets: ['fieldnote'] }), {
    'fieldnote/field1': 'secret1',
    'fieldnote/field2': 'blam',
  });
  fetchFails(
    w,
    { adapter: 'bitwarden', account: ACCOUNT, secrets: ['mynote'] },
    /^Item mynote is not a login type item and no fields were specified/,
  );
  fetchFails(
    w,
    { adapter: 'bitwarden', account: ACCOUNT, secrets: ['myitem/nope'] },
    /^Could not find field nope in item myitem in Bitwarden/,
  );
  fetchFails(
    w,
    { adapter: 'bitwarden', account: ACCOUNT, secrets: ['missing'] },
    /^Could not read missing from Bitwarden/,
  );
});

test('bitwarden: unauthenticated → login, locked → unlock --raw; the session goes in BW_SESSION only', (t) => {
  const w = fakeWorld(bwVault('unauthenticated'));
  t.after(w.cleanup);
  const redactor = new Redactor();
  assert.deepEqual(
    fetchWith(w, { adapter: 'bitwarden', account: ACCOUNT, secrets: ['mypassword'] }, redactor),
    { mypassword: 'secret123' },
  );
  const calls = w.calls('bw').map((c) => [c.argv.join(' '), c.env.BW_SESSION ?? '']);
  assert.deepEqual(calls, [
    ['--version', ''],
    ['status', ''],
    ['login email@example.com', ''],
    ['status', ''],
    ['unlock --raw', ''],
    ['status', '0987654321'],
    ['sync', '0987654321'],
    ['get item mypassword', '0987654321'],
  ]);
  assert.ok(
    w.calls('bw').every((c) => !c.argv.includes('0987654321')),
    'the session never appears in argv',
  );
  assert.equal(redactor.redact('BW_SESSION=0987654321'), 'BW_SESSION=[REDACTED]');
});

test('bitwarden: wrong account fails to log in', (t) => {
  const w = fakeWorld(bwVault('unauthenticated'));
  t.after(w.cleanup);
  fetchFails(
    w,
    { adapter: 'bitwarden', account: 'other@example.com', secrets: ['mypassword'] },
    /^Failed to login to and unlock Bitwarden as other@example.com/,
  );
  fetchFails(w, { adapter: 'bitwarden', secrets: ['mypassword'] }, /required options '--account'/);
});
