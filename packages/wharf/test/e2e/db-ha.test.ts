/**
 * End-to-end: the HA Postgres tier (`wharf db`) on a 2-server fleet with a
 * writer inserting continuously through the HAProxy write VIP (a container on
 * the second server, like an app that is never redeployed): setup, two
 * switchovers (there and back), then a failover with the primary's whole
 * server stopped; the old primary, when its server returns, refuses writes.
 * Then `db rejoin` brings it back with pg_rewind; a forced failover the other
 * way leaves a diverged old primary, which rejoin rewinds too; `rejoin --copy`
 * takes a fresh base backup instead.
 *
 * Write pauses are measured from the writer's own log and printed as test
 * diagnostics; by the project's rules timings are not asserted unless
 * WHARF_DB_STRICT_TIMING=1 (then: switchover pause <= 5 s, failover resume
 * <= 15 s). What is asserted: every acknowledged write is present, no row
 * appears that the writer did not attempt, writes resume, the writer was
 * never restarted, the old primary does not accept writes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { committedProject, pgAccessory, projectHead, pushDataTierImage } from '../support/db-tier.js';
import { dockerEnv, fleetUp, sshRun, wharfAsync, type CliResult, type TestFleet } from '../support/fleet.js';

const STRICT = process.env.WHARF_DB_STRICT_TIMING === '1';
/** MB of extra table data before the forced failover (0: none), to compare rejoin's rewind and copy by hand. */
const BULK_MB = Number(process.env.WHARF_DB_REJOIN_BULK_MB ?? 0);
const PASSWORD = 'pg-e2e-secret';

function deployYml(fleet: TestFleet, image: string): string {
  const [a, b] = fleet.servers.map((s) => s.address) as [string, string];
  const pg = (host: string) => pgAccessory(image, host, { agent: true });
  const bouncer = (host: string, i: number) => `
    image: ${image}
    host: ${host}
    port: "${host}:6432:6432"
    cmd: pgbouncer -u postgres /etc/pgbouncer/pgbouncer.ini
    files:
      - config/pgbouncer${i}.ini:/etc/pgbouncer/pgbouncer.ini
      - config/userlist.txt:/etc/pgbouncer/userlist.txt`;
  return `${projectHead(fleet, 'dbtier', a)}accessories:
  pg1:${pg(a)}
  pg2:${pg(b)}
  bouncer1:${bouncer(a, 1)}
  bouncer2:${bouncer(b, 2)}
  haproxy:
    image: ${image}
    host: ${b}
    port: "${b}:6433:6433"
    cmd: haproxy -db -f /usr/local/etc/haproxy/haproxy.cfg
    directories:
      - haproxy:/usr/local/etc/haproxy
x-wharf-db:
  primary: pg1
  standbys: [pg2]
  database: app
  replication:
    password: REPLICATION_PASSWORD
  pgbouncer:
    accessories: [bouncer1, bouncer2]
  haproxy:
    accessory: haproxy
`;
}

function project(fleet: TestFleet, image: string): string {
  const bouncer = (i: number) =>
    `[databases]\napp = host=dbtier-pg${i} port=5432 dbname=app\n[pgbouncer]\nlisten_addr = 0.0.0.0\nlisten_port = 6432\nauth_type = scram-sha-256\nauth_file = /etc/pgbouncer/userlist.txt\npool_mode = transaction\nserver_login_retry = 1\nstats_users = postgres\n`;
  return committedProject('wharf-db-', {
    'config/deploy.yml': deployYml(fleet, image),
    'config/pgbouncer1.ini': bouncer(1),
    'config/pgbouncer2.ini': bouncer(2),
    'config/userlist.txt': `"postgres" "${PASSWORD}"\n`,
    '.kamal/secrets': `POSTGRES_PASSWORD=${PASSWORD}\nREPLICATION_PASSWORD=repl-e2e-secret\n`,
  });
}

interface Attempt {
  ok: boolean;
  n: number;
  at: number;
}

/** The writer's log: `ack N SECONDS` / `fail N SECONDS …`. */
function attempts(log: string): Attempt[] {
  return log
    .split('\n')
    .map((l) => /^(ack|fail) (\d+) (\d+\.\d+)/.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ ok: m[1] === 'ack', n: Number(m[2]), at: Number(m[3]) }));
}

/** The longest time between two acknowledged writes inside [from, to] (seconds). */
function longestPause(list: Attempt[], from: number, to: number): number {
  const acks = list.filter((a) => a.ok).map((a) => a.at);
  let longest = 0;
  for (let i = 1; i < acks.length; i++) {
    if (acks[i]! < from || acks[i - 1]! > to) continue;
    longest = Math.max(longest, acks[i]! - acks[i - 1]!);
  }
  return longest;
}

describe('wharf db on the fleet', () => {
  let fleet: TestFleet;
  let dir: string;
  let image: string;
  const second = () => fleet.servers[1]!.address;
  const first = () => fleet.servers[0]!.address;
  const writerLog = () => sshRun(fleet, second(), 'docker logs dbtier-writer 2>&1').stdout;
  const writerStartedAt = () =>
    sshRun(fleet, second(), "docker inspect --format '{{.State.StartedAt}}' dbtier-writer").stdout.trim();
  const waitAcks = async (count: number, after: number) => {
    for (let i = 0; i < 600; i++) {
      if (attempts(writerLog()).filter((a) => a.ok && a.at > after).length >= count) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.fail(`the writer did not get ${count} writes acknowledged`);
  };
  let startedAt = '';

  before(() => {
    fleet = fleetUp('dbtier', 2, 5687);
    image = `${fleet.registry}/dbtier-data:e2e`;
    pushDataTierImage(fleet, image);
    dir = project(fleet, image);
    // A fleet left from an earlier run: start from empty servers.
    for (const server of fleet.servers)
      sshRun(fleet, server.address, 'docker rm -f $(docker ps -aq) >/dev/null 2>&1; rm -rf dbtier-* .kamal');
  });

  after(() => {
    spawnSync('docker', ['start', `${fleet.name}-vm1`], { env: dockerEnv(fleet) });
    fleet?.down();
  });

  test('setup: the standby streams and HAProxy sends writes to the primary only', async () => {
    const result = await wharfAsync(['db', 'setup'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /routes to pg1 on /);
    const status = await wharfAsync(['db', 'status', '--json'], dir);
    assert.equal(status.code, 0, status.stderr);
    const s = JSON.parse(status.stdout) as {
      nodes: { node: string; role: string; timeline: number }[];
      problems: string[];
    };
    assert.deepEqual(
      s.nodes.map((n) => [n.node, n.role]),
      [
        ['pg1', 'primary'],
        ['pg2', 'standby'],
      ],
    );
    assert.deepEqual(s.problems, []);
    // No secret in what wharf printed.
    assert.doesNotMatch(result.stdout + result.stderr + status.stdout, /repl-e2e-secret|pg-e2e-secret/);

    // The "app": a writer on the second server inserting through the write VIP, one connection per write.
    const psql = `psql "host=dbtier-haproxy port=6433 user=postgres dbname=app connect_timeout=2" -Xq`;
    const create = sshRun(
      fleet,
      second(),
      `docker run --rm --network kamal -e PGPASSWORD=${PASSWORD} --entrypoint sh ${image} -c '${psql} -c "create table writes (n int primary key, at timestamptz default now())"'`,
    );
    assert.equal(create.code, 0, create.stderr);
    const loop = `i=0; while true; do i=$((i+1)); if ${psql} -c "insert into writes(n) values ($i)" >/dev/null 2>/tmp/err; then echo "ack $i $(date +%s.%N)"; else echo "fail $i $(date +%s.%N) $(head -c 120 /tmp/err | tr "\\n" " ")"; fi; done`;
    const writer = sshRun(
      fleet,
      second(),
      `docker run -d --name dbtier-writer --network kamal -e PGPASSWORD=${PASSWORD} --entrypoint sh ${image} -c '${loop.replace(/'/g, `'\\''`)}'`,
    );
    assert.equal(writer.code, 0, writer.stderr);
    startedAt = writerStartedAt();
    await waitAcks(5, 0);
  });

  for (const [from, to] of [
    ['pg1', 'pg2'],
    ['pg2', 'pg1'],
  ] as const) {
    test(`switchover ${from} -> ${to}: a short write pause, no acknowledged write lost, no writer restart`, async (t) => {
      const t0 = Date.now() / 1000;
      const result = await wharfAsync(['db', 'switchover', '-y'], dir);
      const t1 = Date.now() / 1000;
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        new RegExp(`Switched over from ${from} to ${to}: .*${from} streams from ${to}`),
      );
      await waitAcks(3, t1);
      const pause = longestPause(attempts(writerLog()), t0, t1 + 5);
      t.diagnostic(
        `switchover ${from} -> ${to}: longest pause between acknowledged writes ${pause.toFixed(2)} s (command ${(t1 - t0).toFixed(1)} s)`,
      );
      if (STRICT) assert.ok(pause <= 5, `write pause ${pause} s`);
      assert.ok(pause < 60, 'writes resumed');
      assert.equal(writerStartedAt(), startedAt, 'the writer (the app) was not restarted');
      const status = JSON.parse((await wharfAsync(['db', 'status', '--json'], dir)).stdout) as {
        nodes: { node: string; role: string }[];
        pgbouncer: { name: string; pools?: { database: string; sv_active: number; sv_idle: number }[] }[];
        problems: string[];
      };
      assert.deepEqual(
        status.nodes.map((n) => n.role),
        to === 'pg2' ? ['standby', 'primary'] : ['primary', 'standby'],
      );
      assert.deepEqual(status.problems, []);
      // The writer's connections reach the new primary through its pgbouncer: that pool has servers.
      const bouncer = status.pgbouncer.find((b) => b.name === (to === 'pg2' ? 'bouncer2' : 'bouncer1'));
      const pool = bouncer?.pools?.find((p) => p.database === 'app');
      assert.ok(pool && pool.sv_active + pool.sv_idle >= 1, JSON.stringify(status.pgbouncer));
    });
  }

  test('failover with the primary server stopped: writes resume, acks match rows, the old primary refuses writes on return', async (t) => {
    const docker = (args: string[]) => spawnSync('docker', args, { env: dockerEnv(fleet), encoding: 'utf8' });
    assert.equal(docker(['stop', `${fleet.name}-vm1`]).status, 0);
    const t0 = Date.now() / 1000;
    const result = await wharfAsync(['db', 'failover', '-y'], dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(
      result.stdout,
      /^Failed over to pg2: .* bytes of WAL the primary reported were not received/,
    );
    await waitAcks(3, t0);
    const firstAck = attempts(writerLog()).find((a) => a.ok && a.at > t0)!.at;
    t.diagnostic(
      `failover: first acknowledged write ${(firstAck - t0).toFixed(2)} s after the command started; ${result.stdout.trim()}`,
    );
    if (STRICT) assert.ok(firstAck - t0 <= 15, `resume ${firstAck - t0} s`);

    // The count: stop the writer, then compare its acknowledgements with the rows.
    sshRun(fleet, second(), 'docker stop -t 1 dbtier-writer');
    const list = attempts(writerLog());
    const acked = new Set(list.filter((a) => a.ok).map((a) => a.n));
    const failed = new Set(list.filter((a) => !a.ok).map((a) => a.n));
    const rows = sshRun(
      fleet,
      second(),
      `docker run --rm --network kamal -e PGPASSWORD=${PASSWORD} --entrypoint psql ${image} "host=dbtier-haproxy port=6433 user=postgres dbname=app" -XAtc "select n from writes order by n"`,
    );
    assert.equal(rows.code, 0, rows.stderr);
    const present = new Set(rows.stdout.split('\n').filter(Boolean).map(Number));
    const lost = [...acked].filter((n) => !present.has(n));
    // The insert in flight when `docker stop` killed the writer may have committed without being logged.
    const inFlight = Math.max(0, ...list.map((a) => a.n)) + 1;
    const phantom = [...present].filter((n) => !acked.has(n) && !failed.has(n) && n !== inFlight);
    const ambiguous = [...present].filter((n) => failed.has(n));
    t.diagnostic(
      `acknowledged ${acked.size}, rows ${present.size}, failed attempts ${failed.size} (of which committed anyway: ${ambiguous.length})`,
    );
    assert.deepEqual(lost, [], 'every acknowledged write is present');
    assert.deepEqual(phantom, [], 'no row the writer never attempted');
    const unlogged = present.has(inFlight) && !acked.has(inFlight) && !failed.has(inFlight) ? 1 : 0;
    assert.equal(present.size, acked.size + ambiguous.length + unlogged);

    // The old primary's server returns: its container starts read-only (fenced by its boot check).
    assert.equal(docker(['start', `${fleet.name}-vm1`]).status, 0);
    let answer: CliResult | undefined;
    for (let i = 0; i < 120; i++) {
      answer = sshRun(
        fleet,
        first(),
        `echo "insert into writes(n) values (-1)" | docker exec -i --user postgres dbtier-pg1 psql -X -v ON_ERROR_STOP=1 -d app -f - 2>&1`,
      );
      if (
        !/starting up|No such container|is not running|Connection refused|No route|connect to host|Is the server running/.test(
          answer.stdout + answer.stderr,
        )
      )
        break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.notEqual(answer!.code, 0, `the old primary accepted a write: ${answer!.stdout}`);
    assert.match(answer!.stdout, /read-only transaction/);
    const status = JSON.parse((await wharfAsync(['db', 'status', '--json'], dir)).stdout) as {
      nodes: { node: string; role: string; fenced: boolean }[];
      haproxy: { servers: { name: string; status: string }[] }[];
    };
    assert.equal(status.nodes.find((n) => n.node === 'pg2')!.role, 'primary');
    assert.equal(status.nodes.find((n) => n.node === 'pg1')!.role, 'standby');
    assert.deepEqual(
      status.haproxy[0]!.servers.map((s) => [s.name, s.status.startsWith('UP')]),
      [
        ['pg1', false],
        ['pg2', true],
      ],
    );
  });
  // ----- rejoin: pg_rewind first, a fresh copy with --copy -----

  interface RejoinStatus {
    nodes: {
      node: string;
      role: string;
      timeline: number;
      fenced: boolean;
      receiver?: { status: string; sender_host: string | null; timeline: number | null } | null;
    }[];
    haproxy: { servers: { name: string; status: string }[] }[];
    problems: string[];
  }
  const hostOf = (node: string) => (node === 'pg1' ? first() : second());
  /** psql on one node (its own container), -At output. */
  const onNode = (node: string, query: string) => {
    const r = sshRun(
      fleet,
      hostOf(node),
      `docker exec --user postgres dbtier-${node} psql -X -v ON_ERROR_STOP=1 -At -d app -c "${query}"`,
    );
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const rowsQuery = 'select count(*), coalesce(sum(n), 0) from writes';
  /** Inserts `count` rows on the current primary through the write VIP; returns how many were acknowledged. */
  const insertThroughVip = (count: number) => {
    const r = sshRun(
      fleet,
      second(),
      `docker run --rm --network kamal -e PGPASSWORD=${PASSWORD} --entrypoint psql ${image} "host=dbtier-haproxy port=6433 user=postgres dbname=app" -XqAt -v ON_ERROR_STOP=1 -c "insert into writes(n) select coalesce(max(n), 0) + g from writes, generate_series(1, ${count}) g group by g returning n" `,
    );
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.split('\n').filter(Boolean).length;
  };
  /** After a rejoin: `standby` streams from `primary` on the primary's timeline, holds every row, and HAProxy has it enabled. */
  const assertStreamsFrom = async (standby: string, primary: string) => {
    const status = JSON.parse((await wharfAsync(['db', 'status', '--json'], dir)).stdout) as RejoinStatus;
    const p = status.nodes.find((n) => n.node === primary)!;
    const s = status.nodes.find((n) => n.node === standby)!;
    assert.equal(p.role, 'primary');
    assert.equal(s.role, 'standby');
    assert.equal(s.fenced, false);
    assert.equal(s.receiver?.status, 'streaming', JSON.stringify(s));
    assert.equal(s.receiver?.sender_host, hostOf(primary));
    assert.equal(s.receiver?.timeline, p.timeline, 'on the primary timeline');
    assert.deepEqual(status.problems, []);
    const server = status.haproxy[0]!.servers.find((x) => x.name === standby)!;
    assert.doesNotMatch(server.status, /MAINT/, 'enabled in HAProxy (down only because it is a standby)');
    // Every row of the primary, once the standby replayed up to the primary's position now.
    const want = onNode(primary, rowsQuery);
    let got = '';
    for (let i = 0; i < 60 && got !== want; i++) {
      got = onNode(standby, rowsQuery);
      if (got !== want) await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(got, want, `${standby} holds every row of ${primary}`);
  };

  test('rejoin after the failover: the old primary is rewound (not copied) and streams from pg2 on its timeline', async (t) => {
    assert.equal(insertThroughVip(200), 200);
    const result = await wharfAsync(['db', 'rejoin', 'pg1', '-y'], dir);
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(result.stdout.trim());
    assert.match(result.stdout, /^pg1 on \S+ streams from pg2 again: rewound from pg2 \(/m);
    assert.doesNotMatch(result.stdout + result.stderr, /repl-e2e-secret|pg-e2e-secret/);
    await assertStreamsFrom('pg1', 'pg2');
  });

  test('forced failover back to pg1, writes, then rejoin pg2: the diverged old primary is rewound', async (t) => {
    if (BULK_MB > 0) {
      // By hand (WHARF_DB_REJOIN_BULK_MB=N): a bigger table written before the fork, so the
      // rewind (which skips unchanged blocks) and the copy below can be compared on more than a tiny database.
      onNode(
        'pg2',
        `create table bulk as select g, repeat('x', 120) as pad from generate_series(1, ${BULK_MB * 6000}) g`,
      );
      // Hint bits set (with wal_log_hints each first setting after a checkpoint logs a full page,
      // so the first reads would otherwise "change" every block), then a checkpoint, as a database
      // whose bulk is older than checkpoint_timeout would have.
      onNode('pg2', 'vacuum bulk');
      onNode('pg2', 'checkpoint');
      const want = onNode('pg2', 'select count(*) from bulk');
      const replayed = () =>
        sshRun(
          fleet,
          first(),
          `docker exec --user postgres dbtier-pg1 psql -XAt -d app -c "select count(*) from bulk"`,
        ).stdout.trim();
      for (let i = 0; i < 600 && replayed() !== want; i++) await new Promise((r) => setTimeout(r, 1000));
      t.diagnostic(`bulk table: ${onNode('pg2', "select pg_size_pretty(pg_total_relation_size('bulk'))")}`);
    }
    const failover = await wharfAsync(['db', 'failover', '--to', 'pg1', '--force', '-y'], dir);
    assert.equal(failover.code, 0, failover.stderr);
    assert.match(failover.stdout, /Failed over to pg1: .*pg2 fenced at rest/);
    assert.equal(insertThroughVip(300), 300);
    const result = await wharfAsync(['db', 'rejoin', 'pg2', '-y'], dir);
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(result.stdout.trim());
    for (const line of result.stderr.split('\n').filter((l) => /pg_rewind|warning/.test(l)))
      t.diagnostic(line);
    // A real rewind: pg2 wrote past the fork (its shutdown checkpoint when it was fenced).
    assert.match(result.stderr, /pg_rewind: servers diverged at WAL location \S+ on timeline \d+/);
    assert.match(result.stderr, /pg_rewind: rewinding from last common checkpoint/);
    assert.match(
      result.stdout,
      /^pg2 on \S+ streams from pg1 again: rewound from pg1 \(pg_rewind copied \d+ MB of changed blocks and files; the primary's data directory is \d+ MB\)/m,
    );
    await assertStreamsFrom('pg2', 'pg1');
  });

  test('rejoin --copy takes a fresh base backup instead', async (t) => {
    assert.equal(insertThroughVip(100), 100);
    const result = await wharfAsync(['db', 'rejoin', 'pg2', '--copy', '-y'], dir);
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(result.stdout.trim());
    assert.match(
      result.stdout,
      /^pg2 on \S+ streams from pg1 again: rebuilt from a fresh base backup of pg1 \(--copy\)/m,
    );
    await assertStreamsFrom('pg2', 'pg1');
  });

  test('rejoin of a node whose data directory is gone: no rewind possible, says why, copies', async (t) => {
    const gone = sshRun(fleet, second(), 'docker stop -t 10 dbtier-pg2 >/dev/null && rm -rf dbtier-pg2/data');
    assert.equal(gone.code, 0, gone.stderr);
    const result = await wharfAsync(['db', 'rejoin', 'pg2', '-y'], dir);
    assert.equal(result.code, 0, result.stderr);
    t.diagnostic(result.stdout.trim());
    assert.match(
      result.stderr,
      /Could not rewind pg2 to pg1 \(no data directory at \/var\/lib\/postgresql\/data\); taking a fresh base backup instead\./,
    );
    assert.match(
      result.stdout,
      /^pg2 on \S+ streams from pg1 again: rebuilt from a fresh base backup of pg1 \(no rewind: no data directory at \/var\/lib\/postgresql\/data\)/m,
    );
    await assertStreamsFrom('pg2', 'pg1');
  });
});
