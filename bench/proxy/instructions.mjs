#!/usr/bin/env node
/**
 * User-space instructions per proxied request, per proxy build, run by hand (never in CI). CPU time on a shared 2-core machine
 * swings with whatever else runs; the number of instructions a process executes
 * (valgrind's callgrind counts them) does not, so this is the figure to compare
 * builds by while the machine is busy. It is not a throughput figure: kernel
 * work (loopback TCP) is left out, and V8 runs more slowly under valgrind, so
 * only the ratios between builds measured the same way mean anything.
 *
 *   node bench/proxy/instructions.mjs --build new=packages/proxy/dist --build old=/tmp/old/dist \
 *       [--script bare=bench/proxy/bare-undici.mjs] [--warmup 2000] [--requests 2000] [--connections 50] [--path /]
 *
 * Each build runs under `valgrind --tool=callgrind --instr-atstart=no`;
 * instrumentation is switched on (callgrind_control -i) for the measured requests only,
 * after the warm-up ones. Health checks are spaced out (60 s interval, 30 s
 * timeout) so that the slow valgrind run never marks the target unhealthy.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { freePort, nodeFlagsBy } from './proc.mjs';
import { Pool } from 'undici';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const APP_MAIN = join(root, 'packages/proxy/dist/test/support/app-main.js');

const { values: opts } = parseArgs({
  options: {
    build: { type: 'string', multiple: true, default: [] },
    script: { type: 'string', multiple: true, default: [] },
    warmup: { type: 'string', default: '2000' },
    requests: { type: 'string', default: '2000' },
    connections: { type: 'string', default: '50' },
    path: { type: 'string', default: '/' },
    keep: { type: 'boolean', default: false },
    'node-flags': { type: 'string', multiple: true, default: [] },
  },
});
const nodeFlags = nodeFlagsBy(opts['node-flags']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stderr.write(`${line}\n`);
const started = [];

function launch(command, args, env, logFile) {
  const out = openSync(logFile, 'a');
  const child = spawn(command, args, { stdio: ['ignore', out, out], env: { ...process.env, ...env } });
  started.push(child);
  return child;
}

async function waitForOk(url, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(60_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200`);
    await sleep(500);
  }
}

/** Sends exactly n GETs over the pool's connections (closed loop); returns how many were not 200. */
async function send(url, n) {
  const u = new URL(url);
  const pool = new Pool(u.origin, {
    connections: Number(opts.connections),
    pipelining: 1,
    headersTimeout: 600_000,
    bodyTimeout: 600_000,
  });
  let next = 0;
  let failed = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        const res = await pool.request({ path: u.pathname + u.search, method: 'GET' });
        await res.body.dump();
        if (res.statusCode !== 200) failed++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: Number(opts.connections) }, worker));
  await pool.close();
  return failed;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-instr-'));
  const backendPort = await freePort();
  launch(
    process.execPath,
    [APP_MAIN, '--identity', 'bench', '--port', String(backendPort)],
    {},
    join(dir, 'backend.log'),
  );
  await waitForOk(`http://127.0.0.1:${backendPort}/up`);
  const entries = [
    ...opts.build.map((s) => ({ kind: 'build', spec: s })),
    ...opts.script.map((s) => ({ kind: 'script', spec: s })),
  ];
  const results = [];
  for (const { kind, spec } of entries) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const path = resolve(spec.slice(eq + 1));
    const home = join(dir, name);
    mkdirSync(home, { recursive: true });
    const env = { HOME: home, XDG_RUNTIME_DIR: home, KAMAL_PROXY_SOCKET: join(home, 'sock') };
    const port = await freePort();
    const args =
      kind === 'build'
        ? [
            join(path, 'src/bin.js'),
            'run',
            '--http-port',
            String(port),
            '--https-port',
            String(await freePort()),
          ]
        : [path, String(port), String(backendPort)];
    const child = launch(
      'valgrind',
      [
        '--tool=callgrind',
        '--instr-atstart=no',
        `--callgrind-out-file=${join(home, 'callgrind.out')}`,
        process.execPath,
        ...(nodeFlags.get(name) ?? []),
        ...args,
      ],
      env,
      join(home, 'proxy.log'),
    );
    if (kind === 'build') {
      for (let i = 0; ; i++) {
        const r = spawnSync(
          process.execPath,
          [
            join(path, 'src/bin.js'),
            'deploy',
            'bench',
            '--target',
            `127.0.0.1:${backendPort}`,
            '--health-check-interval',
            '60s',
            '--health-check-timeout',
            '30s',
            '--deploy-timeout',
            '300s',
          ],
          { env: { ...process.env, ...env }, encoding: 'utf8' },
        );
        if (r.status === 0) break;
        if (i > 300) throw new Error(`deploy failed for ${name}: ${r.stderr}`);
        await sleep(1000);
      }
    }
    const url = `http://127.0.0.1:${port}${opts.path}`;
    await waitForOk(url);
    const warmFailed = await send(url, Number(opts.warmup));
    execFileSync('callgrind_control', ['-z', String(child.pid)], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
    const n = Number(opts.requests);
    const failed = await send(url, n);
    execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    let ir = 0;
    for (const f of readdirSync(home).filter((x) => x.startsWith('callgrind.out'))) {
      const m = /^totals: (\d+)/m.exec(readFileSync(join(home, f), 'utf8'));
      if (m) ir += Number(m[1]);
    }
    const row = {
      name,
      irPerReq: ir / n,
      failed: failed + warmFailed,
    };
    results.push(row);
    log(`${name}: ${Math.round(row.irPerReq)} instructions/req, failed ${row.failed}`);
  }
  const base = results[0];
  for (const r of results) {
    process.stdout.write(
      `${r.name}: ${Math.round(r.irPerReq)} user-space instructions/request (÷${base.name} ${(r.irPerReq / base.irPerReq).toFixed(3)}), ` +
        `non-200 ${r.failed}\n`,
    );
  }
  for (const c of started) c.kill('SIGTERM');
  if (!opts.keep) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}

try {
  await main();
} catch (err) {
  log(`instructions: ${err.message}`);
  for (const c of started) c.kill('SIGTERM');
  process.exitCode = 1;
}
