import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDbTier } from '../../src/db/config.js';
import {
  checkSwitchover,
  chooseFailoverTarget,
  lsnDiff,
  parseLsn,
  parseShowPools,
  parseShowStat,
  singlePrimary,
  type NodeStatus,
} from '../../src/db/state.js';
import { pgbouncerShowPools } from '../../src/db/commands.js';
import { describeTier, formatStatus } from '../../src/db/status-ops.js';
import { load } from '../commands/support.js';
import { refusal, tierConfig } from './support.js';

const primary = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  node: 'postgres',
  host: '10.0.0.1',
  service: 'app-postgres',
  reachable: true,
  inRecovery: false,
  timeline: 1,
  currentLsn: '0/3000100',
  fenced: false,
  readOnly: false,
  replicas: [
    {
      name: 'postgres-replica',
      address: '10.0.0.2',
      state: 'streaming',
      sent_lsn: '0/3000100',
      replay_lsn: '0/3000000',
      lag_bytes: 256,
      replay_lag_seconds: 0.01,
    },
  ],
  ...over,
});
const standby = (over: Partial<NodeStatus> = {}): NodeStatus => ({
  node: 'postgres-replica',
  host: '10.0.0.2',
  service: 'app-postgres-replica',
  reachable: true,
  inRecovery: true,
  timeline: 1,
  receiveLsn: '0/3000100',
  replayLsn: '0/3000000',
  fenced: false,
  readOnly: false,
  receiver: {
    status: 'streaming',
    sender_host: '10.0.0.1',
    sender_port: 5432,
    timeline: 1,
    flushed_lsn: '0/3000100',
    primary_end_lsn: '0/3000100',
    primary_end_at: null,
  },
  ...over,
});

test('LSNs compare as 64-bit positions', () => {
  assert.equal(parseLsn('1/0') - parseLsn('0/FFFFFFFF'), 1n);
  assert.equal(lsnDiff('0/3000100', '0/3000000'), 256);
  assert.equal(lsnDiff(null, '0/1'), undefined);
  assert.throws(() => parseLsn('nope'));
});

test('two primaries, no primary and a fenced-only primary are refused with what was found', () => {
  assert.equal(singlePrimary([primary(), standby()], 'Switchover').node, 'postgres');
  assert.match(
    refusal(() => singlePrimary([primary(), standby({ inRecovery: false, timeline: 2 })], 'Switchover')),
    /^Switchover refused: postgres \(10\.0\.0\.1, timeline 1\) and postgres-replica \(10\.0\.0\.2, timeline 2\) are both primaries/,
  );
  assert.match(
    refusal(() =>
      singlePrimary(
        [{ ...primary(), reachable: false, error: 'ssh: connect timed out' }, standby()],
        'Switchover',
      ),
    ),
    /no node is a primary \(postgres: unreachable, postgres-replica: standby\); if the primary's server is gone, run `wharf db failover`/,
  );
  assert.match(
    refusal(() => singlePrimary([primary({ fenced: true }), standby()], 'Switchover')),
    /is fenced \(wharf\.fenced is present\)/,
  );
});

test('switchover refuses a standby on another timeline, not streaming, or lagging beyond the limit', async () => {
  const tier = resolveDbTier(await load(tierConfig()));
  checkSwitchover(tier, primary(), standby());
  assert.match(
    refusal(() => checkSwitchover(tier, primary({ timeline: 2 }), standby())),
    /is on timeline 1 but the primary postgres is on timeline 2; rebuild it with `wharf db rejoin postgres-replica`/,
  );
  assert.match(
    refusal(() => checkSwitchover(tier, primary({ replicas: [] }), standby({ receiver: null }))),
    /is not streaming from the primary postgres \(no WAL receiver\)/,
  );
  assert.match(
    refusal(() => checkSwitchover(tier, primary({ currentLsn: '1/0' }), standby())),
    /is \d+ bytes behind the primary, more than x-wharf-db\.switchover\.max_lag_bytes \(16777216\)/,
  );
});

test('failover picks the standby that received most WAL and refuses split timelines', () => {
  const a = standby({ node: 'a', receiveLsn: '0/5000000' });
  const b = standby({ node: 'b', receiveLsn: '0/6000000' });
  const gone: NodeStatus = {
    node: 'postgres',
    host: '10.0.0.1',
    service: 'x',
    reachable: false,
    error: 'down',
  };
  assert.equal(chooseFailoverTarget([gone, a, b]).node, 'b');
  assert.equal(chooseFailoverTarget([gone, a, b], 'a').node, 'a');
  assert.match(
    refusal(() => chooseFailoverTarget([gone, a, standby({ node: 'b', timeline: 2 })])),
    /different timelines \(a: 1, b: 2\)/,
  );
  assert.match(
    refusal(() => chooseFailoverTarget([gone])),
    /no standby can be reached \(postgres: unreachable \(down\)\)/,
  );
  assert.match(
    refusal(() => chooseFailoverTarget([gone, a], 'postgres')),
    /postgres is unreachable, not a reachable standby/,
  );
});

test("HAProxy's show stat CSV gives the write pool's servers; status lists problems", async () => {
  const csv = [
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status',
    'postgres_write,FRONTEND,,,2,5,2000,10,,,,,,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,3,',
    'postgres_write,postgres,0,0,2,3,,8,,,,,,,,,,UP,1,1,0,0,0,5,0,,1,2,1,,8,,2,0,,3,L7OK',
    'postgres_write,postgres-replica,0,0,0,0,,0,,,,,,,,,,DOWN,1,1,0,1,1,5,5,,1,2,2,,0,,2,0,,0,L7STS',
    'postgres_write,BACKEND,0,0,2,3,200,8,,,,,,,,,,UP,1,1,0,,0,5,0,,1,2,0,,8,,1,0,,3,',
    '',
  ].join('\n');
  const servers = parseShowStat(csv, 'postgres_write');
  assert.deepEqual(servers, [
    { name: 'postgres', status: 'UP', checkStatus: 'L7OK', sessions: 2 },
    { name: 'postgres-replica', status: 'DOWN', checkStatus: 'L7STS', sessions: 0 },
  ]);
  const tier = resolveDbTier(await load(tierConfig()));
  const ok = describeTier(tier, [primary(), standby()], [{ host: '10.0.0.1', servers }]);
  assert.deepEqual(ok.problems, []);
  assert.equal(ok.nodes[1]!.lag_bytes, 256);
  const bad = describeTier(
    tier,
    [primary(), standby({ timeline: 2 })],
    [{ host: '10.0.0.2', error: 'no such container' }],
  );
  assert.deepEqual(bad.problems, [
    'postgres-replica is on timeline 2, the primary postgres on 1; rebuild it with `wharf db rejoin postgres-replica`.',
    'HAProxy on 10.0.0.2 cannot be read: no such container.',
  ]);
});

test("pgbouncer's SHOW POOLS gives each pool's clients and servers; a silent pgbouncer is a problem, a refused SHOW is not", async () => {
  // pgbouncer 1.18 (Debian bookworm), psql -A -F "|" -P footer=off.
  const text = [
    'database|user|cl_active|cl_waiting|cl_active_cancel_req|cl_waiting_cancel_req|sv_active|sv_active_cancel|sv_being_canceled|sv_idle|sv_used|sv_tested|sv_login|maxwait|maxwait_us|pool_mode',
    'app|postgres|3|1|0|0|2|0|0|1|0|0|0|2|500000|transaction',
    'pgbouncer|pgbouncer|1|0|0|0|0|0|0|0|0|0|0|0|0|statement',
    '',
  ].join('\n');
  const pools = parseShowPools(text);
  assert.deepEqual(pools[0], {
    database: 'app',
    user: 'postgres',
    cl_active: 3,
    cl_waiting: 1,
    sv_active: 2,
    sv_idle: 1,
    maxwait: 2.5,
    pool_mode: 'transaction',
  });
  const tier = resolveDbTier(await load(tierConfig()));
  // Asked from the node's own container, with that container's password: nothing secret in the argv.
  const argv = pgbouncerShowPools(tier, tier.nodes[0]!).join(' ');
  assert.match(
    argv,
    /^docker exec app-postgres sh -c .*PGPASSWORD="\$POSTGRES_PASSWORD".*-h .*10\.0\.0\.1.* -p 6432 .*SHOW POOLS/,
  );
  const status = describeTier(
    tier,
    [primary(), standby()],
    [],
    [
      { name: 'pgbouncer', host: '10.0.0.1', pools },
      { name: 'pgbouncer-replica', host: '10.0.0.2', error: 'ERROR:  not allowed' },
    ],
  );
  assert.deepEqual(status.problems, []);
  const out = formatStatus(status);
  assert.match(
    out,
    /pgbouncer pgbouncer \(10\.0\.0\.1\): app\/postgres transaction: clients 3 active 1 waiting \(max wait 2\.5 s\), servers 2 active 1 idle\n/,
  );
  assert.doesNotMatch(out, /statement/, "pgbouncer's own admin pool is left out");
  assert.match(out, /pgbouncer-replica \(10\.0\.0\.2\): pools hidden .* stats_users/);
  const down = describeTier(
    tier,
    [primary(), standby()],
    [],
    [
      {
        name: 'pgbouncer',
        host: '10.0.0.1',
        error: 'connection to server at "10.0.0.1", port 6432 failed: Connection refused',
      },
    ],
  );
  assert.deepEqual(down.problems, [
    'pgbouncer on 10.0.0.1 does not answer: connection to server at "10.0.0.1", port 6432 failed: Connection refused.',
  ]);
});
