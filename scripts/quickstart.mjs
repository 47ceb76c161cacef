#!/usr/bin/env node
// The main job: a real deploy of examples/hello to the local fleet, then a
// zero-downtime redeploy while a steady load runs, printing its success rate.
import { spawn, spawnSync } from 'node:child_process';
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wharfBin = join(root, 'packages/wharf/bin/wharf.js');
const example = join(root, 'examples/hello');
const servers = Number(process.env.WHARF_SERVERS ?? 2);
const rate = Number(process.env.WHARF_LOAD_RATE ?? 100);

function wharfSync(args, options = {}) {
  const result = spawnSync(process.execPath, [wharfBin, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    ...options,
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  return result.stdout;
}

function wharf(args, env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [wharfBin, ...args], { cwd: example, env, stdio: 'inherit' });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

console.log(`▶ wharf fleet up --servers ${servers}`);
const fleet = JSON.parse(wharfSync(['fleet', 'up', '--servers', String(servers), '--json']));
const env = {
  ...process.env,
  DOCKER_HOST: fleet.docker_host,
  WHARF_FLEET_REGISTRY: fleet.registry,
  WHARF_FLEET_SSH_KEY: fleet.ssh_key,
  ...Object.fromEntries(fleet.servers.map((s, i) => [`WHARF_FLEET_HOST_${i + 1}`, s.address])),
};
console.log(
  `  servers: ${fleet.servers.map((s) => `${s.name} ${s.address}`).join(', ')}; registry ${fleet.registry}`,
);

console.log('\n▶ wharf deploy (examples/hello)');
if ((await wharf(['deploy'], env)) !== 0) process.exit(1);
for (const s of fleet.servers) {
  const body = await new Promise((resolve, reject) => {
    get(`http://${s.address}/`, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  console.log(`  http://${s.address}/ → ${body.trim()}`);
}

console.log(`\n▶ wharf redeploy while ${rate} requests/s run against every server`);
const { startLoad } = await import(join(root, 'packages/proxy/dist/test/support/load.js'));
const load = startLoad({
  rate,
  requests: fleet.servers.flatMap((s) => [
    { name: `short ${s.name}`, url: `http://${s.address}/`, weight: 4 },
    { name: `slow ${s.name}`, url: `http://${s.address}/slow?ms=1000`, weight: 1, timeoutMs: 20000 },
  ]),
});
await new Promise((r) => setTimeout(r, 1000));
const code = await wharf(['redeploy'], env);
await new Promise((r) => setTimeout(r, 1000));
const report = await load.stop();
const sent = Object.values(report.requests).reduce((n, r) => n + r.sent, 0);
const ok = Object.values(report.requests).reduce((n, r) => n + r.ok, 0);
const rateText = sent === 0 ? 'n/a' : `${((100 * ok) / sent).toFixed(2)}%`;
console.log(
  `\nLoad during the redeploy: ${sent} requests, ${ok} succeeded, ${report.totalFailures} failed: success rate ${rateText}.`,
);
console.log(`Try it: curl http://${fleet.servers[0].address}/   Tear down: npx wharf fleet down`);
process.exit(code === 0 && report.totalFailures === 0 ? 0 : 1);
