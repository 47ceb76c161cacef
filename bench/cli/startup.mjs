#!/usr/bin/env node
// Start-up time of the `wharf` command, measured side by side with `node -e ''` in one run.
//
//   node bench/cli/startup.mjs [--runs 10] [--bin packages/wharf/bin/wharf.js] [--compare OTHER/bin/wharf.js]
//
// --compare adds the same wharf cases run with another build (e.g. a copy of an
// older dist/ with a node_modules symlink next to it), interleaved in the same rounds.
// Each round runs every case once, in the same order, so a busy machine slows
// all of them alike; the report gives the median wall time of each case, its
// median CPU time (user+sys, from /usr/bin/time when present), the ratio to
// the bare `node -e ''` and wharf's own share (median minus the node median).
// `config` runs in examples/hello with the WHARF_FLEET_* variables set to
// dummies (it reads and validates config/deploy.yml but connects nowhere).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '10' },
    bin: { type: 'string', default: join(root, 'packages/wharf/bin/wharf.js') },
    compare: { type: 'string' },
  },
});
const runs = Number(values.runs);
const bin = resolve(values.bin);
const timeBin = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;
const hello = join(root, 'examples/hello');
const fleetEnv = {
  ...process.env,
  WHARF_FLEET_HOST_1: '127.0.0.1',
  WHARF_FLEET_HOST_2: '127.0.0.2',
  WHARF_FLEET_REGISTRY: 'localhost:5999',
  WHARF_FLEET_SSH_KEY: '/nonexistent/id_ed25519',
};

/** name, argv after node, cwd, env, the exit status it is expected to end with. */
const wharfCases = (bin, label) =>
  [
    // Kamal's --version is the global "run against this app version" option: without a value it is a usage error (status 1), as in Kamal.
    { name: 'wharf --version', args: [bin, '--version'], status: 1 },
    { name: 'wharf version', args: [bin, 'version'], status: 0 },
    { name: 'wharf --help', args: [bin, '--help'], status: 0 },
    { name: 'wharf app --help', args: [bin, 'app', '--help'], status: 0 },
    { name: 'wharf config', args: [bin, 'config'], cwd: hello, env: fleetEnv, status: 0 },
  ].map((c) => ({ ...c, name: `${c.name}${label}` }));
const cases = [
  { name: "node -e ''", args: ['-e', ''], status: 0 },
  ...wharfCases(bin, ''),
  ...(values.compare ? wharfCases(resolve(values.compare), ' (cmp)') : []),
];

const scratch = mkdtempSync(join(tmpdir(), 'wharf-startup-'));
const timeFile = join(scratch, 'time');

function runOnce(c) {
  const argv = timeBin
    ? [timeBin, ['-o', timeFile, '-f', '%U %S', process.execPath, ...c.args]]
    : [process.execPath, c.args];
  const started = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv[1], { cwd: c.cwd ?? root, env: c.env ?? process.env, encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== c.status)
    throw new Error(`${c.name} ended with status ${r.status}, expected ${c.status}: ${r.stderr}`);
  let cpu = NaN;
  if (timeBin) {
    const [user, sys] = readFileSync(timeFile, 'utf8').trim().split(/\s+/).slice(-2).map(Number);
    cpu = (user + sys) * 1000;
  }
  return { wall, cpu };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const samples = new Map(cases.map((c) => [c.name, { wall: [], cpu: [] }]));
for (const c of cases) runOnce(c); // warm the file cache
for (let i = 0; i < runs; i++) {
  for (const c of cases) {
    const { wall, cpu } = runOnce(c);
    samples.get(c.name).wall.push(wall);
    samples.get(c.name).cpu.push(cpu);
  }
}
rmSync(scratch, { recursive: true, force: true });

const base = samples.get(cases[0].name);
const baseWall = median(base.wall);
const baseCpu = median(base.cpu);
const pad = (s, n) => String(s).padEnd(n);
const num = (x) => (Number.isFinite(x) ? x.toFixed(0) : '-');
console.log(`${runs} rounds, median per case (ms); ratio = case / node -e ''; own = case - node -e ''`);
console.log(
  `${pad('case', 26)}${pad('wall', 8)}${pad('ratio', 8)}${pad('own', 8)}${pad('cpu', 8)}${pad('ratio', 8)}own cpu`,
);
for (const c of cases) {
  const s = samples.get(c.name);
  const wall = median(s.wall);
  const cpu = median(s.cpu);
  console.log(
    `${pad(c.name, 26)}${pad(num(wall), 8)}${pad((wall / baseWall).toFixed(2) + 'x', 8)}${pad(num(wall - baseWall), 8)}` +
      `${pad(num(cpu), 8)}${pad(Number.isFinite(cpu) ? (cpu / baseCpu).toFixed(2) + 'x' : '-', 8)}${num(cpu - baseCpu)}`,
  );
}
