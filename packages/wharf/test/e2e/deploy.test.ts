/**
 * End-to-end: `wharf deploy` of examples/hello to a 2-server fleet, with real
 * traffic through wharf-proxy: first deploy, zero-downtime redeploys under
 * load, a version that never becomes healthy, rollback, and a held lock.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appProject, httpGet, type AppProject } from '../support/app-project.js';
import { fleetUp, sshRun, wharf, wharfAsync, type TestFleet } from '../support/fleet.js';

/** The load generator of the proxy's tests (compiled beside this package). */
async function loadGenerator(): Promise<{
  startLoad: (o: unknown) => {
    stop(): Promise<{ totalFailures: number; requests: Record<string, { sent: number; ok: number }> }>;
  };
  formatReport: (r: unknown) => string;
}> {
  return import(new URL('../../../../proxy/dist/test/support/load.js', import.meta.url).href);
}

describe('wharf deploy on the fleet', () => {
  let fleet: TestFleet;
  let app: AppProject;
  const run = (args: string[]) => wharf(args, { cwd: app.dir, env: app.env });

  before(() => {
    fleet = fleetUp('deploytest', 2, 5670);
    app = appProject(fleet);
  });

  after(() => {
    fleet?.down();
  });

  test('first deploy: every server answers through wharf-proxy with the new version', async () => {
    const result = run(['deploy']);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, new RegExp(`^Deployed ${app.head()} to `));
    for (const server of fleet.servers) {
      const response = await httpGet(server.address, '/');
      assert.equal(response.status, 200);
      assert.equal(JSON.parse(response.body).version, app.head());
    }
    // The env file on the server is 0600; the container runs with Kamal's name and labels.
    const check = sshRun(
      fleet,
      fleet.servers[0]!.address,
      `stat -c %a .kamal/apps/hello/env/roles/web.env && docker ps --filter label=service=hello --filter label=role=web --format '{{.Names}}'`,
    );
    assert.equal(check.code, 0, check.stderr);
    assert.match(check.stdout, /^600\nhello-web-[0-9a-f]{40}\n$/);
  });

  test('redeploys under a steady load lose no request', async () => {
    const { startLoad, formatReport } = await loadGenerator();
    const load = startLoad({
      rate: 100,
      requests: fleet.servers.flatMap((s) => [
        { name: `short ${s.name}`, url: `http://${s.address}/`, weight: 4 },
        { name: `slow ${s.name}`, url: `http://${s.address}/slow?ms=1500`, weight: 1, timeoutMs: 20_000 },
      ]),
    });
    const versions: string[] = [];
    let report;
    try {
      for (let i = 0; i < 2; i++) {
        versions.push(app.commit('server.mjs', (t) => `${t}// rev ${i}\n`, `rev ${i}`));
        const result = await wharfAsync(['deploy', '-q'], app.dir, app.env);
        assert.equal(result.code, 0, result.stderr);
      }
    } finally {
      report = await load.stop();
    }
    assert.equal(report.totalFailures, 0, formatReport(report));
    const sent = Object.values(report.requests).reduce((n, r) => n + r.sent, 0);
    assert.ok(sent > 100, `the load sent ${sent} requests`);
    for (const server of fleet.servers) {
      assert.equal(JSON.parse((await httpGet(server.address)).body).version, versions.at(-1));
    }
  });

  test('a version that never becomes healthy leaves the old one serving and says why', async () => {
    const good = app.head();
    app.commit(
      'server.mjs',
      (t) =>
        t.replace(
          "res.writeHead(200, { 'content-type': 'text/plain' });\n    return res.end('ok\\n');",
          "res.writeHead(503);\n    return res.end('broken\\n');",
        ),
      'broken /up',
    );
    const result = run(['deploy', '-q']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /never became healthy/);
    assert.match(result.stderr, /previous version keeps serving/);
    assert.match(result.stderr, /503/);
    for (const server of fleet.servers) {
      assert.equal(JSON.parse((await httpGet(server.address)).body).version, good);
    }
    // The failed container is stopped; no lock is left behind.
    const running = sshRun(
      fleet,
      fleet.servers[0]!.address,
      `docker ps --filter label=service=hello --format '{{.Names}}'; ls .kamal`,
    );
    assert.doesNotMatch(running.stdout, new RegExp(app.head()));
    const all = sshRun(
      fleet,
      fleet.servers[0]!.address,
      `docker ps -a --filter label=service=hello --format '{{.Names}}'`,
    );
    assert.match(all.stdout, new RegExp(`hello-web-${app.head()}_failed_[0-9a-f]{16}`));
    assert.doesNotMatch(running.stdout, /lock-hello/);
  });

  test('rollback with no version returns to the previous one', async () => {
    const before = JSON.parse((await httpGet(fleet.servers[0]!.address)).body).version as string;
    const result = run(['rollback', '-q']);
    assert.equal(result.code, 0, result.stderr);
    const after = JSON.parse((await httpGet(fleet.servers[0]!.address)).body).version as string;
    assert.notEqual(after, before);
    const explicit = run(['rollback', '-q', before]);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.equal(JSON.parse((await httpGet(fleet.servers[1]!.address)).body).version, before);
  });

  test('a held deploy lock stops the deploy with one sentence naming the holder', () => {
    const primary = fleet.servers[0]!.address;
    const details = Buffer.from(
      'Locked by: someone at 2026-11-26T00:00:00Z\nVersion: x\nMessage: maintenance',
    ).toString('base64');
    assert.equal(
      sshRun(fleet, primary, `mkdir -p .kamal/lock-hello && echo ${details} > .kamal/lock-hello/details`)
        .code,
      0,
    );
    try {
      const result = run(['deploy', '-q', '-P']);
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        new RegExp(
          `^wharf: The deploy lock on ${primary.replace(/\./g, '\\.')} is held \\(Locked by: someone .*Message: maintenance\\)`,
        ),
      );
    } finally {
      sshRun(fleet, primary, 'rm -rf .kamal/lock-hello');
    }
  });
});
