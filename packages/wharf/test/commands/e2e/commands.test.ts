/**
 * End-to-end: the generated commands run as they are on a fleet server over
 * ssh (as root, in its home, like Kamal), against the server's own dockerd.
 * A two-version app without proxy is booted, found, inspected, exec'd into,
 * has its assets bridged, is stopped and pruned; the deploy lock, the audit
 * log and an accessory with files and directories go through the same path.
 * Fleet `cmdtest`, registry port 5671.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Config } from '../../../src/config/index.js';
import {
  AccessoryCommands,
  AppCommands,
  Auditor,
  LockCommands,
  PruneCommands,
  ServerCommands,
  commandLine,
  containerHostname,
  dockerCommands,
  type Command,
} from '../../../src/commands/index.js';
import { fleetUp, dockerEnv, sshRun, type TestFleet } from '../../support/fleet.js';
import { load } from '../support.js';

const SECRET = 'hunter2 "quoted" $dollar';

describe('commands on a fleet server', () => {
  let fleet: TestFleet;
  let host: string;
  let config: Config;

  /** Runs shell text on the server as root; `input` goes to its stdin. */
  function ssh(text: string, input?: string): { code: number; stdout: string; stderr: string } {
    return sshRun(fleet, host, text, { input, timeoutMs: 180_000 });
  }

  /** Runs a command; fails the test when it fails. */
  function run(cmd: Command, input?: string): string {
    const r = ssh(commandLine(cmd), input);
    assert.equal(r.code, 0, `${commandLine(cmd)}\n${r.stderr}`);
    return r.stdout;
  }
  function docker(args: string[]): string {
    const r = spawnSync('docker', args, { env: dockerEnv(fleet), encoding: 'utf8', timeout: 300_000 });
    assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }
  function app(version: string): AppCommands {
    config.version = version;
    return new AppCommands(config, { role: 'web', host });
  }

  before(async () => {
    try {
      fleet = fleetUp('cmdtest', 1, 5671);
    } catch {
      // `fleet up` has been seen to exit 0 without printing; asking again reports the fleet.
      fleet = fleetUp('cmdtest', 1, 5671);
    }
    host = fleet.servers[0]!.address;
    const dockerfile = [
      `FROM ${fleet.base_images.debian}`,
      'ARG V',
      'LABEL service=app',
      'RUN mkdir -p /public/assets && echo "$V" > /public/assets/app-$V.css',
      `CMD ["sh", "-c", "echo booted $KAMAL_VERSION; trap 'exit 0' TERM; while :; do sleep 1; done"]`,
    ].join('\n');
    for (const v of ['v1', 'v2']) {
      const r = spawnSync(
        'docker',
        ['build', '-q', '--build-arg', `V=${v}`, '-t', `${fleet.registry}/app:${v}`, '-'],
        {
          env: dockerEnv(fleet),
          input: dockerfile,
          encoding: 'utf8',
        },
      );
      assert.equal(r.status, 0, r.stderr);
      docker(['push', '-q', `${fleet.registry}/app:${v}`]);
    }
    config = await load(
      {
        service: 'app',
        image: 'app',
        registry: { server: fleet.registry },
        servers: { web: { hosts: [host], proxy: false } },
        env: { clear: { MODE: 'e2e' }, secret: ['APP_SECRET'] },
        builder: { arch: 'amd64' },
        asset_path: '/public/assets',
        drain_timeout: 5,
        accessories: {
          store: {
            image: `${fleet.registry}/app:v1`,
            host,
            env: { clear: { ROLE: 'store' } },
            files: ['conf/store.conf:/etc/store.conf'],
            directories: ['data:/data'],
            cmd: 'sh -c \'cat /etc/store.conf; trap "exit 0" TERM; while :; do sleep 1; done\'',
          },
        },
      },
      { version: 'v1', files: { 'conf/store.conf': 'size=42\n' } },
    );
    for (const v of ['v1', 'v2']) run(['docker', 'pull', '-q', `${fleet.registry}/app:${v}`]);
  });

  after(() => {
    if (fleet) {
      spawnSync(
        'docker',
        ['image', 'rm', '--force', `${fleet.registry}/app:v1`, `${fleet.registry}/app:v2`],
        { env: dockerEnv(fleet) },
      );
      fleet.down();
    }
  });

  test('boot v1, then v2 with asset bridging; the current container and version are found', () => {
    run(new ServerCommands(config).ensureRunDirectory());
    const r = ssh(commandLine(dockerCommands.createNetwork()));
    assert.ok(r.code === 0 || r.stderr.includes('already exists'), r.stderr);

    const v1 = app('v1');
    run(v1.extractAssets());
    run(v1.syncAssetVolumes());
    run(v1.ensureEnvDirectory());
    const envFile = v1.envFile(() => SECRET);
    run(['(umask 077; cat >', envFile.path, ')'], envFile.content);
    run(v1.run({ hostname: containerHostname(host) }));
    assert.match(run(v1.status('v1')), /^running/);
    run(v1.tagLatestImage());
    assert.equal(run(v1.currentRunningVersion()).trim(), 'v1');

    const v2 = app('v2');
    run(v2.extractAssets());
    run(v2.syncAssetVolumes({ oldVersion: 'v1' }));
    run(v2.run({ hostname: containerHostname(host) }));
    // Both run; the latest image's container (still v1) is the current one.
    assert.equal(run(v2.currentRunningVersion()).trim(), 'v1');
    run(v2.stop({ version: 'v1' }));
    run(v2.tagLatestImage());
    assert.equal(run(v2.currentRunningVersion()).trim(), 'v2');
    // `docker ps` lists running containers only; with --all the stopped v1 too.
    assert.deepEqual(run(v2.listVersions()).trim().split('\n'), ['v2']);
    assert.deepEqual(
      run(v2.listVersions(['--all']))
        .trim()
        .split('\n')
        .sort(),
      ['v1', 'v2'],
    );

    // Bridged: the new volume has both versions' assets, the old one too.
    const volumes = '.kamal/apps/app/assets/volumes';
    assert.equal(run(['ls', `${volumes}/web-v2`]).trim(), 'app-v1.css\napp-v2.css');
    assert.equal(run(['ls', `${volumes}/web-v1`]).trim(), 'app-v1.css\napp-v2.css');
    // As in Kamal, a role without proxy gets no asset volume: the container sees its own image's files.
    assert.ok(!commandLine(v2.run()).includes('assets/volumes'));
    assert.equal(run(v2.executeInExistingContainer(['ls', '/public/assets'])).trim(), 'app-v2.css');
    run(v2.cleanUpAssets());
    assert.equal(run(['ls', '.kamal/apps/app/assets/extracted']).trim(), 'web-v2');
    assert.equal(run(['ls', volumes]).trim(), 'web-v2');
  });

  test('env: clear values on the command line, the secret only in the 0600 env file', () => {
    const a = app('v2');
    assert.equal(run(['stat', '-c', '%a', a.envFilePath]).trim(), '600');
    assert.ok(!commandLine(a.run()).includes('hunter2'));
    const env = run(
      a.executeInExistingContainer([
        'sh',
        '-c',
        '\'echo "$MODE|$APP_SECRET|$KAMAL_CONTAINER_NAME|$KAMAL_VERSION|$KAMAL_HOST"\'',
      ]),
    );
    assert.equal(env.trim(), `e2e|${SECRET}|app-web-v2|v2|${host}`);
    const fresh = run(
      a.executeInNewContainer(['sh', '-c', '\'echo "$APP_SECRET|$FOO"\''], { env: { FOO: 'bar baz' } }),
    );
    assert.equal(fresh.trim(), `${SECRET}|bar baz`);
  });

  test('logs, with grep and tail, and the health log command', () => {
    const a = app('v2');
    assert.match(run(a.logs({ lines: 5 })), /booted v2/);
    assert.match(run(a.logs({ grep: 'booted', timestamps: false })), /^booted v2$/m);
    assert.equal(ssh(commandLine(a.logs({ grep: 'no such line' }))).code, 1);
    assert.match(
      run(a.logs({ containerId: a.containerIdForVersion('v1'), timestamps: false })),
      /^booted v1$/m,
    );
    assert.equal(run(a.containerHealthLog('v2')).trim(), 'null');
    assert.equal(run(a.status('v1')).trim(), 'exited');
    assert.match(run(a.info()), /app-web-v2/);
    assert.match(run(a.listContainerNames()), /app-web-v1/);
  });

  test('stop, rename a clashing container, prune old containers and images', () => {
    const a = app('v2');
    run(a.renameContainer('v1', 'v1_replaced_0123456789abcdef'));
    assert.match(run(a.listContainerNames()), /app-web-v1_replaced_0123456789abcdef/);
    run(a.stop());
    assert.equal(run(a.currentRunningVersion()).trim(), '');
    const prune = new PruneCommands(config);
    run(prune.appContainers(1));
    const names = run(a.listContainerNames()).trim().split('\n');
    assert.equal(names.length, 1, names.join(','));
    // v1's image has no container left and is not latest: removed; v2's stays.
    run(prune.taggedImages());
    run(prune.danglingImages());
    const images = run([
      'docker',
      'image',
      'ls',
      '--format',
      "'{{.Repository}}:{{.Tag}}'",
      `${fleet.registry}/app`,
    ]);
    assert.ok(!images.includes(':v1'), images);
    assert.ok(images.includes(':v2') && images.includes(':latest'), images);
    run(a.removeContainers());
    assert.equal(run(a.listContainers()).trim().split('\n').length, 1); // header only
  });

  test('deploy lock and audit log on the host', () => {
    const lock = new LockCommands(config);
    run(lock.ensureLocksDirectory());
    const details = {
      message: 'Automatic deploy lock',
      version: 'v2',
      lockedBy: 'Zoë',
      at: new Date('2026-11-26T23:00:00Z'),
    };
    run(lock.acquire(details));
    assert.equal(
      run(lock.status()),
      'Locked by: Zoë at 2026-11-26T23:00:00Z\nVersion: v2\nMessage: Automatic deploy lock',
    );
    const again = ssh(commandLine(lock.acquire(details)));
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /cannot create directory/);
    run(lock.release());
    assert.notEqual(ssh(commandLine(lock.status())).code, 0);

    const auditor = new Auditor(
      config,
      { performer: 'dev@example.com', at: new Date('2026-11-26T23:00:00Z') },
      { role: 'web' },
    );
    run(auditor.record('Executed cmd \'echo "$HOME"\' on app version v2'));
    assert.equal(
      run(auditor.reveal()).trim(),
      '[2026-11-26T23:00:00Z] [dev@example.com] [web] Executed cmd \'echo "$HOME"\' on app version v2',
    );
  });

  test('accessory: directories, files, run, exec, logs, stop, remove', () => {
    const acc = new AccessoryCommands(config, 'store');
    for (const cmd of acc.directoryCommands()) run(cmd);
    for (const { steps } of acc.fileSteps()) {
      for (const step of steps) {
        if ('command' in step) run(step.command);
        else run(['cat >', step.upload.remote], 'size=42\n');
      }
    }
    assert.equal(run(['stat', '-c', '%a', 'app-store/etc/store.conf']).trim(), '755');
    run(acc.ensureEnvDirectory());
    const envFile = acc.envFile(() => '');
    run(['cat >', envFile.path], envFile.content);
    assert.equal(run(acc.info({ all: true, quiet: true })).trim(), '');
    run(acc.run(host));
    assert.notEqual(run(acc.info({ all: true, quiet: true })).trim(), '');
    assert.equal(
      run(acc.executeInExistingContainer(['sh', '-c', "'echo $ROLE $KAMAL_HOST; ls /data'"])).trim(),
      `store ${host}`,
    );
    run(acc.executeInExistingContainer(['touch', '/data/x']));
    assert.equal(run(['ls', 'app-store/data']).trim(), 'x');
    assert.match(run(acc.logs({ timestamps: false })), /^size=42$/m);
    assert.match(run(acc.logs({ grep: 'size' })), /size=42/);
    run(acc.stop());
    run(acc.removeContainer());
    assert.equal(run(acc.info({ all: true, quiet: true })).trim(), '');
    run(acc.removeServiceDirectory());
    assert.notEqual(ssh('test -e app-store').code, 0);
  });
});
