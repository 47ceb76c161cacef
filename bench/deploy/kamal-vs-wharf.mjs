#!/usr/bin/env node
// Real Kamal 2 and wharf deploying the same project to the same fleet, side by
// side in one run, by hand only (never in CI).
//
//   bash bench/deploy/install-kamal.sh            # once: Debian gems + Kamal source
//   npm run build                                 # wharf and wharf-proxy compiled
//   node bench/deploy/kamal-vs-wharf.mjs [--runs 5] [--fleet kamalbench] [--port 5683]
//       [--servers 10 [--scale-only | --scale-kamal]] [--scale-runs 3] [--readiness-delay 0] [--kamal DIR] [--keep]
//
// The project: a copy of examples/hello with two roles on the first 2 fleet
// servers: web (proxied, health check /up every 1 s) and worker (not proxied:
// the same image running a loop that exits on SIGTERM). Registry: the fleet's
// registry under its in-fleet name (kamalbench-registry:5000) with a username
// and password from .kamal/secrets, so both tools log in on the servers as they
// would with a real registry (a `localhost:` registry would make Kamal open its
// own SSH port forward, which clashes with the fleet's forward). Proxy: both
// tools run `proxy.run` = <registry>/basecamp/kamal-proxy:v0.9.2, which this
// bench pushes as wharf-proxy's image (it speaks kamal-proxy's CLI); there is
// no basecamp/kamal-proxy image offline. readiness_delay is 0 by default
// (Kamal's 7 s sleep for a worker without a Docker health check is the same
// for both tools and would only dilute the comparison; --readiness-delay 7 for
// the stock behaviour). Host keys: both read the fleet's known_hosts through
// an ssh config file (ssh.config), StrictHostKeyChecking yes.
//
// "Image already built": one image (labelled service=hello) is built once and
// for every run a new commit is made and the same image is pushed under that
// commit's SHA, which both tools take as the version; each tool then runs
// `deploy --skip-push` (pull, proxy, stale containers, boot, prune), so only
// the rollout is compared. Runs alternate (wharf first on even runs, Kamal
// first on odd ones), each deploying a new version over the other tool's
// (which also checks that each takes over the other's containers).
//
// Before the timed runs: a warm-up deploy by each tool (boots the proxy, pulls
// the image), then one counting deploy each with -v, whose output gives
// Kamal's SSH commands ("Running … on <host>" lines plus uploads) and wharf's
// (`$ [host]` lines; its summary's round-trip count is printed beside).
//
// wharf's overhead = wall time − the unavoidable, taken from the --json event
// stream of each timed run: per host, the time from a `docker pull`, a
// `docker run` and a `kamal-proxy deploy` command (the health-checked swap)
// to the next event on that host (a command's end is not an event, so
// this includes wharf's reaction time after it, a few ms); the host whose sum
// is largest counts (commands sent as one batch count as one unit). Stopping
// the old containers is shown beside it.
//
// With --servers N (> 2) the fleet has N servers and wharf alone also deploys
// the same project to all N (both roles on every server), for the N/2 ratio
// (--scale-only: that alone, without Kamal; --scale-kamal: Kamal's 2 vs N
// too, on the same fleet, as the machine's yardstick).
//
// Kamal runs from its mirrored source on Debian bookworm's gems, which are
// older than its gemspec wants; bench/deploy/kamal-shim/kamal_shim.rb (loaded
// with -rkamal_shim) adds only the APIs it misses, as the newer gems do:
//   1. active_support/broadcast_logger (activesupport 7.1+; Debian has 6.1):
//      a fallback class, used only for `output:` loggers, which this config has not.
//   2. Zeitwerk::Loader#eager_load_namespace (zeitwerk 2.6.2+; Debian 2.6.1):
//      loads the files under Kamal::Cli, as kamal.rb asks.
//   3. Dotenv.parse and the 3.x substitution call signature (dotenv 3.x;
//      Debian 2.4): reads .kamal/secrets into a hash.
//   4. Concurrent::Semaphore#acquire with a block (concurrent-ruby 1.2+;
//      Debian 1.1.6): Kamal's max_concurrent_starts wraps each SSH connect in it.
// sshkit 1.21 (Kamal wants >= 1.23) and net-ssh 7.0 (wants 7.3) needed none.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const wharfBin = join(root, 'packages/wharf/bin/wharf.js');
const shimDir = join(here, 'kamal-shim');

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    fleet: { type: 'string', default: 'kamalbench' },
    port: { type: 'string', default: '5683' },
    servers: { type: 'string', default: '2' },
    'scale-runs': { type: 'string', default: '3' },
    'readiness-delay': { type: 'string', default: '0' },
    kamal: { type: 'string' },
    keep: { type: 'boolean', default: false },
    'scale-only': { type: 'boolean', default: false },
    'scale-kamal': { type: 'boolean', default: false },
    'wharf-only': { type: 'boolean', default: false },
    'show-commands': { type: 'boolean', default: false },
  },
});
const runs = Number(values.runs);
const serverCount = Math.max(2, Number(values.servers));

function log(line) {
  process.stderr.write(`${line}\n`);
}

function run(cmd, args, options = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) {
    const out = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${out}`);
  }
  return { ...r, wall };
}

// Kamal's source (installed by install-kamal.sh, which is idempotent).
const kamalDir = values['wharf-only']
  ? ''
  : (values.kamal ??
    run('bash', [join(here, 'install-kamal.sh')], { stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim());
const kamalArgs = ['-I', shimDir, '-rkamal_shim', '-I', join(kamalDir, 'lib'), join(kamalDir, 'bin/kamal')];

const fleet = JSON.parse(
  run(process.execPath, [
    wharfBin,
    'fleet',
    'up',
    '--name',
    values.fleet,
    '--servers',
    String(serverCount),
    '--registry-port',
    values.port,
    '--json',
  ]).stdout,
);
if (fleet.servers.length < serverCount)
  throw new Error(
    `fleet ${values.fleet} has ${fleet.servers.length} servers; run \`wharf fleet down --name ${values.fleet}\` first`,
  );
const registryHost = `localhost:${values.port}`;
const registryInternal = fleet.registry_internal ?? `${values.fleet}-registry:5000`;
const env = { ...process.env, DOCKER_HOST: fleet.docker_host };
delete env.VERBOSE;
const docker = (...args) => run('docker', args, { env });

const work = mkdtempSync(join(tmpdir(), 'wharf-kamal-bench-'));
const gitId = ['-c', 'user.email=bench@wharf.invalid', '-c', 'user.name=bench'];
// Not a substring of anything in the commands, so redaction does not garble the logs.
const registryPassword = 'pw-4f1c9a7e2d';
const workerCmd = `node -e 'process.on("SIGTERM",()=>process.exit(0));setInterval(()=>{},1e6)'`;

function project(name, hosts) {
  const dir = join(work, name);
  mkdirSync(dir);
  cpSync(join(root, 'examples/hello'), dir, { recursive: true });
  writeFileSync(
    join(dir, 'ssh_config'),
    `Host *\n  UserKnownHostsFile ${fleet.known_hosts}\n  StrictHostKeyChecking yes\n`,
  );
  mkdirSync(join(dir, '.kamal'), { recursive: true });
  writeFileSync(join(dir, '.kamal/secrets'), `KAMAL_REGISTRY_PASSWORD=${registryPassword}\n`);
  const list = hosts.map((h) => `      - ${h}\n`).join('');
  writeFileSync(
    join(dir, 'config/deploy.yml'),
    `# Written by bench/deploy/kamal-vs-wharf.mjs: read by Kamal 2 and by wharf alike.
service: hello
image: hello
servers:
  web:
    hosts:
${list}  worker:
    hosts:
${list}    cmd: ${JSON.stringify(workerCmd)}
proxy:
  app_port: 3000
  healthcheck:
    path: /up
    interval: 1
  run:
    registry: ${registryInternal}
    repository: basecamp/kamal-proxy
    version: v0.9.2
registry:
  server: ${registryInternal}
  username: bench
  password:
    - KAMAL_REGISTRY_PASSWORD
builder:
  arch: amd64
ssh:
  user: ${fleet.servers[0].user}
  keys:
    - ${fleet.ssh_key}
  config: ${join(dir, 'ssh_config')}
readiness_delay: ${Number(values['readiness-delay'])}
env:
  clear:
    GREETING: hello
`,
  );
  const git = (...a) => execFileSync('git', a, { cwd: dir, encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git(...gitId, 'commit', '-q', '-m', 'bench');
  return {
    dir,
    /** A new commit, its image pushed: the next deploy's version. */
    next() {
      git(...gitId, 'commit', '-q', '--allow-empty', '-m', 'next');
      const sha = git('rev-parse', 'HEAD').trim();
      docker('tag', `${registryHost}/hello:bench-base`, `${registryHost}/hello:${sha}`);
      docker('push', '-q', `${registryHost}/hello:${sha}`);
      docker('rmi', `${registryHost}/hello:${sha}`);
      return sha;
    },
  };
}

// Images: the app once, and wharf-proxy under kamal-proxy's name.
log('Building the app image and the proxy image…');
const hello = project('build', []);
docker('build', '-q', '--label', 'service=hello', '-t', `${registryHost}/hello:bench-base`, hello.dir);
const proxyImage = `${registryHost}/basecamp/kamal-proxy:v0.9.2`;
run(
  process.execPath,
  [
    join(root, 'packages/proxy/scripts/image-context.mjs'),
    '--build',
    proxyImage,
    '--base',
    fleet.base_images?.node ?? 'wharf/node:bookworm',
  ],
  { env },
);
docker('push', '-q', proxyImage);

function wharf(dir, extra = []) {
  return run(process.execPath, [wharfBin, 'deploy', '--skip-push', ...extra], { cwd: dir, env });
}
function kamal(dir, extra = []) {
  return run('ruby', [...kamalArgs, 'deploy', '--skip-push', ...extra], { cwd: dir, env });
}

// CPU seconds, which the other work on a shared machine inflates far less than
// wall time: the client's (user + sys of the tool's process and its children,
// from /usr/bin/time) and the fleet servers' (their cgroups' CPU usage: sshd,
// the docker CLI, dockerd, containerd; the app and proxy containers have
// cgroups of their own).
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
function timed(fn) {
  const file = join(work, 'time.out');
  const before = serverCpu();
  const r = fn(timeBin ? [timeBin, ['-f', '%U %S', '-o', file]] : undefined);
  const after = serverCpu();
  const [user, sys] = timeBin
    ? readFileSync(file, 'utf8').trim().split(/\s+/).slice(-2).map(Number)
    : [NaN, NaN];
  return { ...r, clientCpu: user + sys, serverCpu: after - before };
}
function runUnderTime(prefix, cmd, args, options) {
  return prefix ? run(prefix[0], [...prefix[1], cmd, ...args], options) : run(cmd, args, options);
}
const cgroupFiles = fleet.servers.map((s) => {
  const id = docker('inspect', '--format', '{{.Id}}', s.name).stdout.trim();
  return [
    [`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 1e9],
    [`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 1e6],
    [`/sys/fs/cgroup/docker/${id}/cpu.stat`, 1e6],
  ].find(([f]) => existsSync(f));
});
function serverCpu() {
  let total = 0;
  for (const found of cgroupFiles) {
    if (!found) return NaN;
    const text = readFileSync(found[0], 'utf8');
    const value = found[0].endsWith('cpu.stat')
      ? Number(/usage_usec (\d+)/.exec(text)?.[1])
      : Number(text.trim());
    total += value / found[1];
  }
  return total;
}

/** Docker CLI runs a command line starts (`docker` words, also inside $(…), pipes and sh -c). */
const dockerRuns = (command) => (command.match(/(^|[^\w-])docker\s/g) ?? []).length;

/** Kamal's SSH commands in a -v log: each command logs "Running … on <host>" once; each upload "Uploading … 100.0%". */
function countKamal(output, hosts) {
  const lines = output.split('\n');
  const commands = lines
    .map((l) => /\] Running (.*) on (\S+)$/.exec(l))
    .filter((m) => m && hosts.includes(m[2]))
    .map((m) => m[1]);
  return {
    commands: commands.length,
    uploads: lines.filter((l) => /INFO Uploading .* 100\.0%/.test(l)).length,
    docker: commands.reduce((n, c) => n + dockerRuns(c), 0),
  };
}

/** wharf's remote commands in a -v log (`$ [host] command`; an upload shows as one too). */
function countWharf(output) {
  const commands = output
    .split('\n')
    .map((l) => /^\s+\$ \[[^\]]+\] (.*)$/.exec(l)?.[1])
    .filter((c) => c !== undefined);
  return {
    commands: commands.length,
    docker: commands.reduce((n, c) => n + dockerRuns(c), 0),
    roundTrips: Number(/(\d+) SSH round trips/.exec(output)?.[1] ?? NaN),
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const UNAVOIDABLE = [
  // The whole pull step, as wharf sends it in one batch: Kamal's registry-mirror
  // read, login, removal of the old tag, pull and label check (for Kamal only
  // the first login on a host: it logs in again to boot the proxy).
  [
    'pull',
    /^docker pull |^docker image rm --force |^docker inspect -f '\{\{ \.Config\.Labels\.service \}\}'|RegistryConfig\.Mirrors|docker login /,
  ],
  // Not Kamal's `docker container start kamal-proxy || docker run …` of the proxy.
  // wharf sends the env file, the audit line and `docker run` as one command (`… && docker run …`;
  // for a proxied role `wharf_cid=$(docker run …)` followed by the handoff: the unit ends at `ready`).
  ['container start', /(^|&& |\$\()docker run /],
  ['health-checked swap', /kamal-proxy deploy /],
];
const STOP = /xargs docker stop|docker (container )?stop /;

/**
 * Per-host command timeline from wharf's --json events. Each round trip's
 * `command` events carry its id and a `command_end` event closes it, so a
 * round trip lasts from its start to its end, even while another round trip
 * runs on the same host (roles overlap: a role starts while the one before
 * stops its old container). Commands sent as one batch count as one unit,
 * classified by the first unavoidable command in it (so a pull batch's login
 * and label check count as pull). The health-checked swap (and a start that
 * is ready at once, without the proxy) ends at the host's `ready` event:
 * stopping the old container follows in the same round trip and counts as
 * overhead. (Events without ids, from older wharf builds: a
 * command lasts until the host's next event.)
 */
function breakdown(events, wall) {
  const units = new Map();
  for (const e of events) {
    if (e.event === 'command' && e.id !== undefined) {
      if (!units.has(e.id)) units.set(e.id, { host: e.host, t: e.t, end: undefined, commands: [] });
      units.get(e.id).commands.push(e.command);
    } else if (e.event === 'command_end' && units.has(e.id)) units.get(e.id).end = e.t;
  }
  const byHost = new Map();
  const readyAt = new Map();
  if (units.size > 0) {
    for (const e of events) {
      if (e.event === 'ready') readyAt.set(e.host, [...(readyAt.get(e.host) ?? []), e.t]);
    }
    for (const u of units.values()) {
      if (!byHost.has(u.host)) byHost.set(u.host, []);
      byHost.get(u.host).push(u);
    }
  } else {
    for (const e of events) {
      if (!e.host) continue;
      if (!byHost.has(e.host)) byHost.set(e.host, []);
      byHost.get(e.host).push(e);
    }
  }
  let worst;
  for (const [host, list] of byHost) {
    const sums = { pull: 0, 'container start': 0, 'health-checked swap': 0, 'old container stop': 0 };
    const add = (commands, seconds) => {
      const kind = UNAVOIDABLE.find(([, re]) => commands.some((c) => re.test(c)));
      if (kind) sums[kind[0]] += seconds;
      else if (commands.some((c) => STOP.test(c))) sums['old container stop'] += seconds;
    };
    if (units.size > 0) {
      for (const u of list) {
        let end = u.end ?? u.t;
        // The swap, or a start that was ready at once: the unavoidable part ends at `ready`.
        if (u.commands.some((c) => /kamal-proxy deploy |(^|&& |\$\()docker run /.test(c))) {
          const ready = (readyAt.get(host) ?? []).find((t) => t >= u.t && t <= end);
          if (ready !== undefined) {
            sums['old container stop'] += end - ready;
            end = ready;
          }
        }
        add(u.commands, end - u.t);
      }
    } else {
      for (let i = 0; i < list.length; i++) {
        if (list[i].event !== 'command') continue;
        const unit = [list[i]];
        while (list[i + 1]?.event === 'command' && list[i + 1].t === list[i].t) unit.push(list[++i]);
        add(
          unit.map((e) => e.command),
          (list[i + 1]?.t ?? unit[0].t) - unit[0].t,
        );
      }
    }
    const unavoidable = sums.pull + sums['container start'] + sums['health-checked swap'];
    if (!worst || unavoidable > worst.unavoidable) worst = { host, unavoidable, sums };
  }
  return { ...worst, overhead: wall - worst.unavoidable };
}

function wharfRun(p) {
  p.next();
  const load = loadavg()[0];
  const r = timed((prefix) =>
    runUnderTime(prefix, process.execPath, [wharfBin, 'deploy', '--skip-push', '--json'], {
      cwd: p.dir,
      env,
    }),
  );
  const events = r.stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const summary = events.find((e) => e.event === 'summary') ?? {};
  return {
    wall: r.wall,
    load,
    events,
    summary,
    clientCpu: r.clientCpu,
    serverCpu: r.serverCpu,
    ...breakdown(events, r.wall),
  };
}
/**
 * The same breakdown for Kamal from its own log: SSHKit prints "[id] Running
 * CMD on HOST" and "[id] Finished in S seconds" for every command it runs at
 * info level (pull, run and kamal-proxy deploy all are), so S is Kamal's own
 * measure of that command.
 */
function kamalBreakdown(output, wall) {
  const started = new Map();
  const byHost = new Map();
  for (const line of output.split('\n')) {
    const run = /\[([0-9a-f]{8})\] Running (.*) on (\S+)$/.exec(line);
    if (run) {
      started.set(run[1], { command: run[2], host: run[3] });
      continue;
    }
    const done = /\[([0-9a-f]{8})\] Finished in ([\d.]+) seconds/.exec(line);
    const cmd = done && started.get(done[1]);
    if (!cmd) continue;
    if (!byHost.has(cmd.host))
      byHost.set(cmd.host, {
        pull: 0,
        'container start': 0,
        'health-checked swap': 0,
        'old container stop': 0,
      });
    const sums = byHost.get(cmd.host);
    if (/docker login /.test(cmd.command)) {
      if (sums.loggedIn) continue;
      sums.loggedIn = true;
    }
    const kind = UNAVOIDABLE.find(([, re]) => re.test(cmd.command));
    if (kind) sums[kind[0]] += Number(done[2]);
    else if (STOP.test(cmd.command)) sums['old container stop'] += Number(done[2]);
  }
  let worst = {
    host: undefined,
    unavoidable: 0,
    sums: { pull: 0, 'container start': 0, 'health-checked swap': 0, 'old container stop': 0 },
  };
  for (const [host, sums] of byHost) {
    const unavoidable = sums.pull + sums['container start'] + sums['health-checked swap'];
    if (unavoidable > worst.unavoidable) worst = { host, unavoidable, sums };
  }
  return { ...worst, overhead: wall - worst.unavoidable };
}

function kamalRun(p) {
  p.next();
  const load = loadavg()[0];
  const r = timed((prefix) =>
    runUnderTime(prefix, 'ruby', [...kamalArgs, 'deploy', '--skip-push'], { cwd: p.dir, env }),
  );
  return {
    wall: r.wall,
    load,
    clientCpu: r.clientCpu,
    serverCpu: r.serverCpu,
    ...kamalBreakdown(`${r.stdout}\n${r.stderr}`, r.wall),
  };
}

const hosts2 = fleet.servers.slice(0, 2).map((s) => s.address);
const p2 = project('two', hosts2);

// A lock left by an interrupted earlier bench run would stop every deploy.
spawnSync(process.execPath, [wharfBin, 'lock', 'release', '-q'], { cwd: p2.dir, env });
const f = (x) => x.toFixed(2);
const out = [];
if (values['wharf-only'] && !values['scale-only']) {
  // wharf alone (no Kamal): a warm-up, a counting -v deploy, then the timed runs; for
  // judging a change by its round trips, docker runs and CPU on a busy machine.
  p2.next();
  wharf(p2.dir);
  p2.next();
  const wv = wharf(p2.dir, ['-v']);
  const count = countWharf(`${wv.stdout}\n${wv.stderr}`);
  if (values['show-commands'])
    log(
      `${wv.stdout}\n${wv.stderr}`
        .split('\n')
        .filter((l) => /^\s+\$ \[/.test(l))
        .join('\n'),
    );
  const rows = [];
  for (let i = 0; i < runs; i++) {
    const r = wharfRun(p2);
    rows.push(r);
    log(
      `  run ${i + 1} wharf ${f(r.wall)} s  (load ${f(r.load)}; CPU client ${f(r.clientCpu)} s, servers ${f(r.serverCpu)} s)  phases: ${(r.summary.phases ?? []).map((ph) => `${ph.name.toLowerCase()} ${f(ph.seconds)}`).join(', ')}; ${r.summary.roundTrips} round trips; overhead ${f(r.overhead)} s`,
    );
  }
  if (values['show-commands']) {
    // The last run's timeline: seconds since the first event, per host, and what started then.
    const events = rows.at(-1)?.events ?? [];
    const t0 = events[0]?.t ?? 0;
    for (const e of events)
      if (['command', 'phase_start', 'step_end'].includes(e.event))
        log(
          `  ${f(e.t - t0).padStart(6)} ${(e.host ?? '').padEnd(12)} ${(e.command ?? (e.phase ? `▸ ${e.phase}` : `✓ ${e.step} ${f(e.seconds)}`)).slice(0, 110)}`,
        );
  }
  out.push(
    `wharf alone, ${hosts2.length} servers: ${count.roundTrips} round trips, ${count.commands} commands shown by -v, ${count.docker} docker CLI runs`,
    `  wall median ${f(median(rows.map((r) => r.wall)))} s; client CPU ${f(median(rows.map((r) => r.clientCpu)))} s; fleet-server CPU ${f(median(rows.map((r) => r.serverCpu)))} s; overhead ${f(median(rows.map((r) => r.overhead)))} s`,
  );
}
if (!values['scale-only'] && !values['wharf-only']) {
  log(`Warm-up: Kamal and wharf deploy once each to ${hosts2.join(', ')}…`);
  p2.next();
  kamal(p2.dir);
  p2.next();
  wharf(p2.dir);

  log('Counting SSH commands (one -v deploy each)…');
  p2.next();
  const kv = kamal(p2.dir, ['-v']);
  const kamalCount = countKamal(`${kv.stdout}\n${kv.stderr}`, hosts2);
  p2.next();
  const wv = wharf(p2.dir, ['-v']);
  const wharfCount = countWharf(`${wv.stdout}\n${wv.stderr}`);

  const rows = { kamal: [], wharf: [] };
  for (let i = 0; i < runs; i++) {
    const order = i % 2 === 0 ? ['wharf', 'kamal'] : ['kamal', 'wharf'];
    for (const tool of order) {
      const r = tool === 'wharf' ? wharfRun(p2) : kamalRun(p2);
      rows[tool].push(r);
      log(
        `  run ${i + 1} ${tool.padEnd(5)} ${r.wall.toFixed(2)} s  (load ${r.load.toFixed(2)}; CPU client ${r.clientCpu.toFixed(2)} s, servers ${r.serverCpu.toFixed(2)} s)${
          tool === 'wharf'
            ? `  phases: ${(r.summary.phases ?? []).map((ph) => `${ph.name.toLowerCase()} ${ph.seconds.toFixed(2)}`).join(', ')}; ${r.summary.roundTrips} round trips; overhead ${r.overhead.toFixed(2)} s`
            : ''
        }`,
      );
    }
  }

  const kMed = median(rows.kamal.map((r) => r.wall));
  const wMed = median(rows.wharf.map((r) => r.wall));
  out.push(
    `Kamal ${run('ruby', [...kamalArgs, 'version'], { env }).stdout.trim()} vs wharf, ${hosts2.length} servers, web (proxied) + worker, image already built (deploy --skip-push), ${runs} alternating runs each`,
  );
  out.push(
    `  Kamal: median ${f(kMed)} s  (runs ${rows.kamal.map((r) => f(r.wall)).join(', ')}; load ${rows.kamal.map((r) => f(r.load)).join(', ')})`,
  );
  out.push(
    `  wharf: median ${f(wMed)} s  (runs ${rows.wharf.map((r) => f(r.wall)).join(', ')}; load ${rows.wharf.map((r) => f(r.load)).join(', ')})`,
  );
  out.push(`  ratio wharf/Kamal: ${f(wMed / kMed)}x (target <= 0.50x)`);
  const cpu = (tool, key) => median(rows[tool].map((r) => r[key]));
  out.push(
    `  CPU seconds per deploy (median): client Kamal ${f(cpu('kamal', 'clientCpu'))}, wharf ${f(cpu('wharf', 'clientCpu'))} (${f(cpu('wharf', 'clientCpu') / cpu('kamal', 'clientCpu'))}x); fleet servers Kamal ${f(cpu('kamal', 'serverCpu'))}, wharf ${f(cpu('wharf', 'serverCpu'))} (${f(cpu('wharf', 'serverCpu') / cpu('kamal', 'serverCpu'))}x)`,
  );
  out.push(
    `  SSH commands per deploy (both hosts): Kamal ${kamalCount.commands + kamalCount.uploads} (${kamalCount.commands} commands + ${kamalCount.uploads} uploads, each its own round trip); wharf ${wharfCount.roundTrips} round trips (${wharfCount.commands} commands shown by -v, some sent as one batch; uploads not shown)`,
    `  docker CLI runs those commands start: Kamal ${kamalCount.docker}, wharf ${wharfCount.docker}`,
  );
  for (const tool of ['wharf', 'kamal']) {
    const med = (key) => median(rows[tool].map((r) => r[key]));
    const medSum = (key) => median(rows[tool].map((r) => r.sums[key]));
    const name = tool === 'wharf' ? 'wharf' : 'Kamal';
    out.push(
      `  ${name} overhead (wall − pull − container start − health-checked swap, busiest host): median ${f(med('overhead'))} s${tool === 'wharf' ? ' (target < 1 s)' : ''}`,
    );
    out.push(
      `    unavoidable: pull ${f(medSum('pull'))} s, container start ${f(medSum('container start'))} s, health-checked swap ${f(medSum('health-checked swap'))} s; old container stop ${f(medSum('old container stop'))} s (counted as overhead)`,
    );
  }
  const phaseNames = rows.wharf[0]?.summary.phases?.map((p) => p.name) ?? [];
  out.push(
    `    wharf phases (median): ${phaseNames
      .map(
        (n) =>
          `${n.toLowerCase()} ${f(median(rows.wharf.map((r) => r.summary.phases.find((p) => p.name === n)?.seconds ?? 0)))}`,
      )
      .join(
        ', ',
      )}; in-process ${f(median(rows.wharf.map((r) => r.summary.seconds ?? 0)))} s of ${f(wMed)} s wall`,
  );
}

if (serverCount > 2) {
  const all = fleet.servers.map((s) => s.address);
  const pN = project('all', all);
  log(
    `Scale: wharf to all ${all.length} servers (warm-up, then ${values['scale-runs']} runs each, alternating with 2)…`,
  );
  if (values['scale-only']) {
    p2.next();
    wharf(p2.dir);
  }
  pN.next();
  wharf(pN.dir);
  const small = [];
  const large = [];
  for (let i = 0; i < Number(values['scale-runs']); i++) {
    small.push(wharfRun(p2));
    large.push(wharfRun(pN));
    log(
      `  run ${i + 1}: 2 servers ${f(small.at(-1).wall)} s, ${all.length} servers ${f(large.at(-1).wall)} s (load ${f(large.at(-1).load)})`,
    );
  }
  // Kamal's own 2 vs N on the same fleet: what the machine allows a tool that runs the same docker work.
  const kSmall = [];
  const kLarge = [];
  if (values['scale-kamal'] && !values['wharf-only']) {
    log(`Scale: Kamal to 2 and all ${all.length} servers (warm-up, then ${values['scale-runs']} runs each)…`);
    kamalRun(pN);
    for (let i = 0; i < Number(values['scale-runs']); i++) {
      kSmall.push(kamalRun(p2));
      kLarge.push(kamalRun(pN));
      log(
        `  Kamal run ${i + 1}: 2 servers ${f(kSmall.at(-1).wall)} s, ${all.length} servers ${f(kLarge.at(-1).wall)} s (load ${f(kLarge.at(-1).load)})`,
      );
    }
    // Leave wharf's containers current again for whatever runs next.
    pN.next();
    wharf(pN.dir);
  }
  const s = median(small.map((r) => r.wall));
  const l = median(large.map((r) => r.wall));
  if (kSmall.length > 0) {
    const ks = median(kSmall.map((r) => r.wall));
    const kl = median(kLarge.map((r) => r.wall));
    out.push(
      `Kamal scale: 2 servers ${f(ks)} s, ${all.length} servers ${f(kl)} s; ratio ${all.length}/2: ${f(kl / ks)}x; fleet-server CPU 2: ${f(median(kSmall.map((r) => r.serverCpu)))}, ${all.length}: ${f(median(kLarge.map((r) => r.serverCpu)))} s`,
    );
  }
  out.push(
    `wharf scale: 2 servers ${f(s)} s, ${all.length} servers ${f(l)} s (${median(large.map((r) => r.summary.roundTrips))} round trips); ratio ${all.length}/2: ${f(l / s)}x (target < 1.5x)`,
    `  runs 2: ${small.map((r) => f(r.wall)).join(', ')}; ${all.length}: ${large.map((r) => f(r.wall)).join(', ')}; load ${large.map((r) => f(r.load)).join(', ')}`,
    `  CPU seconds (median): client 2: ${f(median(small.map((r) => r.clientCpu)))}, ${all.length}: ${f(median(large.map((r) => r.clientCpu)))}; fleet servers 2: ${f(median(small.map((r) => r.serverCpu)))}, ${all.length}: ${f(median(large.map((r) => r.serverCpu)))}`,
  );
}

console.log(out.join('\n'));
if (!values.keep) rmSync(work, { recursive: true, force: true });
else log(`kept ${work}`);
