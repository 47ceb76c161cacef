import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDbConfig, resolveDbTier } from '../../src/db/config.js';
import { load, type Raw } from '../commands/support.js';
import { refusal, tierConfig, tierRefusal } from './support.js';

test('the main loader accepts x-wharf-db (Kamal ignores x- root keys) and the tier resolves with defaults', async () => {
  const config = await load(tierConfig());
  const tier = resolveDbTier(config);
  assert.deepEqual(
    tier.nodes.map((n) => [n.name, n.service, n.host, n.bouncer?.name]),
    [
      ['postgres', 'app-postgres', '10.0.0.1', 'pgbouncer'],
      ['postgres-replica', 'app-postgres-replica', '10.0.0.2', 'pgbouncer-replica'],
    ],
  );
  assert.equal(tier.configuredPrimary.name, 'postgres');
  assert.equal(tier.adminUser, 'heatwave', 'taken from the primary accessory POSTGRES_USER');
  assert.equal(tier.replicationUser, 'replicator');
  assert.equal(tier.replicationPasswordSecret, 'DB_REPLICATION_PASSWORD');
  assert.equal(tier.port, 5432);
  assert.equal(tier.agentPort, 8008);
  assert.equal(tier.bouncerPort, 6432);
  assert.deepEqual(tier.haproxy.hosts, ['10.0.0.1', '10.0.0.2']);
  assert.equal(tier.haproxy.port, 6433);
  assert.equal(tier.maxLagBytes, 16 * 1024 * 1024);
});

test('errors name the key: unknown keys, wrong types, missing keys', () => {
  const base = { primary: 'a', standbys: ['b'], replication: { password: 'S' }, haproxy: { accessory: 'h' } };
  assert.match(
    refusal(() => parseDbConfig({ ...base, primray: 'x' })),
    /^x-wharf-db in config\/deploy\.yml has unknown key primray/,
  );
  assert.match(
    refusal(() => parseDbConfig({ ...base, port: 'five' })),
    /^x-wharf-db\.port in config\/deploy\.yml should be a port number/,
  );
  assert.match(
    refusal(() => parseDbConfig({ ...base, standbys: [] })),
    /^x-wharf-db\.standbys .*at least one standby/,
  );
  assert.match(
    refusal(() => parseDbConfig({ ...base, replication: {} })),
    /^x-wharf-db\.replication\.password is missing/,
  );
  assert.match(
    refusal(() => parseDbConfig({ ...base, data_dir: 'relative' })),
    /^x-wharf-db\.data_dir .*absolute path/,
  );
  assert.match(
    refusal(() => parseDbConfig(undefined)),
    /has no x-wharf-db block/,
  );
});

test('resolving refuses unknown accessories, shared hosts and a missing pgbouncer on a node host', async () => {
  assert.match(
    await tierRefusal(
      tierConfig({
        primary: 'postgres',
        standbys: ['nope'],
        replication: { password: 'S' },
        haproxy: { accessory: 'haproxy' },
      }),
    ),
    /^x-wharf-db\.standbys\[0\] names the accessory nope, which .* does not define \(accessories: postgres, /,
  );
  const sameHost = tierConfig({
    primary: 'postgres',
    standbys: ['postgres-replica'],
    replication: { password: 'S' },
    haproxy: { accessory: 'haproxy' },
  });
  (sameHost.accessories as Raw)['postgres-replica'] = {
    ...((sameHost.accessories as Raw)['postgres-replica'] as Raw),
    host: '10.0.0.1',
  };
  assert.match(await tierRefusal(sameHost), /two database nodes run on 10\.0\.0\.1/);
  assert.match(
    await tierRefusal(
      tierConfig({
        primary: 'postgres',
        standbys: ['postgres-replica'],
        replication: { password: 'S' },
        pgbouncer: { accessories: ['pgbouncer'] },
        haproxy: { accessory: 'haproxy' },
      }),
    ),
    /no pgbouncer on 10\.0\.0\.2, where the node postgres-replica runs/,
  );
  assert.match(
    await tierRefusal(
      tierConfig({
        primary: 'postgres',
        standbys: ['postgres'],
        replication: { password: 'S' },
        haproxy: { accessory: 'haproxy' },
      }),
    ),
    /names the accessory postgres twice/,
  );
});
