/**
 * End-to-end: the seed's stack (examples/heatwave) on a fresh 2-server fleet.
 * `wharf setup -d staging` boots the seven accessories and both roles; the app
 * answers through wharf-proxy, writes through HAProxy → pgbouncer → PostgreSQL,
 * uses each Valkey by role, and the worker mails through the SMTP sink. Then a
 * redeploy under load loses no request and no queued job, and rebooting the
 * postgres accessory keeps its data.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fleetUp, sshRun, wharf, type TestFleet } from '../support/fleet.js';
import {
  buildHeatwaveImages,
  call,
  eventually,
  heatwaveProject,
  startLoad,
  wharfAsync,
  type HeatwaveProject,
} from '../support/heatwave.js';

interface JobRow {
  id: string;
  sent_at: string | null;
  sent_by: string | null;
}

describe('examples/heatwave on the fleet', () => {
  let fleet: TestFleet;
  let project: HeatwaveProject;
  let db: string; // server 1: postgres, the valkeys, mailpit
  let app: string; // server 2: a web and the worker
  const run = (args: string[]) => wharf(args, { cwd: project.dir, env: project.env });
  const onDb = (command: string) => {
    const result = sshRun(fleet, db, command);
    assert.equal(result.code, 0, `${command}: ${result.stderr}`);
    return result.stdout.trim();
  };
  const psql = (query: string) =>
    onDb(`docker exec heatwave-postgres psql -U heatwave -d heatwave -qAtc ${JSON.stringify(query)}`);
  const mailpit = async (query: string) => {
    const reply = await fetch(`http://${db}:8025/api/v1/search?query=${encodeURIComponent(query)}`);
    return (await reply.json()) as {
      messages_count: number;
      messages: { ID: string; Subject: string; To: { Address: string }[] }[];
    };
  };

  before(async () => {
    // A fresh fleet: accessories left running by an earlier run would be skipped by setup.
    wharf(['fleet', 'down', '--name', 'heatwave']);
    fleet = fleetUp('heatwave', 2, 5686);
    db = fleet.servers[0]!.address;
    app = fleet.servers[1]!.address;
    const images = await buildHeatwaveImages(fleet);
    assert.deepEqual(Object.keys(images.images).sort(), [
      'haproxy',
      'mailpit',
      'pgbouncer',
      'postgres',
      'valkey',
    ]);
    project = heatwaveProject(fleet);
  });

  after(() => {
    fleet?.down();
  });

  test('setup -d staging brings up the accessories, the web and the worker', async () => {
    const result = run(['setup', '-d', 'staging']);
    assert.equal(result.code, 0, result.stderr);
    const output = result.stdout + result.stderr;
    for (const name of ['staging-pg-Pa55word', 'fake-secret-key-base'])
      assert.ok(!output.includes(name), 'a secret was printed');

    // Every accessory runs where the config places it; published ports are on the private address only.
    const onServer1 = onDb(`docker ps --format '{{.Names}} {{.Ports}}'`);
    for (const name of [
      'postgres',
      'valkey-cache',
      'valkey-sessions',
      'valkey-queue',
      'mailpit',
      'pgbouncer',
      'haproxy',
    ]) {
      assert.match(onServer1, new RegExp(`^heatwave-${name} `, 'm'));
    }
    const accessoryPorts = onServer1.split('\n').filter((line) => line.startsWith('heatwave-'));
    assert.ok(!accessoryPorts.some((line) => /0\.0\.0\.0:|\[::\]:/.test(line)), accessoryPorts.join('\n'));
    assert.match(
      onServer1,
      new RegExp(
        `heatwave-mailpit ${db.replace(/\./g, '\\.')}:1025->1025/tcp, ${db.replace(/\./g, '\\.')}:8025->8025/tcp`,
      ),
    );
    const onServer2 = sshRun(fleet, app, `docker ps --format '{{.Names}}'`).stdout;
    assert.match(onServer2, /^heatwave-pgbouncer$/m);
    assert.match(onServer2, /^heatwave-haproxy$/m);
    assert.match(onServer2, /^heatwave-worker-staging-/m);
    assert.equal(onDb('stat -c %a .kamal/apps/heatwave-staging/env/accessories/postgres.env'), '600');

    // The web answers on both servers; pre-build stamped the revision, post-deploy removed the stamp.
    for (const address of [db, app]) {
      const reply = await call(address, 'GET', '/');
      assert.equal(reply.status, 200, reply.body);
      const info = reply.json();
      assert.equal(info.environment, 'staging');
      assert.equal(info.revision, project.head());
      assert.equal(info.version, project.head());
    }
    assert.ok(!existsSync(join(project.dir, 'app/REVISION')), 'post-deploy should remove app/REVISION');
    assert.equal((await call(app, 'GET', '/up')).status, 200);
  });

  test('a write goes through HAProxy and pgbouncer into PostgreSQL', async () => {
    const reply = await call(app, 'POST', '/visits?path=/e2e-write');
    assert.equal(reply.status, 201, reply.body);
    const id = Number(reply.json().id);
    assert.equal(psql(`SELECT path FROM visits WHERE id = ${id}`), '/e2e-write');
    // The app's database host is the HAProxy write-VIP; HAProxy relayed to pgbouncer, which logged the app in.
    const web = sshRun(
      fleet,
      app,
      `docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' $(docker ps -q --filter label=service=heatwave --filter label=role=web)`,
    );
    assert.match(web.stdout, /^DATABASE_HOST=heatwave-haproxy$/m);
    assert.match(web.stdout, /^DATABASE_PORT=6433$/m);
    const haproxy = sshRun(fleet, app, 'docker logs heatwave-haproxy 2>&1');
    assert.match(haproxy.stdout, /postgres_write pgbouncer\/pgbouncer/);
    const pgbouncer = sshRun(fleet, app, 'docker logs heatwave-pgbouncer 2>&1');
    assert.match(pgbouncer.stdout, /login attempt: db=heatwave user=heatwave/);
  });

  test('each Valkey is used by its role, with its own eviction and persistence', async () => {
    const valkeys = (await call(db, 'GET', '/valkeys')).json<Record<string, Record<string, string>>>();
    assert.equal(valkeys.cache!.maxmemory_policy, 'allkeys-lru');
    assert.equal(valkeys.sessions!.maxmemory_policy, 'noeviction');
    assert.equal(valkeys.queue!.maxmemory_policy, 'noeviction');
    assert.equal(valkeys.queue!.appendonly, 'yes');
    assert.equal(valkeys.cache!.appendonly, 'no');

    const key = `k${Date.now()}`;
    assert.equal((await call(app, 'GET', `/cache/${key}`)).json().hit, false);
    assert.equal((await call(db, 'GET', `/cache/${key}`)).json().hit, true);
    assert.equal(onDb(`docker exec heatwave-valkey-cache valkey-cli EXISTS heatwave:cache:${key}`), '1');

    const session = await call(app, 'POST', '/sessions');
    assert.equal(session.status, 201);
    const me = await call(db, 'GET', '/sessions/me', { cookie: session.cookie! });
    assert.equal(me.status, 200, me.body);
    assert.equal(me.json().id, session.json().id);
    const id = String(session.json().id);
    assert.equal(onDb(`docker exec heatwave-valkey-sessions valkey-cli EXISTS heatwave:session:${id}`), '1');
    assert.equal(onDb(`docker exec heatwave-valkey-cache valkey-cli EXISTS heatwave:session:${id}`), '0');
  });

  test('the worker takes a queued job and the SMTP sink captures its mail', async () => {
    const reply = await call(db, 'POST', '/jobs?to=first@heatwave.test');
    assert.equal(reply.status, 202, reply.body);
    const id = String(reply.json().id);
    const job = await eventually('the job is sent', async () => {
      const row = (await call(db, 'GET', `/jobs/${id}`)).json<JobRow>();
      return row.sent_at ? row : undefined;
    });
    assert.ok(job.sent_by!.startsWith(`${app}-`), `sent by ${job.sent_by}, not the worker on ${app}`);
    const found = await mailpit(`subject:${id}`);
    assert.equal(found.messages_count, 1);
    assert.equal(found.messages[0]!.To[0]!.Address, 'first@heatwave.test');
    const full = await (await fetch(`http://${db}:8025/api/v1/message/${found.messages[0]!.ID}`)).json();
    assert.match((full as { Text: string }).Text, new RegExp(`job: ${id}`));
  });

  test('deploy -d staging under load: no failed request, no lost job, the worker quiet meanwhile', async () => {
    const version = project.commit('app/server.mjs', (t) => `${t}// redeploy\n`, 'redeploy');
    const load = startLoad([db, app]);
    let report;
    let result;
    try {
      result = await wharfAsync(['deploy', '-d', 'staging'], project.dir, project.env);
    } finally {
      report = await load.stop();
    }
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(report.failures, [], `${report.failures.length} of ${report.requests} requests failed`);
    assert.ok(report.requests > 200, `the load sent only ${report.requests} requests`);
    assert.ok(report.jobs.length > 20, `only ${report.jobs.length} jobs were enqueued`);
    for (const address of [db, app]) assert.equal((await call(address, 'GET', '/')).json().version, version);

    // Every job enqueued during the deploy is sent once the new worker resumes.
    const stats = await eventually(
      'the queue drains',
      async () => {
        const s = (await call(db, 'GET', '/jobs')).json<{
          queued: number;
          processing: number;
          quiet: string | null;
        }>();
        return s.queued === 0 && s.processing === 0 && s.quiet === null ? s : undefined;
      },
      60_000,
    );
    assert.equal(stats.quiet, null);
    const ids = report.jobs.map((id) => `'${id}'`).join(',');
    assert.equal(
      psql(`SELECT count(*) FROM mail_jobs WHERE id IN (${ids}) AND sent_at IS NOT NULL`),
      String(report.jobs.length),
    );
    const subjects = await (await fetch(`http://${db}:8025/api/v1/messages?limit=5000`)).json();
    const captured = new Set(
      (subjects as { messages: { Subject: string }[] }).messages.map((m) =>
        m.Subject.replace('Heatwave job ', ''),
      ),
    );
    const missing = report.jobs.filter((id) => !captured.has(id));
    assert.deepEqual(missing, [], 'every job enqueued during the deploy was mailed');

    // pre-deploy quieted the workers; the new worker started quiet and resumed after post-deploy.
    const logs = sshRun(
      fleet,
      app,
      `docker logs $(docker ps -q --filter label=service=heatwave --filter label=role=worker) 2>&1`,
    ).stdout;
    assert.match(logs, /quiet: taking no new jobs[\s\S]*resumed: taking jobs/);
    // Every write of the load is in PostgreSQL.
    assert.equal(
      psql(`SELECT count(*) FROM visits WHERE id IN (${report.visits.join(',')})`),
      String(report.visits.length),
    );
  });

  test('accessory remove postgres without -y in a non-interactive shell refuses and deletes nothing', () => {
    const result = run(['accessory', 'remove', 'postgres', '-d', 'staging']);
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /would delete .*heatwave-postgres\/data/);
    assert.match(result.stderr, /pass -y/);
    assert.equal(onDb(`docker inspect --format '{{.State.Running}}' heatwave-postgres`), 'true');
    assert.equal(onDb('test -s heatwave-postgres/data/data/PG_VERSION && echo kept'), 'kept');
  });

  test('accessory reboot postgres keeps the data', async () => {
    const before = Number(psql('SELECT count(*) FROM visits'));
    const marker = psql(
      "INSERT INTO visits (path, served_by, version) VALUES ('/before-reboot', 'e2e', 'e2e') RETURNING id",
    );
    const result = run(['accessory', 'reboot', 'postgres', '-d', 'staging']);
    assert.equal(result.code, 0, result.stderr);
    // A new container on the same data directory: the rows are there and the app writes again through the stack.
    const reply = await eventually('the app writes again', async () => {
      const r = await call(app, 'POST', '/visits?path=/after-reboot');
      return r.status === 201 ? r : undefined;
    });
    assert.equal(psql(`SELECT path FROM visits WHERE id = ${marker}`), '/before-reboot');
    assert.ok(Number(psql('SELECT count(*) FROM visits')) >= before + 2);
    assert.ok(Number(reply.json().id) > Number(marker));
  });
});
