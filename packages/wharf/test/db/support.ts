/** Test support for the db tests: a deploy.yml with a two-node tier, and refusals. */
import assert from 'node:assert/strict';
import type { BackupMeta } from '../../src/db/backup/catalog.js';
import { resolveDbTier } from '../../src/db/config.js';
import { UserError } from '../../src/util/errors.js';
import { load, type Raw } from '../commands/support.js';

/** The message of the UserError `fn` throws, asserted to be one sentence. */
export function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof UserError, `expected a UserError, got ${String(error)}`);
    assert.equal(error.message.split('. ').length, 1, `one sentence: ${error.message}`);
    return error.message;
  }
  assert.fail('expected a refusal');
}

/** The refusal of resolving the tier of this deploy.yml. */
export async function tierRefusal(raw: Raw): Promise<string> {
  const config = await load(raw);
  return refusal(() => resolveDbTier(config));
}

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

/** A backup.json as `db backup` writes it (node pg2), finished at `finished`, starting in WAL file `startWal`. */
export function backupMeta(label: string, finished: string, startWal: string, timeline = 1): BackupMeta {
  return {
    label,
    node: 'pg2',
    host: '10.0.0.2',
    started_at: finished,
    finished_at: finished,
    start_lsn: '0/3000028',
    stop_lsn: '0/3000100',
    timeline,
    start_wal: startWal,
    stop_wal: startWal,
    bytes: 3 * 1024 * 1024,
  };
}
