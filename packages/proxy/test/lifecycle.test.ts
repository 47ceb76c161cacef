import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startBackend } from './support/backend.js';
import { request, waitFor } from './support/proxy.js';

const bin = fileURLToPath(new URL('../src/bin.js', import.meta.url));
const run = promisify(execFile);

test('`run` serves until SIGTERM, then finishes in-flight requests and exits 0; the CLI drives it over the socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-run-'));
  const env = { ...process.env, WHARF_PROXY_CONFIG_DIR: dir, KAMAL_PROXY_SOCKET: join(dir, 'kp.sock') };
  let release: () => void = () => undefined;
  const backend = await startBackend('v1', (req, res) => {
    if (req.url === '/slow') {
      release = () => res.end('slow done');
      return;
    }
    res.end('v1');
  });
  const child = spawn(process.execPath, [bin, 'run', '--http-port=0', '--https-port=0'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitFor(() => out.includes('"msg":"Server started"'), 10_000, 'server start');
    const started = JSON.parse(out.split('\n').find((l) => l.includes('Server started'))!);
    const port = started.http as number;
    await run(
      process.execPath,
      [
        bin,
        'deploy',
        'app',
        `--target=${backend.name}`,
        '--health-check-interval=50ms',
        '--deploy-timeout=5s',
      ],
      { env },
    );
    assert.equal((await request(port, '/')).body, 'v1');
    const { stdout } = await run(process.execPath, [bin, 'list'], { env });
    assert.match(stdout.replace(/\x1b\[[0-9;]*m/g, ''), /app\s+\*\s+\/\s+127\.0\.0\.1:\d+\s+running\s+no/);

    const slow = request(port, '/slow');
    await waitFor(() => backend.seen.some((s) => s.url === '/slow'), 2_000, 'slow request');
    child.kill('SIGTERM');
    await waitFor(() => out.includes('Waiting for in-flight requests'), 2_000, 'shutdown started');
    await assert.rejects(request(port, '/'), /ECONNREFUSED|ECONNRESET/);
    release();
    assert.equal((await slow).body, 'slow done');
    assert.equal(await exited, 0);
  } finally {
    child.kill('SIGKILL');
    await backend.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the same entry answers to the name kamal-proxy', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-bin-'));
  try {
    symlinkSync(bin, join(dir, 'kamal-proxy'));
    const { stdout } = await run(process.execPath, [join(dir, 'kamal-proxy'), '--help']);
    assert.match(stdout, /kamal-proxy \[command\]/);
    assert.match(stdout, /rollout\s+Control rollout deployments/);
    const err = await run(process.execPath, [join(dir, 'kamal-proxy'), 'deploy']).catch(
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal((err as { code: number }).code, 1);
    assert.match((err as { stderr: string }).stderr, /^Error: accepts 1 arg\(s\), received 0/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
