/**
 * End-to-end (issue 5, "Zero downtime"): 30 consecutive `wharf deploy` runs
 * on a 2-server fleet under a steady load through wharf-proxy, alternating
 * between two commits so that every run really swaps containers: not one
 * request may fail. The images are built and pushed once; the 30 runs are
 * `wharf deploy -P` (pull only), so the time goes to the rollouts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { appProject, type AppProject } from '../support/app-project.js';
import { fleetUp, type TestFleet } from '../support/fleet.js';
import { getFrom, runningAppContainers, startTraffic, wharfAsync } from '../support/faults.js';

const DEPLOYS = 30;

describe('30 deploys under load', () => {
  let fleet: TestFleet;
  let app: AppProject;
  const versions: string[] = [];
  const run = (args: string[]) => wharfAsync(args, app.dir, app.env);
  const checkout = (sha: string) => execFileSync('git', ['checkout', '-q', sha], { cwd: app.dir });

  before(async () => {
    fleet = fleetUp('zdt30', 2, 5681);
    app = appProject(fleet);
    // Two commits, each built and pushed once by a normal deploy.
    versions.push(app.head());
    const first = await run(['deploy', '-q']);
    assert.equal(first.code, 0, first.stderr);
    versions.push(app.commit('server.mjs', (t) => `${t}// second version\n`, 'second version'));
    const second = await run(['deploy', '-q']);
    assert.equal(second.code, 0, second.stderr);
  });

  after(() => {
    fleet?.down();
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  test(`${DEPLOYS} consecutive deploys, alternating two versions, lose no request`, async (t) => {
    const traffic = await startTraffic(
      fleet.servers.map((s) => s.address),
      { rate: 80, slowMs: 1000 },
    );
    const started = Date.now();
    const seconds: number[] = [];
    const problems: string[] = [];
    let previous = await runningAppContainers(fleet, fleet.servers[0]!.name, 'hello');
    let counts;
    try {
      for (let i = 0; i < DEPLOYS && problems.length === 0; i++) {
        // The second version runs now, so the first deploy goes back to the first one.
        const version = versions[i % 2]!;
        checkout(version);
        const began = Date.now();
        const result = await run(['deploy', '-q', '-P']);
        seconds.push((Date.now() - began) / 1000);
        console.log(
          `deploy ${i + 1}/${DEPLOYS} of ${version.slice(0, 7)}: exit ${result.code} in ${seconds.at(-1)!.toFixed(1)} s`,
        );
        if (result.code !== 0) {
          problems.push(`deploy ${i + 1} of ${version}: ${result.stderr}`);
          break;
        }
        for (const server of fleet.servers) {
          const served = await getFrom(server.address).then(
            (r) => (JSON.parse(r.body) as { version: string }).version,
            (error: Error) =>
              `nothing (${error.message}: ${String((error.cause as Error | undefined)?.message ?? '')})`,
          );
          if (served !== version)
            problems.push(`deploy ${i + 1}: ${server.address} serves ${served}, not ${version}`);
        }
        // A new container took over (its id differs from the one before).
        const now = await runningAppContainers(fleet, fleet.servers[0]!.name, 'hello');
        if (now.length !== 1 || now[0]!.split(' ')[0] === previous[0]?.split(' ')[0])
          problems.push(
            `deploy ${i + 1}: running on ${fleet.servers[0]!.name} before ${previous.join(', ')}, after ${now.join(', ')}`,
          );
        previous = now;
      }
    } finally {
      counts = await traffic.stop();
    }
    const total = (Date.now() - started) / 1000;
    const summary = `${seconds.length} deploys in ${total.toFixed(1)} s (each ${Math.min(...seconds).toFixed(1)}-${Math.max(...seconds).toFixed(1)} s); ${counts.sent} requests, ${counts.ok} ok, ${counts.failures} failed`;
    t.diagnostic(summary);
    console.log(`zero-downtime-30: ${summary}\n${counts.report}`);
    assert.deepEqual(problems, []);
    assert.equal(seconds.length, DEPLOYS);
    assert.equal(counts.failures, 0, counts.report);
    // Every deploy swapped containers: one container of the service runs per server, the last version.
    for (const server of fleet.servers) {
      const running = await runningAppContainers(fleet, server.name, 'hello');
      assert.equal(running.length, 1, `${server.name}: ${running.join(', ')}`);
      assert.ok(running[0]!.endsWith(versions[(DEPLOYS - 1) % 2]!), running[0]);
    }
  });
});
