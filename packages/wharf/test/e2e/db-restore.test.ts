/**
 * End-to-end: `wharf db restore` fast + deferred on a 2-server fleet. The
 * source is the tier's primary (pg1 on the first server) holding one big
 * table (~60 MB with two indexes, a foreign key to a small table, a small
 * table's foreign key pointing at it and a materialized view over it) and 32
 * small tables with foreign keys and indexes; the target is a separate
 * Postgres accessory (staging) on the second server.
 *
 * Asserted: when the command returns, every small table is complete and
 * queryable; the big table's load ended after the database became usable
 * (timestamps recorded in the target, never wall-clock thresholds); a second
 * restore while the first is loading is refused; after the background part
 * every row count, index and constraint equals the source; tier nodes are
 * never restore targets; the same from a local dump file with --wait.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { committedProject, pgAccessory, projectHead, pushDataTierImage } from '../support/db-tier.js';
import { fleetUp, sshRun, sshRunBytes, wharfAsync, type TestFleet } from '../support/fleet.js';

const PASSWORD = 'pg-restore-e2e-secret';

function deployYml(fleet: TestFleet, image: string): string {
  const [a, b] = fleet.servers.map((s) => s.address) as [string, string];
  const pg = (host: string) => pgAccessory(image, host);
  return `${projectHead(fleet, 'dbrestore', a)}accessories:
  pg1:${pg(a)}
  pg2:${pg(b)}
  staging:${pgAccessory(image, b, { volume: 'staging', port: false })}
  spare:
    image: ${image}
    host: ${b}
    directories:
      - spare:/var/lib/postgresql/data
  haproxy:
    image: ${image}
    host: ${b}
    cmd: haproxy -db -f /usr/local/etc/haproxy/haproxy.cfg
x-wharf-db:
  primary: pg1
  standbys: [pg2]
  database: app
  replication:
    password: REPLICATION_PASSWORD
  haproxy:
    accessory: haproxy
`;
}

const SOURCE_SQL = `
CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
INSERT INTO customers (email) SELECT 'c' || g || '@example.test' FROM generate_series(1, 500) g;
DO $$ BEGIN
  FOR i IN 1..30 LOOP
    EXECUTE format('CREATE TABLE small_%s (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), note text)', i);
    EXECUTE format('CREATE INDEX small_%s_customer_idx ON small_%s (customer_id)', i, i);
    EXECUTE format('INSERT INTO small_%s (customer_id, note) SELECT 1 + g %% 500, md5(g::text) FROM generate_series(1, 100 + %s) g', i, i);
  END LOOP;
END $$;
CREATE TABLE events (id bigserial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), payload text NOT NULL);
INSERT INTO events (customer_id, payload) SELECT 1 + g % 500, md5(g::text) || md5((g * 7)::text) || md5((g * 13)::text) FROM generate_series(1, 400000) g;
CREATE INDEX events_customer_idx ON events (customer_id);
CREATE TABLE orders (id serial PRIMARY KEY, event_id bigint NOT NULL REFERENCES events(id));
INSERT INTO orders (event_id) SELECT g * 10 FROM generate_series(1, 100) g;
CREATE MATERIALIZED VIEW event_counts AS SELECT customer_id, count(*) AS n FROM events GROUP BY customer_id;
CREATE UNIQUE INDEX event_counts_customer ON event_counts (customer_id);
ANALYZE;
`;

/** Row counts of every table and materialized view, indexes and constraints: equal on source and a complete copy. */
const shapeSql = (kinds = "'r', 'm'") => `
SELECT 'rows ' || c.relname || ' ' || (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname), false, true, '')))[1]::text
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN (${kinds}) ORDER BY 1;
SELECT 'index ' || indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1;
SELECT 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1;
SELECT 'sequence ' || sequencename || ' ' || coalesce(last_value, 0) FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1;
`;

/** The restore's own commands can take minutes on a loaded machine. */
const LONG = { timeoutMs: 300_000 };

describe('wharf db restore: fast + deferred on the fleet', () => {
  let fleet: TestFleet;
  let dir: string;
  const first = () => fleet.servers[0]!.address;
  const second = () => fleet.servers[1]!.address;
  const psql = (address: string, container: string, text: string) => {
    const r = sshRun(
      fleet,
      address,
      `docker exec -i ${container} psql -X -q -At -v ON_ERROR_STOP=1 -U postgres -d app`,
      { input: text, ...LONG },
    );
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const stagingState = () =>
    sshRun(fleet, second(), 'docker exec dbrestore-staging sh -c \'cat "$PGDATA/wharf-restore/state"\'')
      .stdout;
  const eventTime = (state: string, event: string) => {
    const m = new RegExp(`^${event} (\\d+\\.\\d+)`, 'm').exec(state);
    assert.ok(m, `no ${event} in the state log:\n${state}`);
    return Number(m[1]);
  };
  const waitDone = async () => {
    for (let i = 0; i < 600; i++) {
      const s = await wharfAsync(['db', 'restore', '--into', 'staging', '--status'], dir);
      assert.equal(s.code, 0, s.stderr);
      if (/complete after/.test(s.stdout)) return s.stdout;
      assert.doesNotMatch(s.stdout, /FAILED|interrupted/);
      await new Promise((r) => setTimeout(r, 1000));
    }
    assert.fail('the background part of the restore did not finish');
  };

  before(async () => {
    fleet = fleetUp('dbrestore', 2, 5689);
    const image = `${fleet.registry}/dbrestore-data:e2e`;
    pushDataTierImage(fleet, image);
    dir = committedProject('wharf-dbrestore-', {
      'config/deploy.yml': deployYml(fleet, image),
      '.kamal/secrets': `POSTGRES_PASSWORD=${PASSWORD}\nREPLICATION_PASSWORD=repl-secret\n`,
    });
    for (const server of fleet.servers)
      sshRun(
        fleet,
        server.address,
        'docker rm -f $(docker ps -aq) >/dev/null 2>&1; docker volume prune -af >/dev/null 2>&1; rm -rf dbrestore-*',
        LONG,
      );
    for (const name of ['pg1', 'staging']) {
      const r = await wharfAsync(['accessory', 'boot', name], dir);
      assert.equal(r.code, 0, r.stderr);
    }
    for (const [address, container] of [
      [first(), 'dbrestore-pg1'],
      [second(), 'dbrestore-staging'],
    ] as const) {
      for (let i = 0; ; i++) {
        if (sshRun(fleet, address, `docker exec ${container} pg_isready -q -U postgres -d app`).code === 0)
          break;
        assert.ok(i < 120, `${container} did not start`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    psql(first(), 'dbrestore-pg1', SOURCE_SQL);
  });

  after(() => fleet?.down());

  test('refuses tier nodes, unknown or stopped targets and a source that does not answer', async () => {
    const node = await wharfAsync(['db', 'restore', '--into', 'pg1', '--from-node', 'pg1', '-y'], dir);
    assert.notEqual(node.code, 0);
    assert.match(node.stderr, /pg1 is the primary node of x-wharf-db .*never overwrites a tier node/);
    const unknown = await wharfAsync(['db', 'restore', '--into', 'nope', '--from-node', 'pg1', '-y'], dir);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /has no accessory named nope/);
    const stopped = await wharfAsync(['db', 'restore', '--into', 'spare', '--from-node', 'pg1', '-y'], dir);
    assert.notEqual(stopped.code, 0);
    assert.match(
      stopped.stderr,
      /The accessory spare \(dbrestore-spare\) is not booted on [\d.]+; start it with `wharf accessory boot spare`/,
    );
    // pg2 is declared but never booted: the source does not answer, and nothing in the target changed.
    const gone = await wharfAsync(['db', 'restore', '--into', 'staging', '--from-node', 'pg2', '-y'], dir);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /--from-node pg2: the node on [\d.]+ does not answer/);
    assert.doesNotMatch(gone.stderr, /prepare/);
  });

  test('--from-node: usable with the small tables when the command returns, the big table loads later', async (t) => {
    const source = psql(first(), 'dbrestore-pg1', shapeSql());
    const result = await wharfAsync(
      ['db', 'restore', '--into', 'staging', '--from-node', 'pg1', '--defer-over', '2MB', '-y'],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr + result.stdout, /Deferred to the background: public\.events \(/);
    assert.match(result.stdout, /staging is usable after \d+\.\d s/);
    // A second restore while the big table loads is refused (and changes nothing). The big
    // table takes several seconds, so the first restore is still loading here unless the
    // machine is idle enough to finish it in the second this attempt takes to connect.
    const again = await wharfAsync(['db', 'restore', '--into', 'staging', '--from-node', 'pg1', '-y'], dir);
    if (again.code !== 0) {
      assert.match(
        again.stderr,
        /A restore is already running in staging on [\d.]+ \(pid \d+ in its container\); follow it with `wharf db restore --into staging --status`/,
      );
    } else {
      t.diagnostic('the first restore ended before the second attempt, which then ran; waiting for it');
      assert.match(await waitDone(), /complete after/);
    }

    // Right away: every small table complete (rows, indexes, constraints).
    const now = psql(second(), 'dbrestore-staging', shapeSql("'r'")).split('\n');
    const smallLines = source
      .split('\n')
      .filter((l) => /^(rows|index|constraint) (public\.)?(small_\d+|customers)[ _]/.test(l));
    assert.ok(smallLines.length > 90, `expected the small tables' shape, got ${smallLines.length} lines`);
    for (const line of smallLines) assert.ok(now.includes(line), `missing right after the command: ${line}`);
    assert.equal(
      psql(
        second(),
        'dbrestore-staging',
        'SELECT count(*) FROM small_7 JOIN customers c ON c.id = customer_id',
      ),
      '107',
    );

    const status = await waitDone();
    assert.match(status, /usable after \d+\.\d s, complete after \d+\.\d s/);
    const state = stagingState();
    const usable = eventTime(state, 'usable');
    const bigDone = eventTime(state, 'table-done 1');
    assert.ok(eventTime(state, 'phase1-start') < usable);
    assert.ok(usable < bigDone, `the big table was loaded before the database was usable:\n${state}`);
    assert.ok(bigDone <= eventTime(state, 'done'));
    assert.equal(psql(second(), 'dbrestore-staging', shapeSql()), source);
    t.diagnostic(`from-node: ${status.trim()}`);
  });

  test('--dump FILE with --wait: sizes from the dump, complete when it returns', async (t) => {
    const dumped = sshRunBytes(
      fleet,
      first(),
      "docker exec dbrestore-pg1 sh -c 'pg_dump -U postgres -d app -Fc -f /tmp/app.dump && cat /tmp/app.dump'",
      LONG,
    );
    assert.equal(dumped.code, 0, dumped.stderr);
    const file = join(dir, 'app.dump');
    writeFileSync(file, dumped.stdout);
    psql(second(), 'dbrestore-staging', 'CREATE TABLE leftover (id int);');
    const source = psql(first(), 'dbrestore-pg1', shapeSql());
    const result = await wharfAsync(
      ['db', 'restore', '--into', 'staging', '--dump', file, '--defer-over', '1MB', '--wait', '-y'],
      dir,
    );
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /usable after \d+\.\d s, complete after \d+\.\d s/);
    assert.match(result.stderr + result.stdout, /Deferred to the background: public\.events \(/);
    const state = stagingState();
    assert.ok(eventTime(state, 'usable') < eventTime(state, 'table-done 1'));
    assert.equal(psql(second(), 'dbrestore-staging', shapeSql()), source);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(PASSWORD));
    t.diagnostic(`dump: ${result.stdout.trim()}`);
  });
});
