import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import {
  checkHostKey,
  entryMatchesHost,
  hashHostName,
  hostKeyAlgorithmsFor,
  keyFingerprint,
  knownHostName,
  knownHostsLine,
  parseKnownHosts,
  patternListMatches,
  wildcardMatch,
} from '../../src/ssh/known-hosts.js';
import { HostKeyError, HostKeyStore } from '../../src/ssh/host-keys.js';

/** A fresh public key blob of the given type, as a server would present it. */
function hostKey(type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): { blob: Buffer; line: string } {
  const pair = ssh2.utils.generateKeyPairSync(
    type,
    type === 'rsa' ? { bits: 2048 } : type === 'ecdsa' ? { bits: 256 } : {},
  );
  const [keyType, base64] = pair.public.trim().split(/\s+/);
  return { blob: Buffer.from(base64!, 'base64'), line: `${keyType} ${base64}` };
}

const A = hostKey();
const B = hostKey();
const R = hostKey('ecdsa');

describe('known_hosts parsing', () => {
  test('reads entries with line numbers, markers and comments; skips junk', () => {
    const text = [
      '# a comment',
      '',
      `web1.example.com,10.0.0.1 ${A.line} comment here`,
      `@revoked bad.example.com ${B.line}`,
      `@cert-authority *.example.com ${R.line}`,
      '@bogus host ssh-ed25519 AAAA',
      'onlyhost',
      'host ssh-ed25519 not*base64',
      `[db.example.com]:2222 ${B.line}`,
    ].join('\n');
    const entries = parseKnownHosts(text, '/k');
    assert.deepEqual(
      entries.map((e) => [e.line, e.marker ?? '', e.hosts]),
      [
        [3, '', 'web1.example.com,10.0.0.1'],
        [4, '@revoked', 'bad.example.com'],
        [5, '@cert-authority', '*.example.com'],
        [9, '', '[db.example.com]:2222'],
      ],
    );
    assert.equal(entries[0]!.keyType, 'ssh-ed25519');
    assert.equal(entries[0]!.file, '/k');
  });
});

describe('host matching', () => {
  test('wildcards follow OpenSSH: * any run, ? one character, case-insensitive', () => {
    assert.ok(wildcardMatch('*.example.com', 'web.example.com'));
    assert.ok(wildcardMatch('*.EXAMPLE.com', 'a.b.example.COM'));
    assert.ok(!wildcardMatch('*.example.com', 'example.com'));
    assert.ok(wildcardMatch('web?', 'web1'));
    assert.ok(!wildcardMatch('web?', 'web12'));
    assert.ok(wildcardMatch('10.0.*.1', '10.0.200.1'));
    assert.ok(wildcardMatch('*', ''));
    assert.ok(wildcardMatch('a*b*c', 'aXXbYYbc'));
  });

  test('a negated pattern wins over a positive one', () => {
    assert.ok(patternListMatches('*.example.com,!db.example.com', 'web.example.com'));
    assert.ok(!patternListMatches('*.example.com,!db.example.com', 'db.example.com'));
    assert.ok(!patternListMatches('!db.example.com', 'web.example.com'));
  });

  test('port 22 uses the bare name, other ports the [host]:port form', () => {
    assert.equal(knownHostName('Web.Example.com', 22), 'web.example.com');
    assert.equal(knownHostName('10.0.0.1', 2222), '[10.0.0.1]:2222');
    const [entry] = parseKnownHosts(`[10.0.0.1]:2222 ${A.line}`, 'k');
    assert.ok(entryMatchesHost(entry!, '10.0.0.1', 2222));
    assert.ok(!entryMatchesHost(entry!, '10.0.0.1', 22));
    const [plain] = parseKnownHosts(`10.0.0.1 ${A.line}`, 'k');
    assert.ok(entryMatchesHost(plain!, '10.0.0.1', 22));
    assert.ok(!entryMatchesHost(plain!, '10.0.0.1', 2222));
    const [wild] = parseKnownHosts(`[*.example.com]:2222 ${A.line}`, 'k');
    assert.ok(entryMatchesHost(wild!, 'db.example.com', 2222));
  });

  test('hashed entries match the name they were made from, with our hashing and ssh-keygen -H', () => {
    const salt = Buffer.alloc(20, 7);
    const hashed = hashHostName('web.example.com', salt);
    assert.match(hashed, /^\|1\|[A-Za-z0-9+/=]+\|[A-Za-z0-9+/=]+$/);
    const [entry] = parseKnownHosts(`${hashed} ${A.line}`, 'k');
    assert.ok(entryMatchesHost(entry!, 'web.example.com', 22));
    assert.ok(!entryMatchesHost(entry!, 'db.example.com', 22));

    // The real OpenSSH tool hashes a file; our matcher must find both forms in it.
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const file = join(dir, 'known_hosts');
    writeFileSync(file, `web.example.com ${A.line}\n[10.1.2.3]:2222 ${B.line}\n`);
    const result = spawnSync('ssh-keygen', ['-H', '-f', file], { encoding: 'utf8' });
    assert.equal(result.status, 0, result.stderr);
    const entries = parseKnownHosts(readFileSync(file, 'utf8'), file);
    assert.equal(entries.length, 2);
    assert.ok(entries.every((e) => e.hosts.startsWith('|1|')));
    assert.equal(checkHostKey(entries, 'web.example.com', 22, A.blob).status, 'known');
    assert.equal(checkHostKey(entries, '10.1.2.3', 2222, B.blob).status, 'known');
    assert.equal(checkHostKey(entries, '10.1.2.3', 22, B.blob).status, 'unknown');
    assert.equal(checkHostKey(entries, 'web.example.com', 22, B.blob).status, 'mismatch');
  });
});

describe('checkHostKey', () => {
  const entries = parseKnownHosts(
    [
      `web ${A.line}`,
      `@revoked * ${R.line}`,
      `@cert-authority * ${B.line}`,
      `multi ${A.line}`,
      `multi ${R.line}`,
    ].join('\n'),
    '/home/me/.ssh/known_hosts',
  );

  test('known, unknown, mismatch and revoked', () => {
    assert.deepEqual(checkHostKey(entries, 'web', 22, A.blob).status, 'known');
    assert.deepEqual(checkHostKey(entries, 'other', 22, A.blob).status, 'unknown');
    const mismatch = checkHostKey(entries, 'web', 22, B.blob);
    assert.equal(mismatch.status, 'mismatch');
    assert.equal(mismatch.status === 'mismatch' && mismatch.entry.line, 1);
    assert.equal(checkHostKey(entries, 'anything', 22, R.blob).status, 'revoked');
  });

  test('a cert-authority line does not make a host known', () => {
    assert.equal(checkHostKey(entries, 'ca-only', 22, B.blob).status, 'unknown');
  });

  test('recorded key types go first in the host key algorithm list', () => {
    const ed = hostKeyAlgorithmsFor(entries, 'web', 22);
    assert.equal(ed[0], 'ssh-ed25519');
    const rsaEntries = parseKnownHosts(`rsahost ${hostKey('rsa').line}`, 'k');
    const rsa = hostKeyAlgorithmsFor(rsaEntries, 'rsahost', 22);
    assert.deepEqual(rsa.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.equal(new Set(rsa).size, rsa.length);
    assert.equal(hostKeyAlgorithmsFor(rsaEntries, 'unknown', 22)[0], 'ssh-ed25519');
  });

  test('fingerprints match ssh-keygen -l', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    writeFileSync(join(dir, 'k.pub'), `${A.line}\n`);
    const result = spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'k.pub')], {
      encoding: 'utf8',
    });
    assert.equal(result.status, 0, result.stderr);
    assert.ok(
      result.stdout.includes(keyFingerprint(A.blob)),
      `${result.stdout} vs ${keyFingerprint(A.blob)}`,
    );
  });

  test('the recorded line is a valid known_hosts line', () => {
    assert.equal(knownHostsLine('Host.Example', 2222, A.blob), `[host.example]:2222 ${A.line}`);
  });
});

describe('HostKeyStore (trust on first use)', () => {
  test('records an unknown host, then accepts it and refuses a changed key naming file, line and fingerprint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const record = join(dir, 'sub', 'known_hosts');
    const store = new HostKeyStore({ files: [join(dir, 'missing')], recordFile: record });
    assert.equal(await store.verify('10.0.0.5', 22, A.blob), 'recorded');
    assert.equal(await store.verify('10.0.0.5', 22, A.blob), 'known');
    assert.equal(await store.verify('10.0.0.5', 2222, B.blob), 'recorded');
    assert.equal(readFileSync(record, 'utf8'), `10.0.0.5 ${A.line}\n[10.0.0.5]:2222 ${B.line}\n`);

    // A new store (a new wharf run) reads the record file.
    const again = new HostKeyStore({ files: [], recordFile: record });
    assert.equal(await again.verify('10.0.0.5', 22, A.blob), 'known');
    await assert.rejects(again.verify('10.0.0.5', 22, B.blob), (error: unknown) => {
      assert.ok(error instanceof HostKeyError);
      assert.match(error.message, /^Refusing to connect to 10\.0\.0\.5: /);
      assert.ok(error.message.includes(keyFingerprint(B.blob)));
      assert.ok(error.message.includes(`${record}:1`));
      assert.ok(error.message.includes(`ssh-keygen -R 10.0.0.5 -f ${record}`));
      assert.equal(error.message.split('. ').length, 1, 'one sentence');
      return true;
    });
  });

  test('parallel first connections record each host once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const record = join(dir, 'known_hosts');
    const store = new HostKeyStore({ files: [], recordFile: record });
    await Promise.all([
      store.verify('h1', 22, A.blob),
      store.verify('h1', 22, A.blob),
      store.verify('h2', 22, B.blob),
    ]);
    const lines = readFileSync(record, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
  });

  test('user known_hosts files count, hashed or not, and a mismatch there names that file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const user = join(dir, 'known_hosts');
    writeFileSync(user, `# mine\n${hashHostName('[bastion]:2200')} ${A.line}\n`);
    const store = new HostKeyStore({ files: [user], recordFile: join(dir, 'wharf_known_hosts') });
    assert.equal(await store.verify('bastion', 2200, A.blob), 'known');
    await assert.rejects(
      store.verify('bastion', 2200, B.blob),
      new RegExp(`${user.replace(/[/.]/g, '\\$&')}:2`),
    );
  });

  test('UserKnownHostsFile files from the ssh config are consulted for that host', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const extra = join(dir, 'known_db');
    writeFileSync(extra, `db ${A.line}\n`);
    const record = join(dir, 'wharf_known_hosts');
    const store = new HostKeyStore({ files: [], recordFile: record });
    assert.equal(await store.verify('db', 22, A.blob, [extra]), 'known');
    await assert.rejects(store.verify('db', 22, B.blob, [extra]), /known_db:1/);
    assert.equal((await store.algorithmsFor('db', 22, [extra]))[0], 'ssh-ed25519');
    assert.throws(() => readFileSync(record));
  });

  test('strict policy on a non-standard port suggests ssh-keyscan -p', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const store = new HostKeyStore({ files: [], recordFile: join(dir, 'k'), policy: 'strict' });
    await assert.rejects(
      store.verify('10.0.0.9', 2222, A.blob),
      /^HostKeyError: Refusing to connect to \[10\.0\.0\.9\]:2222: .*ssh-keyscan -p 2222 10\.0\.0\.9 >> /,
    );
  });

  test('StrictHostKeyChecking from the ssh config: no accepts anything, yes refuses unknown hosts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const record = join(dir, 'known_hosts');
    writeFileSync(record, `web ${A.line}\n`);
    const store = new HostKeyStore({ files: [], recordFile: record });
    assert.equal(await store.verify('web', 22, B.blob, [], 'no'), 'unchecked');
    assert.equal(await store.verify('new', 22, B.blob, [], 'no'), 'unchecked');
    await assert.rejects(store.verify('other', 22, B.blob, [], 'yes'), /not in any known_hosts file/);
    await assert.rejects(store.verify('web', 22, B.blob, [], 'accept-new'), /does not match/);
    assert.equal(readFileSync(record, 'utf8'), `web ${A.line}\n`);
  });

  test('strict policy refuses unknown hosts and records nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-kh-'));
    const record = join(dir, 'known_hosts');
    const store = new HostKeyStore({ files: [], recordFile: record, policy: 'strict' });
    await assert.rejects(store.verify('new-host', 22, A.blob), /not in any known_hosts file/);
    assert.throws(() => readFileSync(record));
  });
});
