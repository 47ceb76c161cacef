/** Test support for the db tests: a deploy.yml with a two-node tier. */
import type { Raw } from '../commands/support.js';

/** A deploy.yml with a two-node tier, pgbouncer per node and one HAProxy. */
export function tierConfig(block: Raw | undefined = undefined): Raw {
  const pg = (host: string) => ({
    image: 'registry.example/data:1',
    host,
    port: `${host}:5432:5432`,
    env: { clear: { POSTGRES_USER: 'heatwave' }, secret: ['POSTGRES_PASSWORD'] },
    directories: ['data:/var/lib/postgresql/data'],
  });
  return {
    service: 'app',
    image: 'app',
    servers: ['10.0.0.1'],
    registry: { server: 'registry.example', username: 'u', password: ['P'] },
    builder: { arch: 'amd64' },
    accessories: {
      postgres: pg('10.0.0.1'),
      'postgres-replica': pg('10.0.0.2'),
      pgbouncer: { image: 'b:1', host: '10.0.0.1' },
      'pgbouncer-replica': { image: 'b:1', host: '10.0.0.2' },
      haproxy: {
        image: 'h:1',
        hosts: ['10.0.0.1', '10.0.0.2'],
        directories: ['haproxy:/usr/local/etc/haproxy'],
      },
    },
    'x-wharf-db': block ?? {
      primary: 'postgres',
      standbys: ['postgres-replica'],
      replication: { password: 'DB_REPLICATION_PASSWORD' },
      pgbouncer: { accessories: ['pgbouncer', 'pgbouncer-replica'] },
      haproxy: { accessory: 'haproxy' },
    },
  };
}
