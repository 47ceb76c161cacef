import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { fakeWorld, type FakeWorld } from './support.js';

/** The real wharf binary (dist/src/bin.js). */
const CLI = fileURLToPath(new URL('../../src/bin.js', import.meta.url));

function wharf(w: FakeWorld, ...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], { cwd: w.dir, env: w.env, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const OP = {
  op: {
    accounts: { myaccount: { signed_in: false, session_token: 'sess-7777777' } },
    vaults: {
      myvault: {
        items: {
          myitem: {
            fields: [
              { section: 'section', label: 'SECRET1', value: 'VALUE-ONE' },
              { section: 'section', label: 'SECRET2', value: 'VALUE "two" \\ 中' },
            ],
          },
        },
      },
    },
  },
};

test("secrets fetch prints Kamal's JSON; --inline prints it shell-escaped", (t) => {
  const w = fakeWorld(OP);
  t.after(w.cleanup);
  const out = wharf(
    w,
    'secrets',
    'fetch',
    '--adapter',
    '1password',
    '--account',
    'myaccount',
    '--from',
    'op://myvault/myitem',
    'section/SECRET1',
    'section/SECRET2',
  );
  assert.equal(out.status, 0, out.stderr);
  assert.equal(
    out.stdout,
    '{"myvault/myitem/section/SECRET1":"VALUE-ONE","myvault/myitem/section/SECRET2":"VALUE \\"two\\" \\\\ 中"}\n',
  );
  const inline = wharf(w, 'secrets', 'fetch', '-a', 'test', '--account', 'x', '--inline', 'fooLPAREN');
  assert.equal(inline.stdout, '\\{\\"fooLPAREN\\":\\"\\(oof\\"\\}\n');
});

test('secrets fetch --verbose logs the calls with the session and values redacted', (t) => {
  const w = fakeWorld(OP);
  t.after(w.cleanup);
  const out = wharf(
    w,
    '--verbose',
    'secrets',
    'fetch',
    '--adapter',
    '1password',
    '--account',
    'myaccount',
    '--from',
    'myvault/myitem',
    'section/SECRET1',
  );
  assert.equal(out.status, 0, out.stderr);
  assert.match(out.stderr, /Running op signin --account myaccount --force --raw/);
  assert.match(
    out.stderr,
    /Running op item get myitem --vault myvault --format json --account myaccount --session \[REDACTED\] --fields label=section\.SECRET1/,
  );
  assert.ok(!out.stderr.includes('sess-7777777') && !out.stderr.includes('VALUE-ONE'), out.stderr);
});

test('secrets fetch errors are one sentence without values, and exit non-zero', (t) => {
  const w = fakeWorld(OP);
  t.after(w.cleanup);
  const missing = wharf(w, 'secrets', 'fetch', '--adapter', '1password', 'x');
  assert.equal(missing.status, 1);
  assert.equal(
    missing.stderr,
    "wharf: No value provided for required options '--account': the 1password adapter needs --account ACCOUNT.\n",
  );
  const unknown = wharf(w, 'secrets', 'fetch', '--adapter', 'keychain', 'x');
  assert.equal(unknown.status, 1);
  assert.match(
    unknown.stderr,
    /^wharf: Unknown secrets adapter: keychain; use one of 1password, .*wharf-secrets-keychain/,
  );
  const noAdapter = wharf(w, 'secrets', 'fetch', 'x');
  assert.notEqual(noAdapter.status, 0);
  assert.match(noAdapter.stderr, /required option '-a, --adapter <adapter>' not specified/);
});

test('secrets extract: exact key, else the first key ending in /NAME', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  assert.equal(
    wharf(w, 'secrets', 'extract', 'foo', '{"foo":"oof", "bar":"rab", "baz":"zab"}').stdout,
    'oof\n',
  );
  assert.equal(
    wharf(w, 'secrets', 'extract', 'foo', '{"abc/foo":"oof", "bar":"rab", "baz":"zab"}').stdout,
    'oof\n',
  );
  const missing = wharf(w, 'secrets', 'extract', 'nope', '{"abc/foo":"oof-secret"}');
  assert.equal(missing.status, 1);
  assert.equal(
    missing.stderr,
    'wharf: Could not find secret nope among the fetched secrets (abc/foo); check the name.\n',
  );
  const garbage = wharf(w, 'secrets', 'extract', 'x', 'not-json-but-a-secret');
  assert.equal(garbage.status, 1);
  assert.ok(!garbage.stderr.includes('not-json-but-a-secret'), garbage.stderr);
});

test('secrets print: KEY=value lines of the destination files', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets', 'SECRET1=ABC\nSECRET2=${SECRET1}DEF\n');
  w.write('.kamal/secrets-common', 'COMMON=1\n');
  w.write('.kamal/secrets.staging', 'STAGING=yes\n');
  w.write('custom/secrets', 'CUSTOM=1\n');
  assert.equal(wharf(w, 'secrets', 'print').stdout, 'COMMON=1\nSECRET1=ABC\nSECRET2=ABCDEF\n');
  assert.equal(wharf(w, '-d', 'staging', 'secrets', 'print').stdout, 'COMMON=1\nSTAGING=yes\n');
  assert.equal(wharf(w, 'secrets', 'print', '--secrets-path', 'custom/secrets').stdout, 'CUSTOM=1\n');
});

test('secrets print with the generic adapter inside the secrets file; --verbose shows no values', (t) => {
  const w = fakeWorld({
    generic: {
      secrets: { 'team/API_KEY': 'api-key-42424242', 'team/DB_URL': 'postgres://u:pw-31337@db/app' },
    },
  });
  t.after(w.cleanup);
  w.write(
    '.kamal/secrets',
    'SECRETS=$(wharf secrets fetch --adapter fake --from team API_KEY DB_URL)\nAPI_KEY=$(kamal secrets extract API_KEY $SECRETS)\nDB_URL=$(kamal secrets extract DB_URL $SECRETS)\n',
  );
  const out = wharf(w, '--verbose', 'secrets', 'print');
  assert.equal(out.status, 0, out.stderr);
  assert.match(
    out.stdout,
    /^SECRETS=.*\nAPI_KEY=api-key-42424242\nDB_URL=postgres:\/\/u:pw-31337@db\/app\n$/,
  );
  assert.deepEqual(w.argvs('wharf-secrets-fake'), [
    ['wharf-secrets-fake', '--from', 'team', 'API_KEY', 'DB_URL'],
  ]);
  assert.match(out.stderr, /in-process for SECRETS in \.kamal\/secrets/);
  assert.match(out.stderr, /Running .*wharf-secrets-fake --from team API_KEY DB_URL/);
  for (const value of ['api-key-42424242', 'pw-31337']) assert.ok(!out.stderr.includes(value), out.stderr);
});

test('secrets print: a failing secrets command is printed as Kamal does, with a warning naming it', (t) => {
  const w = fakeWorld({});
  t.after(w.cleanup);
  w.write('.kamal/secrets', 'TOKEN=$(op read op://Private/Thing/password)\nOTHER=x\n');
  const out = wharf(w, 'secrets', 'print');
  assert.equal(out.status, 0);
  assert.equal(out.stdout, 'TOKEN=\nOTHER=x\n');
  assert.match(out.stderr, /wharf: warning: the command that sets TOKEN failed/);
});
