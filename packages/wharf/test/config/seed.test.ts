// The configuration shaped like the production stack in the seed: it loads for
// production and staging, keeps secrets as names, and every secret it names is
// provided by the 1Password-backed secrets files for that destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/index.js';
import { FIXTURES } from './support/corpus.js';

const dir = join(FIXTURES, 'seed-heatwave');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

function secretsDefinedIn(files: string[]): Set<string> {
  const names = new Set<string>();
  for (const f of files) {
    if (!existsSync(f)) continue;
    for (const line of readFileSync(f, 'utf8').split('\n')) {
      const m = /^([A-Z0-9_]+)=/.exec(line);
      if (m && m[1] !== 'SECRETS') names.add(m[1]!);
    }
  }
  return names;
}

for (const destination of [undefined, 'staging']) {
  test(`seed stack (${destination ?? 'production'}): roles, accessories, hooks and secrets line up`, async () => {
    const config = await loadConfig({ cwd: dir, destination, version: 'abc1234', env, localArch: 'amd64' });
    assert.deepEqual(config.roleNames, ['sidekiq', 'web']);
    assert.deepEqual(
      config.accessories.map((a) => a.name),
      [
        'postgres',
        'postgres-replica',
        'pgbouncer',
        'haproxy',
        'valkey-cache',
        'valkey-sessions',
        'valkey-queue',
        'mailpit',
      ],
    );
    assert.equal(config.role('sidekiq')!.runningProxy, false);
    assert.equal(config.role('web')!.runningProxy, true);
    assert.deepEqual(config.proxyHosts, ['100.123.47.52']);
    const prefix = destination ? 'heatwave-staging' : 'heatwave';
    assert.deepEqual(
      config.accessories.filter((a) => a.name.startsWith('valkey')).map((a) => a.serviceName),
      [`${prefix}-valkey-cache`, `${prefix}-valkey-sessions`, `${prefix}-valkey-queue`],
    );
    // Three executable hooks where the config says hooks live.
    for (const hook of ['pre-build', 'pre-deploy', 'post-deploy'])
      accessSync(join(dir, config.hooksPath, hook), constants.X_OK);
    // Secrets files as Kamal reads them: <path>-common, then <path>.<destination> (or <path> without one).
    const files = [
      `${config.secretsPath}-common`,
      destination ? `${config.secretsPath}.${destination}` : config.secretsPath,
    ].map((f) => join(dir, f));
    for (const f of files) assert.match(readFileSync(f, 'utf8'), /kamal secrets fetch --adapter 1password/);
    const defined = secretsDefinedIn(files);
    const needed = config.secretNames();
    assert.deepEqual(needed.sort(), [
      'BUNDLE_GEMS__CONTRIBSYS__COM',
      'HEATWAVE_CONFIGURATION_KEY',
      'KAMAL_REGISTRY_PASSWORD',
      'POSTGRES_PASSWORD',
      'RAILS_MASTER_KEY',
      'REPLICATION_PASSWORD',
    ]);
    for (const name of needed) assert.ok(defined.has(name), `${name} is not defined in ${files.join(', ')}`);
    // Names only: nothing was resolved while loading.
    assert.deepEqual(
      config
        .role('web')!
        .env('100.123.47.52')
        .secrets.find((s) => s.name === 'DATABASE_PASSWORD'),
      { name: 'DATABASE_PASSWORD', secret: 'POSTGRES_PASSWORD' },
    );
  });
}
