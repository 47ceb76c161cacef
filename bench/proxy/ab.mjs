#!/usr/bin/env node
/**
 * A/B CPU cost of wharf-proxy builds, run by hand (never in CI): the same
 * backend (the test app on core 1), each build pinned to core 0, measured
 * interleaved round by round so that noise from other work on the machine hits
 * every build alike. Prints proxy CPU µs per request at saturation (wrk -c50)
 * and at a fixed rate (the open-loop client), which is the steadiest figure on
 * a shared machine because every build then does the same work per second.
 *
 *   node bench/proxy/ab.mjs --build new=packages/proxy/dist --build old=/tmp/old/dist \
 *       [--script floor=bare.mjs] [--rounds 3] [--duration 6] [--rate 3000] [--connections 50] [--path /] [--prof DIR]
 *
 * A build is a compiled `dist` folder (its src/bin.js is started); a script is
 * a stand-alone proxy started as `node SCRIPT PORT BACKEND_PORT`. --prof DIR
 * runs every build under `node --cpu-prof` and leaves the .cpuprofile files in
 * DIR. --node-flags NAME='--max-semi-space-size=32 ...' starts NAME with extra
 * node/V8 flags (the same dist folder can be given twice under two names).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  coreBusy,
  coreTimes,
  cpuMicros,
  freePort,
  median,
  nodeFlagsBy,
  processTree,
  rssMb,
} from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const APP_MAIN = join(root, 'packages/proxy/dist/test/support/app-main.js');
const FIXED_RATE = join(here, 'fixed-rate.mjs');

const { values: opts } = parseArgs({
  options: {
    build: { type: 'string', multiple: true, default: [] },
    script: { type: 'string', multiple: true, default: [] },
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '6' },
    rate: { type: 'string', default: '3000' },
    connections: { type: 'string', default: '50' },
    path: { type: 'string', default: '/' },
    prof: { type: 'string' },
    'no-rate': { type: 'boolean', default: false },
    'node-flags': { type: 'string', multiple: true, default: [] },
  },
});
const nodeFlags = nodeFlagsBy(opts['node-flags']);
const DURATION = Number(opts.duration);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stderr.write(`${line}\n`);
const started = [];

function launch(core, args, env, logFile) {
  const out = openSync(logFile, 'a');
  const child = spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  started.push(child);
  return child;
}

async function waitForOk(url) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200`);
    await sleep(50);
  }
}

function runWrk(url, seconds) {
  const r = spawnSync('taskset', ['-c', '1', 'wrk', '-t1', `-c${opts.connections}`, `-d${seconds}s`, url], {
    encoding: 'utf8',
  });
  return {
    requests: Number(/(\d+) requests in/.exec(r.stdout)?.[1] ?? NaN),
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? NaN),
    errors: /Socket errors: (.*)|Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[0] ?? '',
  };
}

function runRate(url, seconds) {
  const r = spawnSync(
    'taskset',
    ['-c', '1', process.execPath, FIXED_RATE, url, opts.rate, String(seconds), opts.connections, '1'],
    { encoding: 'utf8', timeout: (seconds + 60) * 1000 },
  );
  if (r.status !== 0) throw new Error(`fixed-rate client failed: ${r.stderr}`);
  const report = JSON.parse(r.stdout.trim().split('\n').pop());
  return { requests: report.ok + report.failed, failed: report.failed, p99: report.latencyMs.p99 };
}

async function measure(pid, fn) {
  const pids = processTree(pid);
  const c0 = cpuMicros(pids);
  const k0 = coreTimes();
  const r = await fn();
  return { ...r, usPerReq: (cpuMicros(pids) - c0) / r.requests, busy: coreBusy(k0, coreTimes()) };
}

async function main() {
  if (opts.build.length + opts.script.length === 0)
    throw new Error('give at least one --build name=dist-folder');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-ab-'));
  const backendPort = await freePort();
  launch(1, [APP_MAIN, '--identity', 'bench', '--port', String(backendPort)], {}, join(dir, 'backend.log'));
  await waitForOk(`http://127.0.0.1:${backendPort}/up`);
  const builds = [];
  for (const spec of opts.build) {
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const bin = resolve(spec.slice(eq + 1), 'src/bin.js');
    const home = join(dir, name);
    mkdirSync(home, { recursive: true });
    const env = { HOME: home, XDG_RUNTIME_DIR: home, KAMAL_PROXY_SOCKET: join(home, 'sock') };
    const port = await freePort();
    const nodeArgs = [
      ...(nodeFlags.get(name) ?? []),
      ...(opts.prof
        ? ['--cpu-prof', `--cpu-prof-dir=${resolve(opts.prof)}`, `--cpu-prof-name=${name}.cpuprofile`]
        : []),
    ];
    const child = launch(
      0,
      [...nodeArgs, bin, 'run', '--http-port', String(port), '--https-port', String(await freePort())],
      env,
      join(home, 'proxy.log'),
    );
    for (let i = 0; ; i++) {
      const r = spawnSync(
        process.execPath,
        [bin, 'deploy', 'bench', '--target', `127.0.0.1:${backendPort}`],
        {
          env: { ...process.env, ...env },
          encoding: 'utf8',
        },
      );
      if (r.status === 0) break;
      if (i > 100) throw new Error(`deploy failed for ${name}: ${r.stderr}`);
      await sleep(100);
    }
    const url = `http://127.0.0.1:${port}${opts.path}`;
    await waitForOk(url);
    builds.push({ name, url, child, idleRss: rssMb([child.pid]), sat: [], fixed: [] });
  }
  for (const spec of opts.script) {
    // A stand-alone proxy script: node SCRIPT PORT BACKEND_PORT (e.g. a bare undici proxy as a floor).
    const eq = spec.indexOf('=');
    const name = spec.slice(0, eq);
    const port = await freePort();
    const child = launch(
      0,
      [...(nodeFlags.get(name) ?? []), resolve(spec.slice(eq + 1)), String(port), String(backendPort)],
      {},
      join(dir, `${name}.log`),
    );
    const url = `http://127.0.0.1:${port}${opts.path}`;
    await waitForOk(url);
    builds.push({ name, url, child, idleRss: rssMb([child.pid]), sat: [], fixed: [] });
  }
  for (let round = 0; round < Number(opts.rounds); round++) {
    const order = builds.map((_, i) => builds[(i + round) % builds.length]);
    for (const b of order) {
      runWrk(b.url, 2);
      const sat = await measure(b.child.pid, () => runWrk(b.url, DURATION));
      b.sat.push(sat);
      b.maxRss = Math.max(b.maxRss ?? 0, rssMb([b.child.pid]));
      let line = `round ${round + 1} ${b.name}: wrk ${Math.round(sat.rps)} rps ${sat.usPerReq.toFixed(1)} µs/req cores ${sat.busy.join('/')}% ${sat.errors}`;
      if (!opts['no-rate']) {
        const fixed = await measure(b.child.pid, () => runRate(b.url, DURATION));
        b.fixed.push(fixed);
        line += ` | @${opts.rate}/s ${fixed.usPerReq.toFixed(1)} µs/req p99 ${fixed.p99} ms failed ${fixed.failed} cores ${fixed.busy.join('/')}%`;
      }
      log(line);
    }
  }
  const base = builds[0];
  for (const b of builds) {
    const sat = median(b.sat.map((r) => r.usPerReq));
    const rps = median(b.sat.map((r) => r.rps));
    const fixed = median(b.fixed.map((r) => r.usPerReq));
    const ratio = median(b.sat.map((r, i) => r.usPerReq / base.sat[i].usPerReq));
    const ratioFixed = median(b.fixed.map((r, i) => r.usPerReq / base.fixed[i].usPerReq));
    process.stdout.write(
      `${b.name}: saturated ${Math.round(rps)} rps, ${sat.toFixed(1)} µs/req (÷${base.name} ${ratio.toFixed(2)}); ` +
        `at ${opts.rate}/s ${fixed.toFixed(1)} µs/req (÷${base.name} ${ratioFixed.toFixed(2)}); ` +
        `RSS idle ${b.idleRss} MB, max ${b.maxRss} MB\n`,
    );
  }
  for (const c of started) c.kill('SIGTERM');
  await sleep(1500);
  rmSync(dir, { recursive: true, force: true });
}

try {
  await main();
} catch (err) {
  log(`ab: ${err.message}`);
  for (const c of started) c.kill('SIGTERM');
  process.exitCode = 1;
}
