// The real binary, as Kamal drives it: `wharf-proxy run` in one process,
// `wharf-proxy deploy --tls --host …` in another, the CA trusted through
// NODE_EXTRA_CA_CERTS, the cache under the default --tls-acme-cache-path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import { promisify } from 'node:util';
import { FakeAcme } from '../support/fake-acme.js';
import { freePort, startBackend } from '../support/backend.js';
import { scopedCacheDir } from '../../src/acme/cache.js';

const bin = fileURLToPath(new URL('../../src/bin.js', import.meta.url));
const run = promisify(execFile);

test('wharf-proxy run + deploy --tls --tls-acme-directory issues a certificate, trusting NODE_EXTRA_CA_CERTS, with EAB from the environment', async () => {
  const fake = await FakeAcme.start();
  // The CA requires external account binding; run reads it from EAB_KID / EAB_HMAC_KEY.
  const hmacKey = randomBytes(32);
  fake.externalAccount = { kid: 'eab-kid-1', hmacKey };
  const backend = await startBackend('cli');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acme-cli-'));
  writeFileSync(join(dir, 'ca.pem'), fake.caPem);
  const env = {
    ...process.env,
    WHARF_PROXY_CONFIG_DIR: dir,
    KAMAL_PROXY_SOCKET: join(dir, 'proxy.sock'),
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
    EAB_KID: 'eab-kid-1',
    EAB_HMAC_KEY: hmacKey.toString('base64url'),
  };
  const httpPort = await freePort();
  const httpsPort = await freePort();
  fake.validationPort = httpPort;
  const server = spawn(
    process.execPath,
    [bin, 'run', `--http-port=${httpPort}`, `--https-port=${httpsPort}`],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  server.stdout.on('data', (c: Buffer) => (out += c.toString()));
  server.stderr.on('data', (c: Buffer) => (out += c.toString()));
  try {
    const deadline = Date.now() + 10_000;
    while (!out.includes('Server started')) {
      if (Date.now() > deadline || server.exitCode !== null) throw new Error(`proxy did not start: ${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    await run(
      process.execPath,
      [
        bin,
        'deploy',
        'app',
        `--target=${backend.name}`,
        '--host=app.example.com',
        '--tls',
        `--tls-acme-directory=${fake.directoryUrl}`,
      ],
      { env },
    );
    const peer = await new Promise<{ authorized: boolean; issuer: string; error: string }>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: httpsPort,
        servername: 'app.example.com',
        ca: fake.caPem,
      });
      s.once('secureConnect', () => {
        resolve({
          authorized: s.authorized,
          issuer: String(s.getPeerCertificate().issuer?.CN ?? ''),
          error: '',
        });
        s.destroy();
      });
      s.once('error', (e) => resolve({ authorized: false, issuer: '', error: `${e.message}\n${out}` }));
    });
    assert.equal(peer.authorized, true, peer.error);
    assert.equal(peer.issuer, 'Fake ACME Test CA');
    const scoped = scopedCacheDir(join(dir, 'certs'), fake.directoryUrl);
    assert.ok(
      existsSync(join(scoped, 'app.example.com')),
      'cached under <config dir>/certs/<sha256(directory)>',
    );
    assert.deepEqual(readdirSync(scoped).sort(), ['acme_account+key', 'app.example.com']);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await fake.close();
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('wharf-proxy run refuses half an EAB pair with one sentence and a non-zero exit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acme-cli-'));
  try {
    const r = spawnSync(process.execPath, [bin, 'run', '--http-port=0', '--https-port=0'], {
      env: {
        ...process.env,
        WHARF_PROXY_CONFIG_DIR: dir,
        KAMAL_PROXY_SOCKET: join(dir, 'p.sock'),
        EAB_KID: 'k',
      },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /EAB_KID and EAB_HMAC_KEY must be set together/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
