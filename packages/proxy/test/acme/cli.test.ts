// The real binary, as Kamal drives it: `wharf-proxy run` in one process,
// `wharf-proxy deploy --tls --host …` in another, the CA trusted through
// NODE_EXTRA_CA_CERTS, the cache under the default --tls-acme-cache-path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
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

test('wharf-proxy run + deploy --tls --tls-acme-directory issues a certificate, trusting NODE_EXTRA_CA_CERTS', async () => {
  const fake = await FakeAcme.start();
  const backend = await startBackend('cli');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acme-cli-'));
  writeFileSync(join(dir, 'ca.pem'), fake.caPem);
  const env = {
    ...process.env,
    WHARF_PROXY_CONFIG_DIR: dir,
    KAMAL_PROXY_SOCKET: join(dir, 'proxy.sock'),
    NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'),
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
