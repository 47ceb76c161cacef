// The deploy's per-host state (one round trip read, Kamal's rules applied in
// TypeScript) and the merged boot round trips (start, swap + stop, tag +
// prune). The shell scripts run in a real `sh` with a stand-in `docker` on
// PATH that records its argv and answers from files, so the shell logic
// itself is what is tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppCommands, commandLine } from '../../../src/commands/index.js';
import { PruneCommands } from '../../../src/commands/prune.js';
import {
  containerNamed,
  createdKey,
  currentVersion,
  hostStateScript,
  stateAndProxyScript,
  listedContainers,
  parseHostState,
  replacedContainers,
  withStopped,
  type ContainerInfo,
  type HostState,
} from '../../../src/deploy/host-state.js';
import {
  bootHost,
  CONTAINER_ID_VARIABLE,
  oldContainersToStop,
  parseStart,
  STARTED_MARKER,
  startScript,
  stopOldScript,
  SWAPPED_MARKER,
  swapScript,
  watchMarker,
} from '../../../src/deploy/app-boot.js';
import { staleContainers } from '../../../src/deploy/deploy.js';
import { proxyProbe, parseProxyState } from '../../../src/deploy/proxy.js';
import { pruneRetain, tagThenPrune } from '../../../src/deploy/prune.js';
import { load, type Raw } from '../../commands/support.js';
import { fakeDocker } from './fake-docker.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: { web: ['1.1.1.1'], workers: { hosts: ['1.1.1.1'], proxy: false } },
  builder: { arch: 'amd64' },
};

function sh(script: string, dir: string, input?: string) {
  return spawnSync('sh', ['-c', script], {
    cwd: dir,
    input,
    encoding: 'utf8',
    env: { ...process.env, PATH: `${dir}:${process.env.PATH}` },
  });
}

const LATEST = 'sha256:1111';
const OTHER = 'sha256:2222';

function container(name: string, fields: Partial<ContainerInfo> = {}): ContainerInfo {
  const role = /^app-(web|workers)-/.exec(name)?.[1] ?? 'web';
  return {
    id: `${name}-id`,
    name,
    image: LATEST,
    state: 'running',
    created: '2026-11-27T04:00:00.5Z',
    labels: { service: 'app', destination: '', role },
    ...fields,
  };
}

test('the state script reads the latest image and every service container in three docker runs', async () => {
  const config = await load(BASE);
  const fake = fakeDocker();
  fake.answer('ps', 'aaa\nbbb\n');
  fake.answer('image', `${LATEST}\n`);
  fake.answer(
    'inspect',
    [
      `container=aaa /app-web-998 ${LATEST} running 2026-11-27T04:00:00.1Z {"destination":"","role":"web","service":"app"}`,
      `container=bbb /app-workers-998 ${OTHER} exited 2026-11-27T04:00:01Z {"destination":"","role":"workers","service":"app"}`,
    ].join('\n'),
  );
  fake.fail('inspect', 1); // a new-version name that does not exist makes inspect fail: the script goes on
  const r = sh(hostStateScript(config, ['app-web-999', 'app-workers-999']), fake.dir);
  assert.equal(r.status, 0);
  assert.deepEqual(fake.calls(), [
    'image inspect --format {{.Id}} dhh/app:latest',
    'ps --all --quiet --filter label=service=app',
    `inspect --type container --format container={{.Id}} {{.Name}} {{.Image}} {{.State.Status}} {{.Created}} {{json .Config.Labels}} aaa bbb app-web-999 app-workers-999`,
  ]);
  const state = parseHostState(r.stdout);
  assert.equal(state.latestImageId, LATEST);
  assert.deepEqual(
    state.containers.map((c) => [c.name, c.state, c.labels.role]),
    [
      ['app-web-998', 'running', 'web'],
      ['app-workers-998', 'exited', 'workers'],
    ],
  );
});

test('the proxy probe and the state share one round trip: docker ps, then one docker inspect for every object', async () => {
  const config = await load(BASE);
  const proxy = { containerName: 'kamal-proxy', imageFile: 'image' };
  const lines = (proxyLine: string | undefined) =>
    [
      `container=aaa /app-web-998 ${LATEST} running 2026-11-27T04:00:00Z {"destination":"","role":"web","service":"app"}`,
      ...(proxyLine ? [proxyLine] : []),
      `latest=${LATEST}`,
    ].join('\n');
  // The proxy runs: no network create.
  let fake = fakeDocker();
  fake.answer('ps', 'aaa\n');
  fake.answer('inspect', lines('inspect=true registry/wharf-proxy:1'));
  fake.fail('inspect', 1); // the new version's name does not exist yet: inspect fails, the script goes on
  let r = sh(stateAndProxyScript(config, ['app-web-999'], proxy), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fake.calls(), [
    'ps --all --quiet --filter label=service=app',
    `inspect --format {{if index . "State"}}{{if eq .Name "/kamal-proxy"}}inspect={{.State.Running}} {{.Config.Image}}{{else}}container={{.Id}} {{.Name}} {{.Image}} {{.State.Status}} {{.Created}} {{json .Config.Labels}}{{end}}{{else}}latest={{.Id}}{{end}} aaa app-web-999 kamal-proxy dhh/app:latest`,
  ]);
  assert.deepEqual(parseProxyState(r.stdout), {
    exists: true,
    running: true,
    image: 'registry/wharf-proxy:1',
    bootImageFile: false,
  });
  let state = parseHostState(r.stdout);
  assert.equal(state.latestImageId, LATEST);
  assert.deepEqual(
    state.containers.map((c) => c.name),
    ['app-web-998'],
  );
  // No proxy container (and a boot image file): the network is created, as Kamal's proxy boot does.
  fake = fakeDocker();
  fake.answer('ps', 'aaa\n');
  fake.answer('inspect', lines(undefined));
  writeFileSync(join(fake.dir, 'image'), 'x\n');
  r = sh(stateAndProxyScript(config, ['app-web-999'], proxy), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ').slice(0, 2).join(' ')),
    ['ps --all', 'inspect --format', 'network create'],
  );
  assert.deepEqual(parseProxyState(r.stdout), {
    exists: false,
    running: false,
    image: '',
    bootImageFile: true,
  });
  state = parseHostState(r.stdout);
  assert.equal(state.containers.length, 1);
  // A stopped proxy: network create too.
  fake = fakeDocker();
  fake.answer('inspect', lines('inspect=false registry/wharf-proxy:1'));
  r = sh(stateAndProxyScript(config, ['app-web-999'], proxy), fake.dir);
  assert.ok(fake.calls().some((c) => c.startsWith('network create kamal')));
  assert.equal(parseProxyState(r.stdout).exists, true);
  // Without the proxy: the same inspect without the proxy's name; without app roles only the probe.
  fake = fakeDocker();
  r = sh(stateAndProxyScript(config, ['app-web-999'], undefined), fake.dir);
  assert.equal(r.status, 0);
  assert.ok(fake.calls()[1]!.endsWith(' app-web-999 dhh/app:latest'));
  assert.ok(!fake.calls()[1]!.includes('kamal-proxy'));
  assert.equal(stateAndProxyScript(config, [], proxy), proxyProbe('kamal-proxy', 'image'));
  assert.equal(stateAndProxyScript(config, [], undefined), 'true');
});

test('parseHostState ignores other lines, strips the leading slash and counts a container once', () => {
  const line = `container=abc /app-web-1 ${LATEST} running 2026-11-27T04:00:00Z {"role":"web","service":"app","destination":""}`;
  const state = parseHostState(`inspect=true img\nlatest=\n${line}\n${line}\ncontainer=broken\n`);
  assert.equal(state.latestImageId, '');
  assert.equal(state.containers.length, 1);
  assert.equal(state.containers[0]!.name, 'app-web-1');
  // Labels that are not JSON (null for a container without labels) read as none.
  const bare = parseHostState(`container=x /other ${OTHER} exited 2026-11-27T04:00:00Z null`);
  assert.deepEqual(bare.containers[0]!.labels, {});
});

test('creation times sort by value although Docker trims trailing zeros of the fraction', () => {
  assert.ok(createdKey('2026-11-27T04:00:21.12345Z') > createdKey('2026-11-27T04:00:21.1234Z'));
  assert.ok(createdKey('2026-11-27T04:00:21.1Z') > createdKey('2026-11-27T04:00:21Z'));
  assert.ok(createdKey('2026-11-27T04:00:22Z') > createdKey('2026-11-27T04:00:21.999999999Z'));
});

test("current version: Kamal's rule, the newest running container of the latest image, else the newest running", async () => {
  const config = await load(BASE);
  const web = config.role('web')!;
  const workers = config.role('workers')!;
  const state: HostState = {
    latestImageId: LATEST,
    containers: [
      container('app-web-old', { created: '2026-11-27T04:00:00.1Z' }),
      container('app-web-newer', { created: '2026-11-27T04:00:00.12Z', image: OTHER }),
      container('app-web-stopped', { created: '2026-11-27T05:00:00Z', state: 'exited' }),
      container('app-workers-a', { created: '2026-11-27T04:00:00.2Z', image: OTHER }),
      container('app-workers-b', { created: '2026-11-27T04:00:00.25Z', image: OTHER, state: 'restarting' }),
      // Another destination's and another service's containers never count.
      container('app-web-staging', {
        created: '2026-11-27T06:00:00Z',
        labels: { service: 'app', destination: 'staging', role: 'web' },
      }),
      container('app-web-foreign', {
        created: '2026-11-27T06:00:00Z',
        labels: { service: 'other', role: 'web' },
      }),
    ],
  };
  assert.equal(currentVersion(state, config, web), 'old'); // the latest image wins over a newer container
  assert.equal(currentVersion({ ...state, latestImageId: '' }, config, web), 'newer');
  assert.equal(currentVersion(state, config, workers), 'b'); // restarting counts as running
  assert.equal(currentVersion(withStopped(state, ['app-workers-b']), config, workers), 'a');
  assert.equal(currentVersion({ latestImageId: LATEST, containers: [] }, config, web), undefined);
});

test('stale containers come from the listed (running, restarting, paused) containers of the role', async () => {
  const config = await load(BASE);
  const web = config.role('web')!;
  const state: HostState = {
    latestImageId: LATEST,
    containers: [
      container('app-web-aaaa', { created: '2026-11-27T04:00:02Z' }),
      container('app-web-bbbb', { created: '2026-11-27T04:00:01Z', image: OTHER, state: 'paused' }),
      container('app-web-cccc', { state: 'exited' }),
      container('app-workers-dddd'),
    ],
  };
  const running = listedContainers(state, config, web);
  assert.deepEqual(
    running.map((c) => c.name),
    ['app-web-aaaa', 'app-web-bbbb'],
  );
  const current = currentVersion(state, config, web) ?? '';
  assert.deepEqual(staleContainers(running, web.containerPrefix(), current), ['bbbb']);
  // A proxied role's boot stops all of them once its new version serves, newest first; a
  // container of the new version's name goes by the name it was renamed to.
  assert.deepEqual(replacedContainers(state, config, web), ['app-web-aaaa', 'app-web-bbbb']);
  assert.deepEqual(
    replacedContainers(state, config, web, { name: 'app-web-bbbb', renamed: 'app-web-bbbb_replaced_1' }),
    ['app-web-aaaa', 'app-web-bbbb_replaced_1'],
  );
  assert.deepEqual(replacedContainers(withStopped(state, ['app-web-aaaa', 'app-web-bbbb']), config, web), []);
  assert.equal(containerNamed(state, 'app-web-cccc')?.state, 'exited');
  assert.equal(containerNamed(state, 'app-web-zzzz'), undefined);
});

test('the start round trip writes the env file from stdin (0600), audits, renames, runs and reads the status', async () => {
  const config = await load(BASE);
  const role = config.role('workers')!;
  const app = new AppCommands(config, { role, host: '1.1.1.1' });
  const fake = fakeDocker();
  fake.answer('run', `${'f'.repeat(64)}\n`);
  fake.answer('inspect', 'running\n');
  const script = startScript({
    prepare: ['mkdir', '-p', 'envdir', '&&', 'echo', 'booted', '>>', 'audit.log'],
    envFile: 'envdir/roles/workers.env',
    rename: app.renameContainer('999', '999_replaced_ab'),
    run: ['docker', 'run', '--detach', '--name', app.containerName()],
    statusOf: app.containerName(),
  });
  const r = sh(script, fake.dir, 'SECRET=s3cr3t\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(fake.dir, 'envdir/roles/workers.env'), 'utf8'), 'SECRET=s3cr3t\n');
  assert.equal(statSync(join(fake.dir, 'envdir/roles/workers.env')).mode & 0o777, 0o600);
  assert.equal(readFileSync(join(fake.dir, 'audit.log'), 'utf8'), 'booted\n');
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ').slice(0, 2).join(' ')),
    ['rename app-workers-999', 'run --detach', `inspect --format`],
  );
  assert.ok(!script.includes('s3cr3t'), 'the secret travels on stdin, not in the command');
  assert.deepEqual(parseStart(r.stdout), { containerId: 'f'.repeat(12), status: 'running' });
});

test('a failing env file write stops the start before docker run', async () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'blocker'), 'a file where a directory should be');
  const r = sh(
    startScript({ prepare: ['true'], envFile: 'blocker/roles/web.env', run: ['docker', 'run'] }),
    fake.dir,
    'A=1\n',
  );
  assert.notEqual(r.status, 0);
  assert.deepEqual(fake.calls(), []);
});

test('parseStart takes the container id line even with other output around it', () => {
  const id = 'a'.repeat(64);
  assert.deepEqual(parseStart(`Unable to find image locally\n${id}\n`), {
    containerId: 'a'.repeat(12),
    status: undefined,
  });
  assert.equal(parseStart('0123456789abcdef\n').containerId, '0123456789ab');
});

test('swap then stop: the old container stops only after a successful kamal-proxy deploy, behind the marker', () => {
  const deploy = ['docker', 'exec', 'kamal-proxy', 'kamal-proxy', 'deploy', 'app-web'];
  const stop = stopOldScript(['docker', 'stop', 'app-web-998'], ['rm', '-r', 'old-assets']);
  // Success: marker, stop, clean-up.
  let fake = fakeDocker();
  let r = sh(swapScript(deploy, stop), fake.dir);
  assert.equal(
    r.status,
    1,
    'rm of the missing old-assets fails: the clean-up failure shows in the exit status',
  );
  assert.ok(r.stdout.includes(SWAPPED_MARKER));
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['exec', 'stop'],
  );
  // A failed stop is not the deploy's failure (as in Kamal).
  fake = fakeDocker();
  fake.fail('stop', 1);
  r = sh(swapScript(deploy, stopOldScript(['docker', 'stop', 'app-web-998'], undefined)), fake.dir);
  assert.equal(r.status, 0);
  assert.ok(r.stdout.includes(SWAPPED_MARKER));
  // The proxy refuses the new container: no marker, the old one keeps running.
  fake = fakeDocker();
  fake.fail('exec', 1);
  r = sh(swapScript(deploy, stop), fake.dir);
  assert.notEqual(r.status, 0);
  assert.ok(!r.stdout.includes(SWAPPED_MARKER));
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['exec'],
  );
  // Nothing to stop (a first deploy).
  fake = fakeDocker();
  r = sh(swapScript(deploy, undefined), fake.dir);
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), SWAPPED_MARKER);
});

test('a proxied role starts and is handed to the proxy in one round trip, with the short id of the new container', async () => {
  const config = await load(BASE);
  const role = config.role('web')!;
  const app = new AppCommands(config, { role, host: '1.1.1.1' });
  const deploy = app.deploy(`\${${CONTAINER_ID_VARIABLE}}`);
  assert.deepEqual(
    deploy.slice(0, 6).concat(deploy[6]!),
    ['docker', 'exec', 'kamal-proxy', 'kamal-proxy', 'deploy', 'app-web', '--target="${wharf_id}:80"'],
    'the target is the shell variable, left for the shell to expand',
  );
  const id = 'c0ffee'.repeat(10) + 'abcd';
  const script = (stop?: string) =>
    startScript({
      prepare: ['mkdir', '-p', 'envdir', '&&', 'echo', 'booted', '>>', 'audit.log'],
      envFile: 'envdir/roles/web.env',
      run: ['docker', 'run', '--detach', '--name', app.containerName()],
      handOff: swapScript(
        [
          'docker',
          'exec',
          'kamal-proxy',
          'kamal-proxy',
          'deploy',
          'app-web',
          `--target="\${${CONTAINER_ID_VARIABLE}}:80"`,
        ],
        stop,
      ),
    });
  const stop = stopOldScript(['docker', 'stop', 'app-web-998'], undefined);
  // Success: run, deploy with the first 12 hex digits of the id docker printed last, then the stop.
  let fake = fakeDocker();
  fake.answer('run', `Unable to find image 'app:999' locally\n999: Pulling from app\n${id}\n`);
  let r = sh(script(stop), fake.dir, 'SECRET=s3cr3t\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(join(fake.dir, 'envdir/roles/web.env'), 'utf8'), 'SECRET=s3cr3t\n');
  assert.deepEqual(fake.calls(), [
    `run --detach --name ${app.containerName()}`,
    `exec kamal-proxy kamal-proxy deploy app-web --target=${id.slice(0, 12)}:80`,
    'stop app-web-998',
  ]);
  const lines = r.stdout.trim().split('\n');
  assert.ok(lines.indexOf(STARTED_MARKER) < lines.indexOf(SWAPPED_MARKER));
  assert.equal(parseStart(r.stdout).containerId, id.slice(0, 12));
  // docker run fails: no marker, no handoff, no stop.
  fake = fakeDocker();
  fake.fail('run', 125);
  r = sh(script(stop), fake.dir, 'A=1\n');
  assert.equal(r.status, 125);
  assert.ok(!r.stdout.includes(STARTED_MARKER));
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['run'],
  );
  // The proxy refuses the new container: started, never swapped, the old one keeps running.
  fake = fakeDocker();
  fake.answer('run', `${id}\n`);
  fake.fail('exec', 1);
  r = sh(script(stop), fake.dir, 'A=1\n');
  assert.notEqual(r.status, 0);
  assert.ok(r.stdout.includes(STARTED_MARKER));
  assert.ok(!r.stdout.includes(SWAPPED_MARKER));
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['run', 'exec'],
  );
  // A first deploy: nothing to stop.
  fake = fakeDocker();
  fake.answer('run', `${id}\n`);
  r = sh(script(undefined), fake.dir, 'A=1\n');
  assert.equal(r.status, 0);
  assert.deepEqual(r.stdout.trim().split('\n'), [id, STARTED_MARKER, SWAPPED_MARKER]);
});

test('pruning while the host boots keeps fewer stopped containers by the old ones that stop after it', async () => {
  assert.equal(pruneRetain(5, 2), 3);
  assert.equal(pruneRetain(5, 0), 5);
  assert.equal(pruneRetain(2, 2), 1, 'at least one is kept');
  assert.equal(pruneRetain(1, 3), 1);
  const config = await load(BASE);
  const roles = [config.role('web')!, config.role('workers')!];
  const state: HostState = {
    latestImageId: LATEST,
    containers: [container('app-web-998'), container('app-web-997', { state: 'exited' })],
  };
  assert.equal(oldContainersToStop(state, config, roles), 1, 'only web runs an old version');
  assert.equal(oldContainersToStop({ latestImageId: '', containers: [] }, config, roles), 0);
  // web (proxied) stops every running container of its own after the swap; workers its current one.
  const busy: HostState = {
    latestImageId: LATEST,
    containers: [
      container('app-web-998'),
      container('app-web-999', { image: OTHER }),
      container('app-workers-998'),
      container('app-workers-999', { image: OTHER, state: 'exited' }),
    ],
  };
  assert.equal(oldContainersToStop(busy, config, roles), 3);
});

test('tag then prune: a failed tag stops the round trip before the prune removes anything', () => {
  const prune = ['docker', 'image', 'prune', '--force', ';', 'docker', 'rmi', 'x', '&', 'wait'];
  let fake = fakeDocker();
  let r = sh(tagThenPrune(['docker', 'tag', 'a', 'b'], prune).join(' '), fake.dir);
  assert.equal(r.status, 0);
  assert.deepEqual(
    fake
      .calls()
      .map((c) => c.split(' ')[0])
      .sort(),
    ['image', 'rmi', 'tag'],
  );
  fake = fakeDocker();
  fake.fail('tag', 1);
  r = sh(tagThenPrune(['docker', 'tag', 'a', 'b'], prune).join(' '), fake.dir);
  assert.equal(r.status, 1);
  assert.deepEqual(fake.calls(), ['tag a b']);
});

test('without the proxy and readiness delay, a running first status stops the old container in the start round trip', () => {
  const start = (fake: ReturnType<typeof fakeDocker>) =>
    sh(
      startScript({
        prepare: ['true'],
        envFile: 'env/workers.env',
        run: ['docker', 'run', '--detach'],
        statusOf: 'app-workers-999',
        whenReady: stopOldScript(['docker', 'stop', 'app-workers-998'], undefined),
      }),
      fake.dir,
      'A=1\n',
    );
  // Running at once: marker, then the stop.
  let fake = fakeDocker();
  fake.answer('inspect', 'running\n');
  let r = start(fake);
  assert.equal(r.status, 0, r.stderr);
  assert.ok(r.stdout.includes(SWAPPED_MARKER));
  assert.equal(parseStart(r.stdout).status, 'running');
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['run', 'inspect', 'stop'],
  );
  // A health check still starting: no marker, no stop; wharf waits (and stops it later).
  fake = fakeDocker();
  fake.answer('inspect', 'starting\n');
  r = start(fake);
  assert.equal(r.status, 0);
  assert.ok(!r.stdout.includes(SWAPPED_MARKER));
  assert.equal(parseStart(r.stdout).status, 'starting');
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['run', 'inspect'],
  );
  // Exited at once: no marker, the old container keeps running.
  fake = fakeDocker();
  fake.answer('inspect', 'exited\n');
  r = start(fake);
  assert.ok(!r.stdout.includes(SWAPPED_MARKER));
  assert.ok(!fake.calls().some((c) => c.startsWith('stop')));
  // docker run fails: nothing after it runs.
  fake = fakeDocker();
  fake.fail('run', 125);
  r = start(fake);
  assert.equal(r.status, 125);
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['run'],
  );
});

test('prune at once: one docker rm for the containers beyond retain, one docker rmi for the unused tags', async () => {
  const config = await load(BASE);
  const prune = new PruneCommands(config);
  const fake = fakeDocker();
  fake.answer('ps', ['c7', 'c6', 'c5', 'c4', 'c3', 'c2', 'c1'].join('\n') + '\n');
  fake.answer(
    'image',
    [
      'i1 dhh/app:latest',
      'i2 dhh/app:999',
      'i3 dhh/app:998',
      'i4 dhh/app:997',
      'i5 dhh/app:996',
      'i6 dhh/app:<none>',
    ].join('\n') + '\n',
  );
  // One container runs 999 by name, one an image whose tag moved on (shown by id).
  fake.answer('container', 'dhh/app:999\\|i5\\|\n');
  let r = sh(commandLine(prune.appContainersAtOnce(5)), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fake.calls().slice(1), ['rm c2 c1']);
  r = sh(commandLine(prune.taggedImagesAtOnce()), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(fake.calls().at(-1), 'rmi dhh/app:998 dhh/app:997');
  // Nothing beyond retain, nothing unused: no docker rm or rmi at all.
  const idle = fakeDocker();
  idle.answer('ps', 'c2\nc1\n');
  idle.answer('image', 'i1 dhh/app:latest\n');
  assert.equal(sh(commandLine(prune.appContainersAtOnce(5)), idle.dir).status, 0);
  assert.equal(sh(commandLine(prune.taggedImagesAtOnce()), idle.dir).status, 0);
  // (image ls and the container list for grep run side by side in the pipeline.)
  assert.deepEqual(
    idle
      .calls()
      .map((c) => c.split(' ')[0])
      .sort(),
    ['container', 'image', 'ps'],
  );
});

test('watchMarker fires once, also when the marker line is split across chunks', () => {
  let calls = 0;
  const watch = watchMarker(() => calls++);
  watch(Buffer.from('wharf_status=running\nwharf-swapped-to'));
  assert.equal(calls, 0);
  watch(Buffer.from('-new-version\nhello-worker-1\n'));
  watch(Buffer.from(`${SWAPPED_MARKER}\n`));
  assert.equal(calls, 1);
});

test('roles on a host: the next one starts when the one before is ready, not when it finished', async () => {
  const config = await load({
    ...BASE,
    servers: {
      web: ['1.1.1.1'],
      workers: { hosts: ['1.1.1.1'], proxy: false },
      jobs: { hosts: ['1.1.1.1'], proxy: false },
    },
  });
  const roles = ['web', 'workers', 'jobs'].map((n) => config.role(n)!);
  const log: string[] = [];
  const results = await bootHost(roles, async (role, onReady) => {
    log.push(`start ${role.name}`);
    await new Promise((r) => setTimeout(r, 5));
    onReady();
    log.push(`ready ${role.name}`);
    await new Promise((r) => setTimeout(r, 30)); // the old container stopping
    log.push(`done ${role.name}`);
    return { host: '1.1.1.1', role: role.name, oldVersion: undefined };
  });
  assert.deepEqual(
    results.map((r) => r.role),
    ['web', 'workers', 'jobs'],
  );
  assert.ok(log.indexOf('start workers') < log.indexOf('done web'), log.join(', '));
  assert.ok(log.indexOf('start jobs') > log.indexOf('ready workers'), log.join(', '));
});

test('roles on a host: a role that fails before it is ready stops the later ones', async () => {
  const config = await load(BASE);
  const roles = ['web', 'workers'].map((n) => config.role(n)!);
  const started: string[] = [];
  await assert.rejects(
    bootHost(roles, async (role) => {
      started.push(role.name);
      throw new Error(`${role.name} never became healthy`);
    }),
    /web never became healthy/,
  );
  assert.deepEqual(started, ['web']);
  // A failure after ready (stopping the old container) is reported, but the next role did start.
  const after: string[] = [];
  await assert.rejects(
    bootHost(roles, async (role, onReady) => {
      after.push(role.name);
      onReady();
      if (role.name === 'web') throw new Error('could not remove old assets');
      return { host: 'h', role: role.name, oldVersion: undefined };
    }),
    /could not remove old assets/,
  );
  assert.deepEqual(after, ['web', 'workers']);
});
