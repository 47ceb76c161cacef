import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { Redactor } from '../../src/secrets/redactor.js';
import { fetchFails, fetchWith } from './adapter-helpers.js';
import { fakeWorld } from './support.js';

const item = (fields: object[]) => ({ fields });
const VAULT = {
  op: {
    accounts: { myaccount: { signed_in: true } },
    vaults: {
      myvault: {
        items: {
          myitem: item([
            { label: 'password', value: 'item-password', purpose: 'PASSWORD' },
            { section: 'section', label: 'SECRET1', value: 'VALUE1' },
            { section: 'section', label: 'SECRET2', value: 'VALUE2' },
            { section: 'section2', label: 'SECRET3', value: 'VALUE3' },
          ]),
          myitem2: item([{ section: 'section2', label: 'SECRET3', value: 'VALUE4' }]),
        },
      },
    },
  },
};
const GET = (item: string, fields?: string, session?: string) => [
  'op',
  'item',
  'get',
  item,
  '--vault',
  'myvault',
  '--format',
  'json',
  '--account',
  'myaccount',
  ...(session ? ['--session', session] : []),
  ...(fields ? ['--fields', fields] : []),
];

test('1password: fields of one item in one call, keyed by reference', (t) => {
  const w = fakeWorld(VAULT);
  t.after(w.cleanup);
  const result = fetchWith(w, {
    adapter: '1password',
    account: 'myaccount',
    from: 'op://myvault/myitem',
    secrets: ['section/SECRET1', 'section/SECRET2', 'section2/SECRET3'],
  });
  assert.deepEqual(result, {
    'myvault/myitem/section/SECRET1': 'VALUE1',
    'myvault/myitem/section/SECRET2': 'VALUE2',
    'myvault/myitem/section2/SECRET3': 'VALUE3',
  });
  assert.deepEqual(w.argvs('op'), [
    ['op', '--version'],
    ['op', 'account', 'get', '--account', 'myaccount'],
    GET('myitem', 'label=section.SECRET1,label=section.SECRET2,label=section2.SECRET3'),
  ]);
});

test('1password: several items (one call each); a single field comes back as an object', (t) => {
  const w = fakeWorld(VAULT);
  t.after(w.cleanup);
  const result = fetchWith(w, {
    adapter: 'OnePassword',
    account: 'myaccount',
    from: 'op://myvault',
    secrets: ['myitem/section/SECRET1', 'myitem/section/SECRET2', 'myitem2/section2/SECRET3'],
  });
  assert.deepEqual(result, {
    'myvault/myitem/section/SECRET1': 'VALUE1',
    'myvault/myitem/section/SECRET2': 'VALUE2',
    'myvault/myitem2/section2/SECRET3': 'VALUE4',
  });
  assert.deepEqual(w.argvs('op').slice(2), [
    GET('myitem', 'label=section.SECRET1,label=section.SECRET2'),
    GET('myitem2', 'label=section2.SECRET3'),
  ]);
});

test('1password: the field defaults to password and its key drops /password', (t) => {
  const w = fakeWorld(VAULT);
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, { adapter: 'one_password', account: 'myaccount', secrets: ['myvault/myitem'] }),
    { 'myvault/myitem': 'item-password' },
  );
  assert.deepEqual(w.argvs('op')[2], GET('myitem', 'label=password'));
});

test('1password: no names fetches every field of --from vault/item', (t) => {
  const w = fakeWorld(VAULT);
  t.after(w.cleanup);
  assert.deepEqual(
    fetchWith(w, { adapter: '1password', account: 'myaccount', from: 'op://myvault/myitem', secrets: [] }),
    {
      'myvault/myitem': 'item-password',
      'myvault/myitem/section/SECRET1': 'VALUE1',
      'myvault/myitem/section/SECRET2': 'VALUE2',
      'myvault/myitem/section2/SECRET3': 'VALUE3',
    },
  );
  assert.deepEqual(w.argvs('op')[2], GET('myitem'));
  fetchFails(w, { adapter: '1password', account: 'myaccount', secrets: [] }, /pass --from VAULT\/ITEM/);
});

test('1password: signs in when needed and passes the session to reads (and redacts it)', (t) => {
  const w = fakeWorld({
    op: { ...VAULT.op, accounts: { myaccount: { signed_in: false, session_token: '1234567890' } } },
  });
  t.after(w.cleanup);
  const redactor = new Redactor();
  const result = fetchWith(
    w,
    { adapter: '1password', account: 'myaccount', from: 'op://myvault/myitem', secrets: ['section/SECRET1'] },
    redactor,
  );
  assert.deepEqual(result, { 'myvault/myitem/section/SECRET1': 'VALUE1' });
  assert.deepEqual(w.argvs('op').slice(1), [
    ['op', 'account', 'get', '--account', 'myaccount'],
    ['op', 'signin', '--account', 'myaccount', '--force', '--raw'],
    GET('myitem', 'label=section.SECRET1', '1234567890'),
  ]);
  assert.equal(redactor.redact('--session 1234567890 VALUE1'), '--session [REDACTED] [REDACTED]');
});

test('1password: sign-in with app integration (no session printed) needs no --session', (t) => {
  const w = fakeWorld({ op: { ...VAULT.op, accounts: { myaccount: { signed_in: false } } } });
  t.after(w.cleanup);
  fetchWith(w, {
    adapter: '1password',
    account: 'myaccount',
    from: 'myvault/myitem',
    secrets: ['section/SECRET1'],
  });
  assert.deepEqual(w.argvs('op').at(-1), GET('myitem', 'label=section.SECRET1'));
  assert.equal(w.vault().op.accounts.myaccount.signed_in, true);
});

test('1password: errors say what failed and what to do', (t) => {
  const w = fakeWorld({
    op: { ...VAULT.op, accounts: { myaccount: { signed_in: false, signin_fails: true } } },
  });
  t.after(w.cleanup);
  fetchFails(
    w,
    { adapter: '1password', account: 'myaccount', secrets: ['myvault/myitem'] },
    'Failed to login to 1Password account myaccount; run `op signin --account myaccount` and try again.',
  );
  fetchFails(
    w,
    { adapter: '1password', secrets: ['x'] },
    /^No value provided for required options '--account'/,
  );
  const signedIn = fakeWorld(VAULT);
  t.after(signedIn.cleanup);
  fetchFails(
    signedIn,
    { adapter: '1password', account: 'myaccount', from: 'myvault/myitem', secrets: ['nope'] },
    'Could not read nope from myitem in the myvault 1Password vault; check the names with `op item get myitem --vault myvault`.',
  );
  fetchFails(
    signedIn,
    { adapter: '1password', account: 'myaccount', secrets: ['justavault'] },
    /names no item/,
  );
  const noCli = fakeWorld(VAULT, { PATH: '/nonexistent' });
  t.after(noCli.cleanup);
  fetchFails(
    noCli,
    { adapter: '1password', account: 'myaccount', secrets: ['myvault/myitem'] },
    /^1Password CLI is not installed \(`op --version` was not found on PATH\)/,
  );
});

test('1password: a session from `eval $(op signin)` (OP_SESSION_<account>) or a service account needs no sign-in', (t) => {
  const accounts = { myaccount: { signed_in: false, session_token: 'env-session-123' } };
  const w = fakeWorld({ op: { ...VAULT.op, accounts } }, { OP_SESSION_myaccount: 'env-session-123' });
  t.after(w.cleanup);
  fetchWith(w, { adapter: '1password', account: 'myaccount', secrets: ['myvault/myitem'] });
  assert.deepEqual(w.argvs('op').slice(1), [
    ['op', 'account', 'get', '--account', 'myaccount'],
    GET('myitem', 'label=password'),
  ]);
  const sa = fakeWorld(
    { op: { ...VAULT.op, accounts, service_account_token: 'ops_token' } },
    { OP_SERVICE_ACCOUNT_TOKEN: 'ops_token' },
  );
  t.after(sa.cleanup);
  assert.deepEqual(
    fetchWith(sa, { adapter: '1password', account: 'myaccount', secrets: ['myvault/myitem'] }),
    { 'myvault/myitem': 'item-password' },
  );
  assert.equal(sa.argvs('op').length, 3);
});

test('fake op: `op read` as a secrets file would call it', (t) => {
  const w = fakeWorld({
    op: { ...VAULT.op, accounts: { myaccount: { signed_in: false, session_token: 'tok-4444' } } },
  });
  t.after(w.cleanup);
  const op = (...args: string[]) => spawnSync('op', args, { env: w.env, encoding: 'utf8' });
  const denied = op('read', 'op://myvault/myitem/section/SECRET1');
  assert.equal(denied.status, 1);
  assert.match(denied.stderr, /^\[ERROR\] \d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d You are not currently signed in/);
  assert.equal(op('read', 'op://myvault/myitem/section/SECRET1', '--session', 'tok-4444').stdout, 'VALUE1\n');
  assert.equal(
    op('read', '-n', 'op://myvault/myitem/password', '--session=tok-4444').stdout,
    'item-password',
  );
  assert.equal(op('read', 'op://myvault/myitem/nope', '--session', 'tok-4444').status, 1);
  assert.equal(op('item', 'get', 'myitem', '--bogus').status, 1);
});
