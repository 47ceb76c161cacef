#!/usr/bin/env node
// Loading + validating the seed-shaped config (web + sidekiq, PG, pgbouncer,
// HAProxy, three Valkeys, mailpit, staging overlay) in-process.
// Run after `npm run build`: node bench/config/load-bench.mjs [iterations]
// Prints the median/p95 per load, and a baseline measured in the same run:
// parsing the same two YAML texts with the yaml package alone (the floor any
// loader pays). Target: a load under 150 ms.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { loadConfig, kamalConfigYaml } = await import(join(root, 'packages/wharf/dist/src/config/index.js'));
const fixture = join(root, 'packages/wharf/test/fixtures/config/seed-heatwave');
const iterations = Number(process.argv[2] ?? 200);

const texts = ['config/deploy.yml', 'config/deploy.staging.yml'].map((f) =>
  readFileSync(join(fixture, f), 'utf8').replace(/<%=?[^%]*%>/g, '100.123.47.52'),
);

function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)], min: s[0] };
}

async function measure(fn) {
  for (let i = 0; i < 20; i++) await fn(); // warm up
  const samples = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  return stats(samples);
}

const env = { PATH: process.env.PATH };
const load = () =>
  loadConfig({ cwd: fixture, destination: 'staging', version: 'abc1234', env, localArch: 'amd64' });
const first = performance.now();
const config = await load();
const cold = performance.now() - first;
kamalConfigYaml(config);

const baseline = await measure(() => texts.forEach((t) => parseDocument(t)));
const full = await measure(load);
const fmt = (n) => `${n.toFixed(2)} ms`;
console.log(
  `seed-shaped config (${config.roles.length} roles, ${config.accessories.length} accessories, staging overlay), ${iterations} iterations`,
);
console.log(`  first load (cold, includes module warm-up): ${fmt(cold)}`);
console.log(
  `  loadConfig + validate:  median ${fmt(full.median)}  p95 ${fmt(full.p95)}  min ${fmt(full.min)}`,
);
console.log(`  baseline yaml.parseDocument of the same texts: median ${fmt(baseline.median)}`);
console.log(`  ratio to baseline: ${(full.median / baseline.median).toFixed(1)}x`);
console.log(`  target < 150 ms: ${full.p95 < 150 ? 'met' : 'NOT met'} (p95)`);
