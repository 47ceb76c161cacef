// The deploy's fewer-round-trip scripts (pull batch, proxy probe, prune), run
// by a real `sh` with a stand-in `docker` on PATH that records its argv and
// answers from files, so the shell logic itself is what is tested.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { planPull } from '../../../src/build/index.js';
import {
  MIRROR_FOUND,
  mirrorGate,
  overlapCleanWithLogin,
  pullBatch,
  pullFailure,
} from '../../../src/deploy/build-pull.js';
import { proxyProbe } from '../../../src/deploy/proxy.js';
import { pruneListedOnce, pruneScript } from '../../../src/deploy/prune.js';
import { load } from '../../commands/support.js';
import { lockReleaseStatus, thenReleaseLock } from '../../../src/deploy/lock.js';
import { batchScript, newBatchNonce, splitBatchOutput } from '../../../src/ssh/batch.js';
import { fakeDocker } from './fake-docker.js';

function sh(script: string, dir: string, cwd = dir) {
  return spawnSync('sh', ['-c', script], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      PATH: `${dir}:${process.env.PATH}`,
      WHARF_REGISTRY_USERNAME: 'u',
      WHARF_REGISTRY_PASSWORD: 'p',
    },
  });
}

const spec = {
  service: 'hello',
  image: 'registry.example:5000/hello:abc',
  registry: { server: 'registry.example:5000', username: 'u', password: 'p' },
};

function runPull(fake: ReturnType<typeof fakeDocker>) {
  const steps = planPull(spec);
  const nonce = newBatchNonce();
  const r = sh(batchScript(pullBatch(steps), nonce), fake.dir);
  return { steps, results: splitBatchOutput(r.stdout, r.stderr, nonce) };
}

test('the pull batch logs in, removes the old image, pulls and checks the label, in that order', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'inspect.out'), 'hello\n');
  const { steps, results } = runPull(fake);
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ').slice(0, 2).join(' ')),
    ['login registry.example:5000', 'image rm', 'pull registry.example:5000/hello:abc', 'inspect -f'],
  );
  assert.equal(results.length, 4);
  assert.equal(pullFailure('h1', steps, results), undefined);
});

test('a failing image removal does not stop the pull (Kamal ignores it)', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'inspect.out'), 'hello\n');
  fake.fail('image', 1);
  const { steps, results } = runPull(fake);
  assert.equal(fake.calls().length, 4);
  assert.equal(pullFailure('h1', steps, results), undefined);
});

test('a failing pull stops the batch and is reported as that step on that host', () => {
  const fake = fakeDocker();
  fake.fail('pull', 1);
  const { steps, results } = runPull(fake);
  assert.equal(fake.calls().length, 3, 'the label check did not run');
  assert.equal(
    pullFailure('h1', steps, results),
    'Could not pull the image on h1: docker pull failed: no luck.',
  );
});

test('an image without the service label fails the label check step', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'inspect.out'), 'other\n');
  const { steps, results } = runPull(fake);
  assert.match(
    pullFailure('h2', steps, results) ?? '',
    /^Could not check the image's service label on h2: Image registry\.example:5000\/hello:abc is missing the 'service' label\.$/,
  );
});

test('pullFailure names the step that never ran when the shell ended early', () => {
  const steps = planPull(spec);
  assert.equal(
    pullFailure('h3', steps, [{ code: 0, stdout: '', stderr: '' }]),
    'Could not remove the old image on h3: the command did not run.',
  );
});

test('with several hosts the batch first reads the mirror: none, so it pulls in the same round trip', () => {
  const fake = fakeDocker();
  fake.fail('info', 1); // `{{index .RegistryConfig.Mirrors 0}}` fails when there is no mirror
  writeFileSync(join(fake.dir, 'inspect.out'), 'hello\n');
  const nonce = newBatchNonce();
  const r = sh(batchScript([mirrorGate(), ...pullBatch(planPull(spec))], nonce), fake.dir);
  const results = splitBatchOutput(r.stdout, r.stderr, nonce);
  assert.equal(results.length, 5);
  assert.equal(results[0]!.code, 0);
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['info', 'login', 'image', 'pull', 'inspect'],
  );
});

test('a host with a registry mirror stops its batch before pulling and names the mirror', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'info.out'), 'https://mirror.example\n');
  const nonce = newBatchNonce();
  const r = sh(batchScript([mirrorGate(), ...pullBatch(planPull(spec))], nonce), fake.dir);
  const results = splitBatchOutput(r.stdout, r.stderr, nonce);
  assert.equal(results.length, 1);
  assert.equal(results[0]!.code, MIRROR_FOUND);
  assert.equal(results[0]!.stdout.trim(), 'https://mirror.example');
  assert.deepEqual(fake.calls(), ['info --format {{index .RegistryConfig.Mirrors 0}}']);
});

test('the proxy probe skips `docker network create` when the proxy is running', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'inspect.out'), 'true localhost:5000/basecamp/kamal-proxy:v0.9.2\n');
  const r = sh(proxyProbe('kamal-proxy', '.kamal/proxy/image'), fake.dir);
  assert.equal(r.status, 0);
  assert.match(r.stdout, /^inspect=true localhost:5000\/basecamp\/kamal-proxy:v0\.9\.2$/m);
  assert.doesNotMatch(r.stdout, /bootimage/);
  assert.deepEqual(
    fake.calls().map((c) => c.split(' ')[0]),
    ['inspect'],
  );
});

test('the proxy probe creates the network when the proxy is stopped or missing, and sees a boot image file', () => {
  for (const inspect of ['false localhost:5000/wharf-proxy:0.1.0\n', undefined]) {
    const fake = fakeDocker();
    if (inspect) writeFileSync(join(fake.dir, 'inspect.out'), inspect);
    else fake.fail('inspect', 1);
    writeFileSync(join(fake.dir, 'image'), 'x\n');
    const r = sh(proxyProbe('kamal-proxy', 'image'), fake.dir);
    assert.deepEqual(
      fake.calls().map((c) => c.split(' ').slice(0, 3).join(' ')),
      ['inspect --format {{.State.Running}}', 'network create kamal'],
    );
    assert.match(r.stdout, inspect ? /^inspect=false / : /^inspect=$/m);
    assert.match(r.stdout, /^bootimage=yes$/m);
  }
});

test('prune: audit, containers, then both image cleanups, each running whatever failed before', () => {
  const fake = fakeDocker();
  fake.fail('ps', 1);
  fake.fail('image', 1);
  const script = pruneScript(
    ['echo', 'audit', '>>', 'audit.log'],
    ['docker', 'ps', '-q', '-a'],
    [
      ['docker', 'image', 'prune', '--force'],
      ['docker', 'container', 'ls', '|', 'cat'],
    ],
  ).join(' ');
  const r = sh(script, fake.dir);
  assert.equal(r.status, 0);
  assert.equal(readFileSync(join(fake.dir, 'audit.log'), 'utf8'), 'audit\n');
  const calls = fake.calls();
  assert.equal(calls[0], 'ps -q -a');
  assert.deepEqual(calls.slice(1).sort(), ['container ls', 'image prune --force']);
});

test('the old image goes beside the login: one batch step, the login status, the pull after both', () => {
  const fake = fakeDocker();
  writeFileSync(join(fake.dir, 'inspect.out'), 'hello\n');
  const steps = overlapCleanWithLogin(planPull(spec));
  assert.deepEqual(
    steps.map((s) => s.step),
    ['log in to registry.example:5000', 'pull the image', "check the image's service label"],
  );
  const nonce = newBatchNonce();
  let r = sh(batchScript(pullBatch(steps), nonce), fake.dir);
  let results = splitBatchOutput(r.stdout, r.stderr, nonce);
  assert.equal(pullFailure('h1', steps, results), undefined);
  const calls = fake.calls().map((c) => c.split(' ').slice(0, 2).join(' '));
  assert.deepEqual(calls.slice(0, 2).sort(), ['image rm', 'login registry.example:5000']);
  assert.deepEqual(calls.slice(2), ['pull registry.example:5000/hello:abc', 'inspect -f']);
  // A failing removal is ignored; a failing login stops the batch and is named.
  const failing = fakeDocker();
  failing.fail('image', 1);
  failing.fail('login', 1);
  r = sh(batchScript(pullBatch(steps), nonce), failing.dir);
  results = splitBatchOutput(r.stdout, r.stderr, nonce);
  assert.equal(
    pullFailure('h1', steps, results),
    'Could not log in to registry.example:5000 on h1: docker login failed: no luck.',
  );
  assert.ok(!failing.calls().some((c) => c.startsWith('pull')));
  // Without a login (a local registry) the steps stay as they are.
  const local = planPull({ ...spec, registry: { server: 'localhost:5000' } });
  assert.deepEqual(overlapCleanWithLogin(local), local);
});

test('tag then lock release: the lock goes whatever the tag did, and each status is reported', () => {
  const release = ['rm', 'lock/details', '&&', 'rm', '-r', 'lock'];
  const setUp = (fake: ReturnType<typeof fakeDocker>) =>
    sh('mkdir -p lock && echo held > lock/details', fake.dir);
  // Both succeed.
  let fake = fakeDocker();
  setUp(fake);
  let r = sh(thenReleaseLock('docker tag app:1 app:latest', release), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(lockReleaseStatus(r.stdout), 0);
  assert.deepEqual(fake.calls(), ['tag app:1 app:latest']);
  assert.equal(sh('test -e lock', fake.dir).status, 1, 'the lock is gone');
  // The tag fails: the lock is still released, the exit status is the tag's.
  fake = fakeDocker();
  setUp(fake);
  fake.fail('tag', 3);
  r = sh(thenReleaseLock('docker tag app:1 app:latest', release), fake.dir);
  assert.equal(r.status, 3);
  assert.equal(lockReleaseStatus(r.stdout), 0);
  assert.equal(sh('test -e lock', fake.dir).status, 1);
  // The release fails (no lock there): the tag's status stays 0, the release's is not.
  fake = fakeDocker();
  r = sh(thenReleaseLock('docker tag app:1 app:latest', release), fake.dir);
  assert.equal(r.status, 0);
  assert.notEqual(lockReleaseStatus(r.stdout), 0);
  assert.equal(lockReleaseStatus('no such line\n'), undefined);
});

test('prune with one listing: removes the stopped containers beyond keep, then the tags no remaining container uses', async () => {
  const config = await load({
    service: 'app',
    image: 'dhh/app',
    registry: { username: 'u', password: 'p' },
    servers: { web: ['1.1.1.1'] },
    builder: { arch: 'amd64' },
  });
  const ps = [
    'a1 running dhh/app:v9',
    'b1 exited dhh/app:v8',
    'c1 exited dhh/app:v7',
    'd1 exited dhh/app:v6',
    'e1 dead dhh/app:v5',
    '',
  ].join('\n');
  const images = [
    'i9 dhh/app:v9',
    'i8 dhh/app:v8',
    'i6 dhh/app:v6',
    'i5 dhh/app:v5',
    'il dhh/app:latest',
    'in dhh/app:<none>',
    'ix dhh/app:v50',
    '',
  ].join('\n');
  let fake = fakeDocker();
  fake.answer('ps', ps);
  fake.answer('image', images);
  let r = sh(pruneListedOnce(config, 'echo audited', 2), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^audited$/m);
  let calls = fake.calls();
  assert.deepEqual(calls.slice(0, 2), [
    'ps -a --filter label=service=app --format {{.ID}} {{.State}} {{.Image}}',
    'rm d1 e1',
  ]);
  assert.deepEqual(calls.slice(2, 4).sort(), [
    'image ls --filter label=service=app --format {{.ID}} {{.Repository}}:{{.Tag}}',
    'image prune --force --filter label=service=app',
  ]);
  // v6 and v5 belonged to the removed containers; v50 to none; latest and <none> always stay.
  assert.deepEqual(calls.slice(4), ['rmi dhh/app:v6 dhh/app:v5 dhh/app:v50']);
  // Nothing beyond keep: no docker rm; the tags of every listed container stay.
  fake = fakeDocker();
  fake.answer('ps', ps);
  fake.answer('image', images);
  r = sh(pruneListedOnce(config, 'true', 5), fake.dir);
  assert.equal(r.status, 0, r.stderr);
  calls = fake.calls();
  assert.ok(!calls.some((c) => c.startsWith('rm ')));
  assert.deepEqual(calls.at(-1), 'rmi dhh/app:v50');
  // docker rm fails: no container counts as removed, so their images stay too.
  fake = fakeDocker();
  fake.answer('ps', ps);
  fake.answer('image', images);
  fake.fail('rm', 1);
  r = sh(pruneListedOnce(config, 'true', 2), fake.dir);
  calls = fake.calls();
  assert.ok(calls.includes('rm d1 e1'));
  assert.deepEqual(calls.at(-1), 'rmi dhh/app:v50');
});
