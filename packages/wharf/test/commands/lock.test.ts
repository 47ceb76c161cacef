// The deploy lock, checked against Kamal's test/commands/lock_test.rb; the
// base64 details are decoded by a real `base64 -d` through /bin/sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockCommands, commandLine, encode64 } from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: ['1.1.1.1'],
  builder: { arch: 'amd64' },
};
const AT = new Date('2026-11-26T23:04:16.789Z');

async function lock(destination?: string): Promise<LockCommands> {
  return new LockCommands(await load(BASE, { version: '123', destination }));
}

test('status', async () => {
  assert.equal(
    commandLine((await lock('production')).status()),
    'stat .kamal/lock-app-production > /dev/null && cat .kamal/lock-app-production/details | base64 -d',
  );
  assert.equal(
    commandLine((await lock()).status()),
    'stat .kamal/lock-app > /dev/null && cat .kamal/lock-app/details | base64 -d',
  );
});

test('acquire', async () => {
  const cmd = commandLine(
    (await lock('production')).acquire({ message: 'Hello', version: '123', lockedBy: 'DHH', at: AT }),
  );
  assert.match(
    cmd,
    /^mkdir \.kamal\/lock-app-production && echo "[A-Za-z0-9+/=\n]+" > \.kamal\/lock-app-production\/details$/,
  );
  const encoded = /echo "([^"]*)"/.exec(cmd)![1]!;
  assert.equal(
    Buffer.from(encoded, 'base64').toString('utf8'),
    'Locked by: DHH at 2026-11-26T23:04:16Z\nVersion: 123\nMessage: Hello',
  );
});

test('acquire encodes non-ASCII lock details for the shell', async () => {
  const cmd = commandLine(
    (await lock('production')).acquire({
      message: 'Déploiement',
      version: '123',
      lockedBy: 'Сергей Федоров',
      at: AT,
    }),
  );
  assert.match(cmd, /^[\x00-\x7f]*$/);
  const encoded = /echo "([^"]*)"/.exec(cmd)![1]!;
  assert.ok(Buffer.from(encoded, 'base64').toString('utf8').includes('Locked by: Сергей Федоров'));
});

test('base64 as Ruby encode64: 60-character lines, each ending in a newline', () => {
  assert.equal(encode64(''), '');
  assert.equal(encode64('hi'), 'aGk=\n');
  const long = encode64('x'.repeat(100));
  assert.deepEqual(
    long.split('\n').map((l) => l.length),
    [60, 60, 16, 0],
  );
});

test('release', async () => {
  assert.equal(
    commandLine((await lock('production')).release()),
    'rm .kamal/lock-app-production/details && rm -r .kamal/lock-app-production',
  );
});

test('acquire, status, second acquire, release through a real shell', async () => {
  const l = await lock('production');
  const home = mkdtempSync(join(tmpdir(), 'wharf-lock-'));
  const sh = (cmd: string[]) =>
    execFileSync('/bin/sh', ['-c', commandLine(cmd)], {
      cwd: home,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  sh(l.ensureLocksDirectory());
  const details = {
    message: 'Automatic deploy lock',
    version: '123',
    lockedBy: 'Ünïcode user with a long name to wrap the base64 over lines',
    at: AT,
  };
  sh(l.acquire(details));
  assert.equal(
    sh(l.status()),
    `Locked by: ${details.lockedBy} at 2026-11-26T23:04:16Z\nVersion: 123\nMessage: Automatic deploy lock`,
  );
  assert.throws(
    () => sh(l.acquire(details)),
    (e: { stderr?: string }) => /cannot create directory|File exists/.test(String(e.stderr)),
  );
  sh(l.release());
  assert.equal(existsSync(join(home, '.kamal/lock-app-production')), false);
  assert.throws(() => sh(l.status()));
  assert.ok(readFileSync !== undefined);
});
