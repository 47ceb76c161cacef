/**
 * End-to-end fault injection (issue 5, "Faults"): on a 2-server fleet with
 * traffic flowing through wharf-proxy the whole time, a deploy meets a
 * dropped SSH connection, a SIGKILL, a registry that is down, a server that
 * is down and a deploy lock held by another deploy. In each the service keeps
 * answering (0 failed requests), the error is one sentence naming the host or
 * registry, the lock is left only where wharf was killed, and the next
 * `wharf deploy` succeeds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { appProject, type AppProject } from '../support/app-project.js';
import { fleetUp, type TestFleet } from '../support/fleet.js';
import {
  dropSshConnections,
  getFrom,
  fleetDocker,
  lockDirectoryExists,
  proxyDeployRunning,
  runningAppContainers,
  startTraffic,
  startWharf,
  waitFor,
  wharfAsync,
  withStartDelay,
  type Traffic,
} from '../support/faults.js';

const SERVICE = 'hello';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe('deploy faults on the fleet, traffic flowing', () => {
  let fleet: TestFleet;
  let app: AppProject;
  let primary: TestFleet['servers'][number];
  let other: TestFleet['servers'][number];
  const run = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    wharfAsync(args, app.dir, { ...app.env, ...env });

  async function servedVersions(): Promise<string[]> {
    return Promise.all(
      fleet.servers.map(async (s) => JSON.parse((await getFrom(s.address)).body).version as string),
    );
  }

  /** Runs `fn` under a steady load on `addresses`; asserts not one request failed. */
  async function underTraffic<T>(addresses: string[], fn: () => Promise<T>): Promise<T> {
    const traffic: Traffic = await startTraffic(addresses, { rate: 50, slowMs: 1000 });
    let value: T;
    let counts;
    try {
      await waitFor('the first requests', () => traffic.progress().sent >= 20, 10_000);
      value = await fn();
    } finally {
      counts = await traffic.stop();
    }
    assert.equal(counts.failures, 0, counts.report);
    assert.ok(counts.ok > 50, `only ${counts.ok} requests were answered:\n${counts.report}`);
    return value;
  }

  before(async () => {
    fleet = fleetUp('faults', 2, 5680);
    primary = fleet.servers[0]!;
    other = fleet.servers[1]!;
    app = appProject(fleet);
    const first = await run(['deploy', '-q']);
    assert.equal(first.code, 0, first.stderr);
  });

  after(() => {
    // A failed test may have left a fault behind: undo them before taking the fleet down.
    fleetDocker(fleet, ['start', `${fleet.name}-registry`, other.name]);
    fleet?.down();
    if (app) rmSync(app.dir, { recursive: true, force: true });
  });

  test('an SSH connection dropped during the boot: one sentence naming the host, no lock left, the rerun succeeds', async () => {
    await underTraffic(
      fleet.servers.map((s) => s.address),
      async () => {
        // The new version listens 3 s after it starts, so the handoff to wharf-proxy lasts that long.
        const version = app.commit('server.mjs', withStartDelay(3000), 'listen after 3 s');
        const deploy = startWharf(['deploy'], app.dir, app.env);
        await waitFor(
          `container ${version} on ${primary.name}`,
          async () =>
            (await runningAppContainers(fleet, primary.name, SERVICE)).some((c) => c.endsWith(version)),
          120_000,
          200,
        );
        await new Promise((r) => setTimeout(r, 1000));
        const killed = await dropSshConnections(fleet, primary.name);
        const result = await deploy.done;
        assert.ok(killed >= 1, 'no SSH session to drop');
        assert.notEqual(result.code, 0, result.stdout);
        const host = escape(primary.address);
        // Progress goes to stderr too; the error is the one line wharf prints as an error.
        const errors = result.stderr.split('\n').filter((l) => l.startsWith('wharf: '));
        assert.equal(errors.length, 1, result.stderr);
        assert.match(
          errors[0]!,
          new RegExp(
            `^wharf: The SSH connection to ${host} dropped during [^\\n]+, so wharf ran nothing more on ${host} and the version wharf-proxy serves there keeps serving; check that ${host} is reachable over SSH and run \`wharf deploy\` again\\.$`,
          ),
        );
        // The primary host also keeps the lock: it was released over a new connection.
        assert.equal(await lockDirectoryExists(fleet, primary.name, SERVICE), false);
        const rerun = await run(['deploy', '-q']);
        assert.equal(rerun.code, 0, rerun.stderr);
        assert.deepEqual(await servedVersions(), [version, version]);
        // Exactly one container of the service runs on each server afterwards.
        for (const s of fleet.servers) {
          const running = await runningAppContainers(fleet, s.name, SERVICE);
          assert.equal(running.length, 1, `${s.name}: ${running.join(', ')}`);
        }
      },
    );
  });

  test('wharf killed (SIGKILL) during the boot: the lock stays and says who and when; release, then deploy', async () => {
    await underTraffic(
      fleet.servers.map((s) => s.address),
      async () => {
        // The new version listens 8 s after it starts, and wharf is killed during its handoff: the
        // proxy deploy the killed wharf began goes on in wharf-proxy while the commands below run,
        // so the rerun meets a deploy still in flight.
        const version = app.commit('server.mjs', withStartDelay(8000), 'killed deploy, listen after 8 s');
        const deploy = startWharf(['deploy'], app.dir, app.env);
        await waitFor(
          `the handoff of ${version} on ${primary.name}`,
          () => proxyDeployRunning(fleet, primary.name, `${SERVICE}-web`),
          120_000,
          100,
        );
        assert.ok(
          (await runningAppContainers(fleet, primary.name, SERVICE)).some((c) => c.endsWith(version)),
        );
        deploy.child.kill('SIGKILL');
        const killed = await deploy.done;
        assert.equal(killed.signal, 'SIGKILL');

        const status = await run(['lock', 'status']);
        assert.equal(status.code, 0, status.stderr);
        assert.match(
          status.stdout,
          new RegExp(
            `^Locked by: wharf test at \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d[^\\n]*\\nVersion: ${version}\\nMessage: Automatic deploy lock\\n$`,
          ),
        );
        const refused = await run(['deploy', '-q', '-P']);
        assert.notEqual(refused.code, 0);
        assert.match(
          refused.stderr,
          new RegExp(
            `^wharf: The deploy lock on ${escape(primary.address)} is held \\(Locked by: wharf test at [^;]+; Version: ${version}; Message: Automatic deploy lock\\); [^\\n]*run \`wharf lock release\`[^\\n]*\\.\\n$`,
          ),
        );
        const release = await run(['lock', 'release']);
        assert.equal(release.code, 0, release.stderr);
        assert.match(release.stdout, /^Released the deploy lock\n$/);

        const deployed = await run(['deploy', '-q', '-P']);
        assert.equal(deployed.code, 0, deployed.stderr);
        assert.deepEqual(await servedVersions(), [version, version]);
        assert.equal(await lockDirectoryExists(fleet, primary.name, SERVICE), false);
        // Whatever the killed deploy had started is cleaned up: one container runs per server.
        for (const s of fleet.servers) {
          const running = await runningAppContainers(fleet, s.name, SERVICE);
          assert.equal(running.length, 1, `${s.name}: ${running.join(', ')}`);
        }
      },
    );
  });

  test('the registry is down: push and pull fail naming the registry, before any container is touched', async () => {
    const registry = `${fleet.name}-registry`;
    await underTraffic(
      fleet.servers.map((s) => s.address),
      async () => {
        const served = await servedVersions();
        const containers = await Promise.all(
          fleet.servers.map((s) => runningAppContainers(fleet, s.name, SERVICE)),
        );
        // Back to a version that starts at once (the rest of the file needs no slow start).
        const version = app.commit('server.mjs', withStartDelay(0), 'listen at once');
        assert.equal(fleetDocker(fleet, ['stop', registry]).code, 0);
        try {
          const push = await run(['deploy', '-q']);
          assert.notEqual(push.code, 0);
          assert.match(push.stderr, /^wharf: [^\n]*(localhost|127\.0\.0\.1):5680[^\n]*\.\n$/);
          assert.match(push.stderr, /registry/i);

          const pull = await run(['deploy', '-q', '-P']);
          assert.notEqual(pull.code, 0);
          assert.equal(
            pull.stderr,
            `wharf: The registry localhost:5680 (registry.server in config/deploy.yml) does not answer on 127.0.0.1:5680, so the servers cannot pull localhost:5680/hello:${version} and nothing was changed on them; start that registry (or correct registry.server) and run the command again.\n`,
          );
          assert.deepEqual(
            await Promise.all(fleet.servers.map((s) => runningAppContainers(fleet, s.name, SERVICE))),
            containers,
          );
          assert.deepEqual(await servedVersions(), served);
          assert.equal(await lockDirectoryExists(fleet, primary.name, SERVICE), false);
        } finally {
          fleetDocker(fleet, ['start', registry]);
        }
        await waitFor(
          'the registry',
          async () => (await fetch('http://127.0.0.1:5680/v2/').catch(() => undefined))?.ok === true,
          30_000,
          200,
        );
        const deployed = await run(['deploy', '-q']);
        assert.equal(deployed.code, 0, deployed.stderr);
        assert.deepEqual(await servedVersions(), [version, version]);
      },
    );
  });

  test('a server is down at the start: the deploy fails at connect naming it, the live server is untouched', async () => {
    const version = app.head();
    const before = await runningAppContainers(fleet, primary.name, SERVICE);
    await underTraffic([primary.address], async () => {
      assert.equal(fleetDocker(fleet, ['stop', '--time', '2', other.name]).code, 0);
      try {
        const result = await run(['deploy', '-q', '-P']);
        assert.notEqual(result.code, 0);
        assert.match(
          result.stderr,
          new RegExp(
            `^wharf: Cannot connect to ${escape(other.address)} during connect: (no route to the host|no answer within [\\d.]+ s|the connection was refused)[^\\n]*\\.\\n$`,
          ),
        );
        // Kamal fails the whole command at connect time: nothing changed on the live server either.
        assert.deepEqual(await runningAppContainers(fleet, primary.name, SERVICE), before);
        assert.equal(JSON.parse((await getFrom(primary.address)).body).version, version);
        assert.equal(await lockDirectoryExists(fleet, primary.name, SERVICE), false);
      } finally {
        fleetDocker(fleet, ['start', other.name]);
      }
      // The server comes back with its engine, wharf-proxy and app container (restart unless-stopped).
      await waitFor(
        `${other.name} serving again`,
        async () => (await getFrom(other.address, '/', 5000).catch(() => undefined))?.status === 200,
        90_000,
        500,
      );
    });
    await underTraffic(
      fleet.servers.map((s) => s.address),
      async () => {
        const next = app.commit('server.mjs', (t) => `${t}// after the outage\n`, 'after the outage');
        const deployed = await run(['deploy', '-q']);
        assert.equal(deployed.code, 0, deployed.stderr);
        assert.deepEqual(await servedVersions(), [next, next]);
      },
    );
  });

  test('a held lock: a second deploy fails at once naming the holder; with --lock-wait it waits and then deploys', async () => {
    const hooks = join(app.dir, '.kamal', 'hooks');
    const hold = join(app.dir, 'hold-the-lock');
    mkdirSync(hooks, { recursive: true });
    // Keeps a deploy inside the lock (pre-deploy runs right after the lock is taken) while FAULTS_HOLD exists.
    writeFileSync(
      join(hooks, 'pre-deploy'),
      '#!/bin/sh\nwhile [ -n "$FAULTS_HOLD" ] && [ -e "$FAULTS_HOLD" ]; do sleep 0.2; done\n',
      { mode: 0o755 },
    );
    writeFileSync(hold, '');
    try {
      await underTraffic(
        fleet.servers.map((s) => s.address),
        async () => {
          const version = app.head();
          const first = startWharf(['deploy', '-q', '-P'], app.dir, { ...app.env, FAULTS_HOLD: hold });
          await waitFor(
            'the first deploy to take the lock',
            () => lockDirectoryExists(fleet, primary.name, SERVICE),
            120_000,
          );

          const refused = await run(['deploy', '-q', '-P']);
          assert.notEqual(refused.code, 0);
          assert.match(
            refused.stderr,
            new RegExp(
              `^wharf: The deploy lock on ${escape(primary.address)} is held \\(Locked by: wharf test at [^;]+; Version: ${version}; Message: Automatic deploy lock\\); wait for that deploy, retry with --lock-wait, or run \`wharf lock release\` if it is stale\\.\\n$`,
            ),
          );
          assert.equal(first.child.exitCode, null, 'the refusal came while the first deploy still ran');

          const waiting = startWharf(
            ['deploy', '-P', '--lock-wait', '--lock-wait-interval', '1', '--lock-wait-timeout', '120'],
            app.dir,
            app.env,
          );
          const waits = new RegExp(`Waiting for the deploy lock on ${escape(primary.address)}`);
          await waitFor(
            'the second deploy to wait for the lock',
            () => waits.test(waiting.output()),
            120_000,
          );
          assert.equal(first.child.exitCode, null);
          rmSync(hold);
          const [a, b] = await Promise.all([first.done, waiting.done]);
          assert.equal(a.code, 0, a.stderr);
          assert.equal(b.code, 0, b.stderr);
          assert.match(b.stdout, new RegExp(`^Deployed ${version} to `, 'm'));
          assert.ok(b.endedAt >= a.endedAt, 'the waiting deploy finished after the one holding the lock');
          assert.deepEqual(await servedVersions(), [version, version]);
          assert.equal(await lockDirectoryExists(fleet, primary.name, SERVICE), false);
        },
      );
    } finally {
      rmSync(hold, { force: true });
      rmSync(join(hooks, 'pre-deploy'), { force: true });
    }
  });

  test('a manual lock: --lock-wait gives up at once (as Kamal), status shows the message, release frees it', async () => {
    const acquire = await run(['lock', 'acquire', '-m', 'database migration']);
    assert.equal(acquire.code, 0, acquire.stderr);
    try {
      const status = await run(['lock', 'status']);
      assert.match(
        status.stdout,
        /^Locked by: wharf test at \d{4}-[^\n]+\nVersion: [0-9a-f]{40}\nMessage: database migration\n$/,
      );
      const waiting = await run(['deploy', '-q', '-P', '--lock-wait', '--lock-wait-interval', '1']);
      assert.notEqual(waiting.code, 0);
      assert.match(
        waiting.stderr,
        new RegExp(
          `^wharf: The deploy lock on ${escape(primary.address)} is held \\(Locked by: wharf test at [^;]+; Version: [0-9a-f]{40}; Message: database migration\\); [^\\n]*\`wharf lock release\`[^\\n]*\\.\\n$`,
        ),
      );
    } finally {
      const release = await run(['lock', 'release']);
      assert.equal(release.code, 0, release.stderr);
    }
    assert.equal((await run(['lock', 'status'])).stdout, 'There is no deploy lock\n');
  });
});
