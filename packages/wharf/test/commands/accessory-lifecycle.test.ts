// The commands wharf's accessory lifecycle runs beyond Kamal's own tests: a
// heatwave-like stack (postgres with data directory and files, valkey with a
// cmd and a named volume, an SMTP sink on a private address, a proxied
// accessory), the upgrade probes, and the removal plan shown before `remove`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessoryCommands, commandLine } from '../../src/commands/index.js';
import {
  accessoryNames,
  describeRemoval,
  overrideImage,
  removalDeletesData,
  removalPlan,
} from '../../src/deploy/accessory-ops.js';
import { Context } from '../../src/runtime/context.js';
import { load, type Raw } from './support.js';

const STACK: Raw = {
  service: 'heatwave',
  image: 'heatwave/app',
  registry: { server: 'registry.example.com', username: 'u', password: 'p' },
  servers: { web: ['10.0.0.1'], worker: { hosts: ['10.0.0.2'], cmd: 'bin/jobs' } },
  builder: { arch: 'amd64' },
  accessories: {
    postgres: {
      image: 'heatwave-postgres:18',
      registry: { server: 'ghcr.io', username: 'u', password: ['GHCR_TOKEN'] },
      host: '10.0.0.1',
      port: '127.0.0.1:5432:5432',
      env: { clear: { POSTGRES_USER: 'heatwave' }, secret: ['POSTGRES_PASSWORD'] },
      files: [
        {
          local: 'config/postgres.conf',
          remote: '/etc/postgresql/postgresql.conf',
          mode: '0644',
          owner: '999:999',
        },
      ],
      directories: ['data:/var/lib/postgresql/data'],
      options: { 'shm-size': '1g' },
    },
    'valkey-queue': {
      image: 'valkey/valkey:9.1',
      roles: ['web', 'worker'],
      cmd: 'valkey-server --maxmemory-policy noeviction --appendonly yes',
      volumes: ['heatwave-valkey-queue:/data'],
      options: { restart: 'always' },
    },
    mailpit: {
      image: 'axllent/mailpit',
      role: 'web',
      port: '100.123.47.52:8025:8025',
      network: 'mail',
      labels: { purpose: 'smtp-sink' },
    },
    echo: {
      service: 'echo-service',
      image: 'echo:1',
      host: '10.0.0.2',
      proxy: { host: 'echo.example.com', app_port: 8080 },
    },
  },
};

async function commands(name: string): Promise<AccessoryCommands> {
  return new AccessoryCommands(
    await load(STACK, { files: { 'config/postgres.conf': 'shared_buffers=1GB\n' } }),
    name,
  );
}
const line = commandLine;

test('docker run for each accessory of the stack', async () => {
  assert.equal(
    line((await commands('postgres')).run('10.0.0.1')),
    'docker run --name heatwave-postgres --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 127.0.0.1:5432:5432 --env KAMAL_HOST="10.0.0.1" --env POSTGRES_USER="heatwave" --env-file .kamal/apps/heatwave/env/accessories/postgres.env --volume $PWD/heatwave-postgres/etc/postgresql/postgresql.conf:/etc/postgresql/postgresql.conf --volume $PWD/heatwave-postgres/data:/var/lib/postgresql/data --label service="heatwave-postgres" --shm-size "1g" ghcr.io/heatwave-postgres:18',
  );
  assert.equal(
    line((await commands('valkey-queue')).run('10.0.0.2')),
    'docker run --name heatwave-valkey-queue --detach --restart always --network kamal --log-opt max-size="10m" --env KAMAL_HOST="10.0.0.2" --env-file .kamal/apps/heatwave/env/accessories/valkey-queue.env --volume heatwave-valkey-queue:/data --label service="heatwave-valkey-queue" valkey/valkey:9.1 valkey-server --maxmemory-policy noeviction --appendonly yes',
  );
  assert.equal(
    line((await commands('mailpit')).run()),
    'docker run --name heatwave-mailpit --detach --restart unless-stopped --network mail --log-opt max-size="10m" --publish 100.123.47.52:8025:8025 --env-file .kamal/apps/heatwave/env/accessories/mailpit.env --label service="heatwave-mailpit" --label purpose="smtp-sink" axllent/mailpit',
  );
});

test('placement by host, role and roles', async () => {
  assert.deepEqual((await commands('postgres')).accessory.hosts, ['10.0.0.1']);
  assert.deepEqual((await commands('valkey-queue')).accessory.hosts, ['10.0.0.1', '10.0.0.2']);
  assert.deepEqual((await commands('mailpit')).accessory.hosts, ['10.0.0.1']);
});

test('files: mkdir, upload, chmod and chown; directories: mkdir under $PWD/<service>', async () => {
  const pg = await commands('postgres');
  const [file] = pg.fileSteps();
  assert.deepEqual(
    file!.steps.map((s) => ('command' in s ? line(s.command) : `upload ${s.upload.remote}`)),
    [
      'mkdir -p heatwave-postgres/etc/postgresql',
      'upload heatwave-postgres/etc/postgresql/postgresql.conf',
      'chmod 0644 heatwave-postgres/etc/postgresql/postgresql.conf',
      'chown 999:999 heatwave-postgres/etc/postgresql/postgresql.conf',
    ],
  );
  assert.deepEqual(pg.directoryCommands().map(line), ['mkdir -p $PWD/heatwave-postgres/data']);
  assert.equal(pg.envFile(() => 's3cret').mode, '0600');
  assert.equal(pg.envFile(() => 's3cret').path, '.kamal/apps/heatwave/env/accessories/postgres.env');
  assert.equal(pg.envFile(() => 's3cret').content, 'POSTGRES_PASSWORD=s3cret\n');
});

test('upgrade probes: running image, image id, mounts, pull', async () => {
  const pg = await commands('postgres');
  assert.equal(
    line(pg.runningImage()),
    "docker container inspect --format '{{.Config.Image}} {{.Image}}' heatwave-postgres",
  );
  assert.equal(line(pg.imageId()), "docker image inspect --format '{{.Id}}' ghcr.io/heatwave-postgres:18");
  assert.equal(
    line(pg.mounts()),
    "docker container inspect --format '{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{println}}{{end}}' heatwave-postgres",
  );
  overrideImage(pg.accessory, 'ghcr.io/heatwave-postgres:18.1');
  assert.equal(line(pg.pullImage()), 'docker image pull ghcr.io/heatwave-postgres:18.1');
  overrideImage(pg.accessory, 'heatwave-postgres:18.2');
  assert.equal(pg.accessory.image, 'ghcr.io/heatwave-postgres:18.2');
});

test('follow logs and interactive exec over ssh on a chosen host', async () => {
  const valkey = await commands('valkey-queue');
  assert.equal(
    line(valkey.followLogs({ host: '10.0.0.2', grep: 'ERR' })),
    `ssh -t root@10.0.0.2 -p 22 'docker logs heatwave-valkey-queue --timestamps --tail 10 --follow 2>&1 | grep "ERR"'`,
  );
  assert.equal(
    line(valkey.executeInExistingContainerOverSsh(['valkey-cli'], { tty: true })),
    `ssh -t root@10.0.0.1 -p 22 'docker exec -it heatwave-valkey-queue valkey-cli'`,
  );
});

test('a proxied accessory is deployed to and removed from wharf-proxy under its service name', async () => {
  const echo = await commands('echo');
  assert.match(
    line(echo.deploy('abc123')),
    /^docker exec kamal-proxy kamal-proxy deploy echo-service --target="abc123:8080" --host="echo\.example\.com" /,
  );
  assert.equal(line(echo.remove()), 'docker exec kamal-proxy kamal-proxy remove echo-service');
});

async function contextFor(raw: Raw): Promise<Context> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acc-ctx-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config/deploy.yml'), JSON.stringify(raw));
  return new Context({ flags: { configFile: join(dir, 'config/deploy.yml'), quiet: true } });
}

test('the removal plan names what remove deletes and what it leaves in place', async () => {
  const raw = structuredClone(STACK) as Raw & { accessories: Record<string, Raw> };
  raw.accessories.postgres!.directories = ['data:/var/lib/postgresql/data', '/srv/pg-archive:/archive'];
  const ctx = await contextFor(raw);
  const plans = await removalPlan(ctx, 'all');
  assert.deepEqual(
    plans.map((p) => p.accessory),
    ['postgres', 'valkey-queue', 'mailpit', 'echo'],
  );
  assert.equal(
    describeRemoval(plans.slice(0, 2)),
    'accessory postgres on 10.0.0.1: container heatwave-postgres, image ghcr.io/heatwave-postgres:18 and ~/heatwave-postgres, with directory ~/heatwave-postgres/data (at /var/lib/postgresql/data), file ~/heatwave-postgres/etc/postgresql/postgresql.conf; left in place: host directory /srv/pg-archive (at /archive)\n' +
      'accessory valkey-queue on 10.0.0.1, 10.0.0.2: container heatwave-valkey-queue, image valkey/valkey:9.1 and ~/heatwave-valkey-queue; left in place: volume heatwave-valkey-queue (at /data)',
  );
  assert.equal(removalDeletesData(plans), true);
  assert.equal(removalDeletesData(await removalPlan(ctx, 'mailpit')), false);
  await ctx.close();
});

test('-h narrows an accessory to the selected hosts; an unknown name lists the accessories', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acc-ctx-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config/deploy.yml'), JSON.stringify(STACK));
  const ctx = new Context({
    flags: { configFile: join(dir, 'config/deploy.yml'), quiet: true, hosts: '10.0.0.2' },
  });
  const [plan] = await removalPlan(ctx, 'valkey-queue');
  assert.deepEqual(plan!.hosts, ['10.0.0.2']);
  assert.deepEqual((await removalPlan(ctx, 'postgres'))[0]!.hosts, []);
  await assert.rejects(
    accessoryNames(ctx, 'redis'),
    /^Error: No accessory by the name of 'redis' \(options: postgres, valkey-queue, mailpit, and echo\)$|No accessory by the name of 'redis' \(options: postgres, valkey-queue, mailpit, and echo\)/,
  );
  await ctx.close();
});
