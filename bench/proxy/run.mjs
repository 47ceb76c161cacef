#!/usr/bin/env node
/**
 * wharf-proxy bench, run by hand (never in CI):
 *
 *   npx tsc -b packages/proxy && node bench/proxy/run.mjs [--rounds 3] [--duration 10]
 *       [--warmup 3] [--rate 5000,2000] [--rate-duration 10] [--connections 50] [--backend app|raw]
 *       [--path /] [--only direct,wharf-proxy,nginx,haproxy,caddy] [--access-log on|off]
 *       [--no-install] [--json FILE]
 *
 * Method (see /work/shared/reference/proxy-baseline.md): one node:http backend
 * (the test app) pinned to core 1; each proxy pinned to core 0 with taskset and
 * configured equivalently (keep-alive upstream pools, one worker, and by default
 * a per-request access log written to a file by every proxy, since wharf-proxy
 * logs every request as kamal-proxy does; --access-log off drops the others'
 * logs for their best case); the load
 * (wrk -t1 -c50, then the open-loop raw-socket client fixed-rate.mjs at each
 * --rate) on core 1 beside the backend (--backend app: the test app;
 * raw: backend-raw.mjs, which costs less per request). Rounds interleave every target with a rotating start; values
 * are medians over rounds, and ratios are taken within a round before the
 * median. Throughput/latency at saturation come from wrk; latency added at a
 * fixed rate from the fixed-rate client; CPU µs per request from /proc
 * (utime+stime of the proxy's process tree ÷ requests); RSS idle (after start
 * and deploy), max under load, and at the end.
 *
 * When run as root it installs nginx, haproxy, caddy and wrk from Debian's
 * packages if they are missing (services are not started).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { caddyConfig, haproxyConfig, nginxConfig } from './configs.mjs';
import { coreBusy, coreTimes, cpuMicros, freePort, median, processTree, rssMb } from './proc.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const PROXY_BIN = join(root, 'packages/proxy/dist/src/bin.js');
const APP_MAIN = join(root, 'packages/proxy/dist/test/support/app-main.js');
const FIXED_RATE = join(here, 'fixed-rate.mjs');
const BACKEND_RAW = join(here, 'backend-raw.mjs');

const { values: opts } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    rate: { type: 'string', default: '5000,2000' },
    backend: { type: 'string', default: 'app' },
    'rate-duration': { type: 'string', default: '10' },
    connections: { type: 'string', default: '50' },
    path: { type: 'string', default: '/' },
    only: { type: 'string' },
    'no-install': { type: 'boolean', default: false },
    'access-log': { type: 'string', default: 'on' },
    json: { type: 'string' },
  },
});
const ROUNDS = Number(opts.rounds);
const DURATION = Number(opts.duration);
const WARMUP = Number(opts.warmup);
const RATES = opts.rate.split(',').map(Number);
if (RATES.some((r) => !(r > 0))) throw new Error('--rate takes requests/s, or several separated by commas');
if (!['app', 'raw'].includes(opts.backend)) throw new Error('--backend takes app or raw');
const RATE_DURATION = Number(opts['rate-duration']);
const CONNECTIONS = Number(opts.connections);
if (!['on', 'off'].includes(opts['access-log'])) throw new Error('--access-log takes on or off');
const ACCESS_LOG = opts['access-log'] === 'on';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (line) => process.stderr.write(`${line}\n`);
const have = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
// ---- tools --------------------------------------------------------------------

function ensureTools() {
  const missing = ['nginx', 'haproxy', 'caddy', 'wrk'].filter((t) => !have(t));
  if (missing.length === 0 || opts['no-install']) return;
  if (process.getuid?.() !== 0) {
    log(`bench: ${missing.join(', ')} missing and not root; those targets are skipped.`);
    return;
  }
  log(`bench: installing ${missing.join(' ')} from Debian's packages...`);
  // Keep apt from starting the packaged services (they would take port 80).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const r = spawnSync('apt-get', ['install', '-y', '-q', ...missing], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (r.status !== 0) log('bench: apt-get install failed; run `apt-get update` first?');
  } finally {
    if (ownPolicy) unlinkSync(policy);
  }
}

function versions() {
  const v = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return (
      `${r.stdout}${r.stderr}`
        .split('\n')
        .find((l) => l.trim())
        ?.trim() ?? '?'
    );
  };
  return {
    node: process.version,
    nginx: have('nginx') ? v('nginx', ['-v']) : 'missing',
    haproxy: have('haproxy') ? v('haproxy', ['-v']) : 'missing',
    caddy: have('caddy') ? v('caddy', ['version']) : 'missing',
    wrk: have('wrk') ? v('wrk', ['-v']) : 'missing',
  };
}

// ---- processes ------------------------------------------------------------------

const started = [];

function launch(name, core, command, args, { env, logFile } = {}) {
  const out = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = spawn('taskset', ['-c', String(core), command, ...args], {
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  started.push({ name, child });
  return child;
}

async function waitForOk(url, timeoutMs = 15_000, child = undefined, name = url) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null)) {
      throw new Error(
        `${name} exited (${child.exitCode ?? child.signalCode}) before it answered; see its log in the bench's temp folder`,
      );
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline) throw new Error(`${name} (${url}) did not answer 200 within ${timeoutMs} ms`);
    await sleep(50);
  }
}

async function startBackend(dir) {
  const port = await freePort();
  const args =
    opts.backend === 'raw'
      ? [BACKEND_RAW, String(port)]
      : [APP_MAIN, '--identity', 'bench', '--port', String(port)];
  const child = launch('backend', 1, process.execPath, args, { logFile: join(dir, 'backend.log') });
  await waitForOk(`http://127.0.0.1:${port}/up`);
  return { port, pid: child.pid };
}

async function startWharfProxy(dir, backendPort) {
  const port = await freePort();
  const home = join(dir, 'wharf-home');
  const env = { HOME: home, XDG_RUNTIME_DIR: home, KAMAL_PROXY_SOCKET: join(dir, 'wharf-proxy.sock') };
  execFileSync('mkdir', ['-p', home]);
  const child = launch(
    'wharf-proxy',
    0,
    process.execPath,
    [PROXY_BIN, 'run', '--http-port', String(port), '--https-port', String(await freePort())],
    { env, logFile: join(dir, 'wharf-proxy.log') },
  );
  const deadline = Date.now() + 15_000;
  for (;;) {
    const r = spawnSync(
      process.execPath,
      [PROXY_BIN, 'deploy', 'bench', '--target', `127.0.0.1:${backendPort}`, '--deploy-timeout', '10s'],
      { env: { ...process.env, ...env }, encoding: 'utf8' },
    );
    if (r.status === 0) break;
    if (Date.now() > deadline) throw new Error(`wharf-proxy deploy failed: ${r.stderr}`);
    await sleep(100);
  }
  await waitForOk(`http://127.0.0.1:${port}/up`);
  return { port, pid: child.pid };
}

async function startNginx(dir, backendPort) {
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, nginxConfig({ port, backendPort, dir, accessLog: ACCESS_LOG }));
  const child = launch('nginx', 0, 'nginx', ['-c', conf, '-p', dir, '-e', join(dir, 'nginx-error.log')]);
  await waitForOk(`http://127.0.0.1:${port}/up`, 15_000, child, 'nginx');
  return { port, pid: child.pid };
}

async function startHaproxy(dir, backendPort) {
  const port = await freePort();
  const conf = join(dir, 'haproxy.cfg');
  writeFileSync(conf, haproxyConfig({ port, backendPort, accessLog: ACCESS_LOG }));
  const child = launch('haproxy', 0, 'haproxy', ['-f', conf, '-db'], { logFile: join(dir, 'haproxy.log') });
  await waitForOk(`http://127.0.0.1:${port}/up`, 15_000, child, 'haproxy');
  return { port, pid: child.pid };
}

async function startCaddy(dir, backendPort) {
  const port = await freePort();
  const conf = join(dir, 'Caddyfile');
  writeFileSync(conf, caddyConfig({ port, backendPort, dir, accessLog: ACCESS_LOG }));
  const child = launch('caddy', 0, 'caddy', ['run', '--config', conf, '--adapter', 'caddyfile'], {
    env: { HOME: dir, XDG_DATA_HOME: dir, XDG_CONFIG_HOME: dir },
    logFile: join(dir, 'caddy.log'),
  });
  await waitForOk(`http://127.0.0.1:${port}/up`, 15_000, child, 'caddy');
  return { port, pid: child.pid };
}

// ---- measurement ----------------------------------------------------------------

function parseWrkTime(text) {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'us' ? 0.001 : m[2] === 's' ? 1000 : 1);
}

function parseWrk(out) {
  const pct = (p) => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m ? parseWrkTime(m[1]) : NaN;
  };
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? NaN);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1] ?? '';
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  return { requests, rps, p50: pct(50), p99: pct(99), socketErrors, non2xx };
}

function runWrk(url, seconds) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      'taskset',
      ['-c', '1', 'wrk', '-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    child.once('error', reject);
    child.once('close', () => resolvePromise(parseWrk(out)));
  });
}

/**
 * The open-loop client at RATE on core 1 (beside the backend). Besides the
 * latencies it reports how busy each core was (core 1 near 100 % means the
 * client and backend queue, and the figure is not the proxy's), the client's
 * own CPU per request, its lag behind schedule, and the backend's CPU per
 * request.
 */
async function runFixedRate(url, rate, backendPid) {
  const k0 = coreTimes();
  const b0 = cpuMicros([backendPid]);
  const child = spawn(
    'taskset',
    ['-c', '1', process.execPath, FIXED_RATE, url, String(rate), String(RATE_DURATION), String(CONNECTIONS)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c) => (stderr += c));
  // A busy machine can starve the client past its timeout: record the round as missing, go on.
  const timer = setTimeout(() => child.kill('SIGKILL'), (RATE_DURATION + 60) * 1000);
  const [code, signal] = await new Promise((r) => child.once('close', (c, s) => r([c, s])));
  clearTimeout(timer);
  const busy = coreBusy(k0, coreTimes());
  const backendUs = cpuMicros([backendPid]) - b0;
  if (code !== 0) {
    log(`bench: fixed-rate client failed (${signal ?? `exit ${code}`}) ${stderr}`.trim());
    return { sentRate: NaN, ok: 0, failed: NaN, p50: NaN, p99: NaN, p999: NaN, senderLagP99: NaN, busy };
  }
  const report = JSON.parse(stdout.trim().split('\n').pop());
  // The warm-up's requests are in the backend's CPU too: divide by all it served.
  const warmupShare = (RATE_DURATION + 2) / RATE_DURATION;
  return {
    sentRate: report.sentRate,
    ok: report.ok,
    failed: report.failed,
    errors: report.errors,
    p50: report.latencyMs.p50,
    p99: report.latencyMs.p99,
    p999: report.latencyMs.p999,
    senderLagP99: report.lagMs.p99,
    connectionWaitP99: report.connectionWaitMs.p99,
    clientUsPerReq: report.clientCpuUsPerReq,
    backendUsPerReq: backendUs / ((report.ok + report.failed) * warmupShare),
    busy,
  };
}

/** Waits (up to 10 s) until both cores are under 15 % busy, and returns how busy they were. */
async function waitQuiet() {
  let busy = [];
  for (let i = 0; i < 10; i++) {
    const a = coreTimes();
    await sleep(1000);
    busy = coreBusy(a, coreTimes());
    if (busy.every((b) => b < 15)) break;
  }
  return busy;
}

// ---- main -------------------------------------------------------------------------

async function main() {
  if (!existsSync(PROXY_BIN) || !existsSync(APP_MAIN)) {
    throw new Error('build first: npx tsc -b packages/proxy');
  }
  ensureTools();
  if (!have('wrk')) throw new Error('wrk is required (apt-get install -y wrk)');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-proxy-bench-'));
  tempDir = dir;
  const backend = await startBackend(dir);
  const backendPort = backend.port;
  const wanted = new Set((opts.only ?? 'direct,wharf-proxy,nginx,haproxy,caddy').split(','));
  const targets = [];
  if (wanted.has('direct')) targets.push({ name: 'direct', port: backendPort, pid: undefined });
  const starters = {
    'wharf-proxy': startWharfProxy,
    nginx: startNginx,
    haproxy: startHaproxy,
    caddy: startCaddy,
  };
  for (const [name, start] of Object.entries(starters)) {
    if (!wanted.has(name)) continue;
    if (name !== 'wharf-proxy' && !have(name)) {
      log(`bench: ${name} not installed, skipped`);
      continue;
    }
    targets.push({ name, ...(await start(dir, backendPort)) });
  }
  for (const t of targets) {
    t.url = `http://127.0.0.1:${t.port}${opts.path}`;
    t.idleRss = t.pid ? rssMb(processTree(t.pid)) : NaN;
    t.maxRss = t.idleRss;
    t.rounds = [];
    t.fixed = Object.fromEntries(RATES.map((r) => [r, []]));
  }
  log(`bench: ${targets.map((t) => `${t.name} :${t.port}`).join(', ')}; backend :${backendPort}; tmp ${dir}`);

  for (let round = 0; round < ROUNDS; round++) {
    const order = targets.map((_, i) => targets[(i + round) % targets.length]);
    for (const t of order) {
      await runWrk(t.url, WARMUP);
      const quietBefore = await waitQuiet();
      const pids = t.pid ? processTree(t.pid) : [];
      const cpu0 = cpuMicros(pids);
      const cores0 = coreTimes();
      const sampler = setInterval(() => {
        if (t.pid) t.maxRss = Math.max(t.maxRss, rssMb(processTree(t.pid)));
      }, 250);
      const wrk = await runWrk(t.url, DURATION);
      clearInterval(sampler);
      const busy = coreBusy(cores0, coreTimes());
      const cpuUs = cpuMicros(pids) - cpu0;
      const row = {
        ...wrk,
        cpuUsPerReq: t.pid ? cpuUs / wrk.requests : NaN,
        cpuPct: t.pid ? Math.round(cpuUs / (DURATION * 1e4)) : NaN,
        busy,
        quietBefore,
      };
      t.rounds[round] = row;
      log(
        `round ${round + 1} ${t.name}: ${Math.round(wrk.rps)} rps, p50 ${wrk.p50} ms, p99 ${wrk.p99} ms, ` +
          `${Number.isFinite(row.cpuUsPerReq) ? `${row.cpuUsPerReq.toFixed(1)} µs/req, ` : ''}cores ${busy.join('/')}% ` +
          `(before: ${quietBefore.join('/')}%)${wrk.non2xx || /[1-9]/.test(wrk.socketErrors) ? ` ERRORS ${wrk.socketErrors} non2xx ${wrk.non2xx}` : ''}`,
      );
    }
    for (const rate of RATES) {
      for (const t of order) {
        const quietBefore = await waitQuiet();
        const sampler = setInterval(() => {
          if (t.pid) t.maxRss = Math.max(t.maxRss, rssMb(processTree(t.pid)));
        }, 250);
        const fixed = await runFixedRate(t.url, rate, backend.pid);
        clearInterval(sampler);
        t.fixed[rate][round] = fixed;
        log(
          `round ${round + 1} ${t.name} @${rate}/s: p50 ${fixed.p50} ms, p99 ${fixed.p99} ms, p99.9 ${fixed.p999} ms, ` +
            `sent ${fixed.sentRate}/s, failed ${fixed.failed}${fixed.failed ? ` ${JSON.stringify(fixed.errors)}` : ''}, ` +
            `client lag p99 ${fixed.senderLagP99} ms, connection wait p99 ${fixed.connectionWaitP99} ms, ` +
            `client ${fixed.clientUsPerReq?.toFixed(1)} µs/req, backend ${fixed.backendUsPerReq?.toFixed(1)} µs/req, ` +
            `cores ${fixed.busy.join('/')}% (before: ${quietBefore.join('/')}%)`,
        );
      }
    }
  }
  for (const t of targets) t.endRss = t.pid ? rssMb(processTree(t.pid)) : NaN;

  const byName = Object.fromEntries(targets.map((t) => [t.name, t]));
  const ratio = (t, base, field) =>
    base ? median(t.rounds.map((r, i) => r[field] / base.rounds[i][field])) : NaN;
  const f = (x, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
  const lines = [];
  lines.push(
    `wharf-proxy bench: ${ROUNDS} rounds × ${DURATION} s, wrk -t1 -c${CONNECTIONS}, path ${opts.path}, backend ${opts.backend}, ` +
      `access logs ${ACCESS_LOG ? 'on for every proxy' : 'off for nginx/HAProxy/Caddy (wharf-proxy always logs)'}`,
  );
  lines.push(JSON.stringify(versions()));
  lines.push('');
  lines.push(
    '| target | median rps | rps per round | rps ÷ nginx | rps ÷ direct | p50 ms | p99 ms | proxy CPU % | CPU µs/req | CPU/req ÷ nginx |',
  );
  lines.push('|---|---:|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const t of targets) {
    const m = (field) => median(t.rounds.map((r) => r[field]));
    lines.push(
      `| ${t.name} | ${Math.round(m('rps'))} | ${t.rounds.map((r) => Math.round(r.rps)).join(' / ')} | ` +
        `${f(ratio(t, byName.nginx, 'rps'))} | ${f(ratio(t, byName.direct, 'rps'))} | ${f(m('p50'))} | ${f(m('p99'))} | ` +
        `${f(m('cpuPct'), 0)} | ${f(m('cpuUsPerReq'), 1)} | ${f(ratio(t, byName.nginx, 'cpuUsPerReq'))} |`,
    );
  }
  for (const rate of RATES) {
    lines.push('');
    lines.push(
      `Open loop at ${rate} req/s for ${RATE_DURATION} s over ≤${CONNECTIONS} connections (latency from the scheduled send time; ` +
        `client and ${opts.backend} backend share core 1):`,
    );
    lines.push(
      '| target | p50 ms | p99 ms | p99.9 ms | p99 added over direct, ms | failed | client lag p99 ms | client µs/req | backend µs/req | core 0 / core 1 busy % |',
    );
    lines.push('|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    const direct = byName.direct?.fixed[rate];
    const added = (t) => (direct ? median(t.fixed[rate].map((r, i) => r.p99 - direct[i].p99)) : NaN);
    for (const t of targets) {
      const runs = t.fixed[rate];
      const m = (field) => median(runs.map((r) => r[field]));
      lines.push(
        `| ${t.name} | ${f(m('p50'))} | ${f(m('p99'))} | ${f(m('p999'))} | ${t.name === 'direct' ? '—' : f(added(t))} | ` +
          `${runs.reduce((s, r) => s + (Number.isFinite(r.failed) ? r.failed : 0), 0)} | ${f(m('senderLagP99'))} | ` +
          `${f(m('clientUsPerReq'), 1)} | ${f(m('backendUsPerReq'), 1)} | ` +
          `${f(median(runs.map((r) => r.busy[0])), 0)} / ${f(median(runs.map((r) => r.busy[1])), 0)} |`,
      );
    }
  }
  lines.push('');
  lines.push('| target | idle RSS MB | max RSS under load MB | RSS at end MB |');
  lines.push('|---|---:|---:|---:|');
  for (const t of targets.filter((x) => x.pid)) {
    lines.push(`| ${t.name} | ${f(t.idleRss, 1)} | ${f(t.maxRss, 1)} | ${f(t.endRss, 1)} |`);
  }
  const text = lines.join('\n');
  process.stdout.write(`${text}\n`);
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ versions: versions(), targets }, null, 2));
}

let tempDir;

function stopAll() {
  for (const { child } of started.reverse()) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  }
}

process.on('SIGINT', () => {
  stopAll();
  process.exit(130);
});
try {
  await main();
} catch (error) {
  log(`bench: ${error.message}`);
  process.exitCode = 1;
} finally {
  stopAll();
  await sleep(500);
  if (tempDir && !process.env.BENCH_KEEP) rmSync(tempDir, { recursive: true, force: true });
}
