#!/usr/bin/env node
// Fast + deferred restore against a plain full restore of the same database,
// side by side in one run, by hand only (never in CI).
//
//   npm run build
//   node bench/db/fast-restore.mjs [--big-gb 2] [--small 50] [--defer-over 64MB] [--jobs 2]
//       [--fleet dbrestore] [--port 5689] [--keep] [--reuse-source] [--baseline-first]
//
// On a 2-server fleet: the source is a tier node (pg1, first server) holding
// one big table of about --big-gb GB (a bigint primary key, a secondary index
// and a foreign key to a small table) and --small small tables (1,000 rows
// each, a foreign key and an index each); the target is a separate Postgres
// accessory (staging, second server). Then, in this order:
//
// 1. fast + deferred: `wharf db restore --into staging --from-node pg1
//    --defer-over 64MB --wait`: "usable after X s, complete after Y s";
// 2. the baseline, a plain full restore: the same command with a limit no
//    table reaches, so phase 1 is one `pg_restore -j N` of the whole dump
//    (exactly what a hand-run pg_restore -j N would do) and the database is
//    usable only when everything is in.
//
// Both take a fresh pg_dump from pg1 first (printed separately; not in the
// restore times). Printed: usable time (fast), complete time (fast), full time
// (baseline), and usable / full. The machine's load average is printed at the
// start and the end: on a shared machine the ratio is what carries over.
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = join(root, 'packages/wharf/bin/wharf.js');
// The db e2e tests' support (compiled by `npm run build`): the image, the project, the YAML, ssh.
const { committedProject, pgAccessory, projectHead, pushDataTierImage } = await import(
  join(root, 'packages/wharf/dist/test/support/db-tier.js')
);
const { sshRun } = await import(join(root, 'packages/wharf/dist/test/support/fleet.js'));

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const bigGb = Number(opt('big-gb', '2'));
const small = Number(opt('small', '50'));
const deferOver = opt('defer-over', '64MB');
const jobs = opt('jobs', '2');
const fleetName = opt('fleet', 'dbrestore');
const port = opt('port', '5689');
const keep = args.includes('--keep');
// Keep pg1 and its data from an earlier run with --keep (loading 2 GB takes minutes).
const reuse = args.includes('--reuse-source');
// Run the baseline first (to see how much the order and a drifting machine load weigh).
const baselineFirst = args.includes('--baseline-first');

const log = (text) => process.stderr.write(`[bench] ${text}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

function wharf(argv, cwd) {
  const env = { ...process.env };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(process.execPath, [bin, ...argv], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`wharf ${argv.join(' ')} failed:\n${r.stderr}${r.stdout}`);
  return r;
}

const fleet = JSON.parse(
  wharf(['fleet', 'up', '--name', fleetName, '--servers', '2', '--registry-port', port, '--json']).stdout,
);
const [a, b] = fleet.servers.map((s) => s.address);

function ssh(address, command, input) {
  const r = sshRun(fleet, address, command, { input, timeoutMs: 3_600_000 });
  if (r.code !== 0) throw new Error(`ssh ${address} ${command} failed: ${r.stderr}`);
  return r.stdout;
}

const image = `${fleet.registry}/dbrestore-data:bench`;
pushDataTierImage(fleet, image);

const dir = committedProject('wharf-bench-db-', {
  'config/deploy.yml': `${projectHead(fleet, 'dbbench', a)}accessories:
  pg1:${pgAccessory(image, a)}
  pg2:${pgAccessory(image, b)}
  staging:${pgAccessory(image, b, { volume: 'staging', port: false })}
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
`,
  '.kamal/secrets': 'POSTGRES_PASSWORD=bench-secret\nREPLICATION_PASSWORD=repl\n',
});

log(`load at start: ${load()}`);
if (!reuse) {
  for (const address of [a, b])
    ssh(address, 'docker rm -f dbbench-pg1 dbbench-staging >/dev/null 2>&1; rm -rf dbbench-*; true');
}
// With --reuse-source this starts (or keeps) pg1 on its existing data directory.
wharf(['accessory', 'boot', 'pg1'], dir);
wharf(['accessory', 'start', 'pg1'], dir);
ssh(b, 'docker rm -f dbbench-staging >/dev/null 2>&1; rm -rf dbbench-staging; true');
wharf(['accessory', 'boot', 'staging'], dir);
for (const [address, container] of [
  [a, 'dbbench-pg1'],
  [b, 'dbbench-staging'],
]) {
  for (let i = 0; ; i++) {
    if (sshRun(fleet, address, `docker exec ${container} pg_isready -q`).code === 0) break;
    if (i > 240) throw new Error(`${container} did not start`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

// ~215 bytes per row on disk: rows = GB * 2^30 / 215.
const rows = Math.round((bigGb * 2 ** 30) / 215);
const t0 = Date.now();
if (!reuse) {
  log(`loading the source: ${rows.toLocaleString()} rows in the big table, ${small} small tables`);
  ssh(
    a,
    'docker exec -i dbbench-pg1 psql -X -q -v ON_ERROR_STOP=1 -U postgres -d app',
    `
SET max_parallel_maintenance_workers = 0; -- Docker's 64 MB /dev/shm
CREATE TABLE customers (id serial PRIMARY KEY, email text UNIQUE NOT NULL);
INSERT INTO customers (email) SELECT 'c' || g || '@example.test' FROM generate_series(1, 1000) g;
DO $$ BEGIN
  FOR i IN 1..${small} LOOP
    EXECUTE format('CREATE TABLE small_%s (id serial PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), note text)', i);
    EXECUTE format('CREATE INDEX small_%s_customer_idx ON small_%s (customer_id)', i, i);
    EXECUTE format('INSERT INTO small_%s (customer_id, note) SELECT 1 + g %% 1000, md5(g::text) FROM generate_series(1, 1000) g', i);
  END LOOP;
END $$;
CREATE TABLE events (id bigint PRIMARY KEY, customer_id int NOT NULL REFERENCES customers(id), at timestamptz NOT NULL, payload text NOT NULL);
INSERT INTO events SELECT g, 1 + g % 1000, '2026-01-01'::timestamptz + g * interval '1 second', md5(g::text) || md5((g + 1)::text) || md5((g + 2)::text) || md5((g + 3)::text) || md5((g + 4)::text)
  FROM generate_series(1, ${rows}) g;
CREATE INDEX events_customer_idx ON events (customer_id, at);
VACUUM ANALYZE;
`,
  );
}
const size = ssh(
  a,
  "docker exec dbbench-pg1 psql -X -At -U postgres -d app -c \"SELECT pg_size_pretty(pg_table_size('events')) || ' table, ' || pg_size_pretty(pg_total_relation_size('events')) || ' with indexes'\"",
).trim();
log(`source loaded in ${((Date.now() - t0) / 1000).toFixed(0)} s; events: ${size}`);

function restore(limit) {
  const r = wharf(
    [
      'db',
      'restore',
      '--into',
      'staging',
      '--from-node',
      'pg1',
      '--defer-over',
      limit,
      '--jobs',
      jobs,
      '--wait',
      '-y',
    ],
    dir,
  );
  const out = r.stdout + r.stderr;
  const times = /usable after (\d+\.\d) s, complete after (\d+\.\d) s/.exec(out);
  const dump = /dump taken in (\d+\.\d) s/.exec(out);
  if (!times) throw new Error(`no times in the output:\n${out}`);
  return { usable: Number(times[1]), complete: Number(times[2]), dump: dump ? Number(dump[1]) : NaN };
}

let fast;
let full;
const runFast = () => {
  log('fast + deferred restore');
  fast = restore(deferOver);
  log(`usable ${fast.usable} s, complete ${fast.complete} s (dump ${fast.dump} s)`);
};
const runFull = () => {
  log('plain full restore (baseline)');
  full = restore('1000TB');
  log(`full ${full.usable} s (complete ${full.complete} s, dump ${full.dump} s)`);
};
if (baselineFirst) {
  runFull();
  runFast();
} else {
  runFast();
  runFull();
}

const result = {
  big_table: size,
  small_tables: small,
  jobs: Number(jobs),
  defer_over: deferOver,
  fast_usable_s: fast.usable,
  fast_complete_s: fast.complete,
  full_restore_s: full.complete,
  usable_over_full: Number((fast.usable / full.complete).toFixed(4)),
  fast_complete_over_full: Number((fast.complete / full.complete).toFixed(3)),
  dump_s: [fast.dump, full.dump],
  order: baselineFirst ? 'baseline first' : 'fast first',
  load_end: load(),
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
if (!keep)
  for (const address of [a, b])
    ssh(address, 'docker rm -f dbbench-pg1 dbbench-staging >/dev/null 2>&1; rm -rf dbbench-*; true');
