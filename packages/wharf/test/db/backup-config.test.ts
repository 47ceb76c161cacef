import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveDbTier } from '../../src/db/config.js';
import { load, type Raw } from '../commands/support.js';
import { tierConfig, tierRefusal } from './support.js';

function withBackup(backup: unknown, mountBackups = true): Raw {
  const raw = tierConfig();
  const accessories = raw.accessories as Record<string, Raw>;
  if (mountBackups) {
    accessories['postgres-replica']!.directories = ['data:/var/lib/postgresql/data', 'backups:/backups'];
  }
  (raw['x-wharf-db'] as Raw).backup = backup;
  return raw;
}

test('backup.path: the first standby archives into the directory it mounts (container or host side named)', async () => {
  for (const path of ['/backups', '/backups/']) {
    const tier = resolveDbTier(await load(withBackup({ path })));
    assert.equal(tier.backup?.node.name, 'postgres-replica');
    assert.deepEqual(tier.backup?.repository, {
      kind: 'path',
      containerPath: '/backups',
      hostPath: 'app-postgres-replica/backups',
    });
  }
});

test('backup.path may name the host side of an absolute mount', async () => {
  const raw = withBackup({ path: '/srv/pg-backups' }, false);
  (raw.accessories as Record<string, Raw>)['postgres-replica']!.directories = [
    'data:/var/lib/postgresql/data',
    '/srv/pg-backups:/repo',
  ];
  const tier = resolveDbTier(await load(raw));
  assert.deepEqual(tier.backup?.repository, {
    kind: 'path',
    containerPath: '/repo',
    hostPath: '/srv/pg-backups',
  });
});

test('backup.s3: endpoint, bucket, prefix trimmed, region default us-east-1, secrets by name', async () => {
  const tier = resolveDbTier(
    await load(
      withBackup({
        from: 'postgres',
        s3: {
          endpoint: 'https://acct.r2.cloudflarestorage.com/',
          bucket: 'heatwave-backups',
          prefix: '/pitr/chicago/',
          access_key_id: 'R2_KEY_ID',
          secret_access_key: 'R2_SECRET',
        },
      }),
    ),
  );
  assert.equal(tier.backup?.node.name, 'postgres');
  assert.deepEqual(tier.backup?.repository, {
    kind: 's3',
    endpoint: 'https://acct.r2.cloudflarestorage.com',
    bucket: 'heatwave-backups',
    prefix: 'pitr/chicago',
    region: 'us-east-1',
    accessKeyIdSecret: 'R2_KEY_ID',
    secretAccessKeySecret: 'R2_SECRET',
    partBytes: 1024 ** 3,
  });
});

test('backup.s3.part_size: a size or a byte count from 1 MB to 5 GB (one S3 PUT stops at 5 GiB)', async () => {
  const s3 = { endpoint: 'http://10.0.0.2:9000', bucket: 'b-1', access_key_id: 'K', secret_access_key: 'S' };
  const part = async (part_size: unknown) => {
    const tier = resolveDbTier(await load(withBackup({ s3: { ...s3, part_size } })));
    return tier.backup?.repository.kind === 's3' ? tier.backup.repository.partBytes : -1;
  };
  assert.equal(await part('512MB'), 512 * 1024 ** 2);
  assert.equal(await part('5GiB'), 5 * 1024 ** 3);
  assert.equal(await part(2_000_000), 2_000_000);
  assert.match(
    await tierRefusal(withBackup({ s3: { ...s3, part_size: '6GB' } })),
    /part_size .* is 6\.0 GB; use a size from 1 MB to 5 GB/,
  );
  assert.match(
    await tierRefusal(withBackup({ s3: { ...s3, part_size: 1000 } })),
    /use a size from 1 MB to 5 GB/,
  );
  assert.match(
    await tierRefusal(withBackup({ s3: { ...s3, part_size: 'lots' } })),
    /x-wharf-db\.backup\.s3\.part_size in .*"lots" is not a size/,
  );
});

test('backup refusals name the key and say what to do', async () => {
  const s3 = { endpoint: 'http://10.0.0.2:9000', bucket: 'b-1', access_key_id: 'K', secret_access_key: 'S' };
  assert.match(
    await tierRefusal(withBackup({ path: '/elsewhere' })),
    /x-wharf-db\.backup\.path \/elsewhere is not a directory that accessories\.postgres-replica mounts .*add `directories: \[backups:\/elsewhere\]`/,
  );
  assert.match(
    await tierRefusal(withBackup({ path: '/var/lib/postgresql/data' })),
    /is the data directory of postgres-replica; a rejoin would erase it/,
  );
  assert.match(
    await tierRefusal(withBackup({})),
    /x-wharf-db\.backup .* names no repository; set exactly one of path/,
  );
  assert.match(await tierRefusal(withBackup({ path: '/backups', s3 })), /names two repositories/);
  assert.match(
    await tierRefusal(withBackup({ from: 'pg9', path: '/backups' })),
    /backup\.from names pg9, which is not a database node/,
  );
  assert.match(
    await tierRefusal(withBackup({ s3: { ...s3, endpoint: 'ftp://x' } })),
    /x-wharf-db\.backup\.s3\.endpoint .* should be a URL/,
  );
  assert.match(
    await tierRefusal(withBackup({ s3: { ...s3, bucket: 'Bad_Bucket' } })),
    /backup\.s3\.bucket .* should be a bucket name/,
  );
  const { secret_access_key: _omit, ...noSecret } = s3;
  assert.match(
    await tierRefusal(withBackup({ s3: noSecret })),
    /x-wharf-db\.backup\.s3\.secret_access_key is missing/,
  );
  assert.match(
    await tierRefusal(withBackup({ path: '/backups', host: 'x' })),
    /x-wharf-db\.backup .* unknown key host/,
  );
});
