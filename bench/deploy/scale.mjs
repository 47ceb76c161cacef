#!/usr/bin/env node
// Deploy time on 2 vs N fleet servers, measured side by side in one run.
//
//   node bench/deploy/scale.mjs [--servers 10] [--runs 3] [--fleet benchscale] [--port 5696]
//
// Brings up a fleet of N servers, copies examples/hello into a temp git repo
// with a config listing the first 2 (then all N) servers, deploys once to
// warm up, then times `wharf deploy` of a new commit --runs times for each
// size and prints medians, phase times, SSH round trips and the N/2 ratio.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = join(root, 'packages/wharf/bin/wharf.js');
const { values } = parseArgs({
  options: {
    servers: { type: 'string', default: '10' },
    runs: { type: 'string', default: '3' },
    fleet: { type: 'string', default: 'benchscale' },
    port: { type: 'string', default: '5696' },
  },
});
const n = Number(values.servers);
const runs = Number(values.runs);

function wharf(args, options = {}) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`wharf ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

const fleet = JSON.parse(
  wharf([
    'fleet',
    'up',
    '--name',
    values.fleet,
    '--servers',
    String(n),
    '--registry-port',
    values.port,
    '--json',
  ]),
);

function project(hosts) {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  cpSync(join(root, 'examples/hello'), dir, { recursive: true });
  const config = readFileSync(join(dir, 'config/deploy.yml'), 'utf8').replace(
    /servers:\n  web:\n(    - .*\n)+/,
    `servers:\n  web:\n${hosts.map((h) => `    - ${h}\n`).join('')}`,
  );
  writeFileSync(join(dir, 'config/deploy.yml'), config);
  const git = (...a) => execFileSync('git', a, { cwd: dir });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.email=bench@wharf.invalid', '-c', 'user.name=bench', 'commit', '-q', '-m', 'bench');
  return {
    dir,
    commit: (i) => {
      writeFileSync(join(dir, 'server.mjs'), `${readFileSync(join(dir, 'server.mjs'), 'utf8')}// ${i}\n`);
      git('-c', 'user.email=bench@wharf.invalid', '-c', 'user.name=bench', 'commit', '-q', '-am', String(i));
    },
  };
}

const env = {
  ...process.env,
  DOCKER_HOST: fleet.docker_host,
  WHARF_FLEET_REGISTRY: fleet.registry,
  WHARF_FLEET_SSH_KEY: fleet.ssh_key,
};
function measure(hosts) {
  const p = project(hosts);
  wharf(['deploy', '-q'], { cwd: p.dir, env }); // warm-up: image build cache, proxy boot
  const results = [];
  for (let i = 0; i < runs; i++) {
    p.commit(i);
    const t0 = Date.now();
    const out = wharf(['deploy', '--json'], { cwd: p.dir, env });
    const wall = (Date.now() - t0) / 1000;
    const summary = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((e) => e.event === 'summary');
    results.push({ wall, ...summary });
  }
  results.sort((a, b) => a.wall - b.wall);
  return results[Math.floor(results.length / 2)];
}

const small = measure(fleet.servers.slice(0, 2).map((s) => s.address));
const large = measure(fleet.servers.map((s) => s.address));
const phases = (r) => r.phases.map((p) => `${p.name} ${p.seconds.toFixed(2)}`).join(', ');
console.log(
  `2 servers:  wall ${small.wall.toFixed(2)} s (in-process ${small.seconds.toFixed(2)} s; ${phases(small)}; ${small.roundTrips} SSH round trips)`,
);
console.log(
  `${n} servers: wall ${large.wall.toFixed(2)} s (in-process ${large.seconds.toFixed(2)} s; ${phases(large)}; ${large.roundTrips} SSH round trips)`,
);
console.log(`ratio ${n}/2: ${(large.wall / small.wall).toFixed(2)}x (target < 1.5x)`);
