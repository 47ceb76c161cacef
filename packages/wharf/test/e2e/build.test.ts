/**
 * End-to-end: build a tiny image from a clean clone of a temporary git repo
 * on the fleet's engine (plain `docker build` when buildx is absent, as on
 * this machine), push `<registry>/<name>:<version>` and `:latest` to the
 * fleet registry, then pull it on a fleet server over ssh and check the
 * `service` label. Fleet `buildtest`, registry port 5641.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerClient } from '../../src/docker/client.js';
import { detectCapabilities, type DetectedCapabilities } from '../../src/build/capabilities.js';
import { buildAndPush, buildDev } from '../../src/build/push.js';
import { pullOnHosts, stepText, type RemoteExec } from '../../src/build/pull.js';
import { resolveVersion } from '../../src/build/version.js';
import { deliverPhase } from '../../src/build/phases.js';
import type { BuildSpec } from '../../src/build/spec.js';
import { UserError } from '../../src/util/errors.js';
import { fleetUp, sshRun, dockerEnv, type TestFleet } from '../support/fleet.js';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};
function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8' }).trim();
}

async function registryTags(port: number, name: string): Promise<string[]> {
  const res = await fetch(`http://127.0.0.1:${port}/v2/${name}/tags/list`);
  if (res.status !== 200) return [];
  return ((await res.json()) as { tags: string[] | null }).tags ?? [];
}

describe('wharf build on the local fleet', () => {
  let fleet: TestFleet;
  let client: DockerClient;
  let caps: DetectedCapabilities;
  let work: string;
  const port = 5641;

  /** RemoteExec over the system ssh client (the pull steps need no env with a local registry). */
  const sshExec: RemoteExec = async (host, command, options) => {
    assert.equal(options.env, undefined, 'a local registry needs no login env');
    return sshRun(fleet, host, stepText({ step: options.step, command }));
  };

  before(async () => {
    fleet = fleetUp('buildtest', 1, port);
    client = new DockerClient(fleet.docker_host);
    caps = await detectCapabilities(client);
    work = realpathSync(mkdtempSync(join(tmpdir(), 'wharf-build-e2e-')));
  });

  after(() => {
    if (work) rmSync(work, { recursive: true, force: true });
    if (fleet) {
      // The images this file built in the shared engine.
      const env = dockerEnv(fleet);
      const listed = spawnSync(
        'docker',
        ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}', '--filter', `reference=${fleet.registry}/*`],
        { env, encoding: 'utf8' },
      );
      const tags = listed.stdout
        .split('\n')
        .filter((t) => /\/(hello|shop|nolabel|broken|uncommitted-dockerfile):/.test(t));
      if (tags.length > 0) spawnSync('docker', ['image', 'rm', '--force', ...tags], { env });
    }
    fleet?.down();
  });

  function newApp(name: string, dockerfile: string): string {
    const repo = join(work, name);
    execFileSync('mkdir', ['-p', repo]);
    git(repo, 'init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'Dockerfile'), dockerfile);
    writeFileSync(join(repo, 'message.txt'), 'committed\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'app');
    return repo;
  }

  function spec(name: string, version: string, builder: BuildSpec['builder'] = {}): BuildSpec {
    return {
      service: name,
      repository: `${fleet.registry}/${name}`,
      registryServer: fleet.registry,
      version,
      builder: { arch: caps.engineArch, ...builder },
      capabilities: caps,
    };
  }

  test('builds from a clean clone (uncommitted change left out, with a warning), pushes both tags, pulls on a server', async () => {
    const repo = newApp('hello', `FROM ${fleet.base_images.debian}\nCOPY message.txt /message.txt\n`);
    writeFileSync(join(repo, 'message.txt'), 'uncommitted\n');
    const version = await resolveVersion({ cwd: repo, env: {} });
    assert.equal(version, git(repo, 'rev-parse', 'HEAD'));

    const warnings: string[] = [];
    const lines: string[] = [];
    const started = Date.now();
    const result = await buildAndPush({
      spec: spec('hello', version),
      client,
      cwd: repo,
      tmpdir: work,
      warn: (l) => warnings.push(l),
      onLine: (l) => lines.push(l),
    });
    const buildMs = Date.now() - started;
    assert.deepEqual(result.tags, [`${fleet.registry}/hello:${version}`, `${fleet.registry}/hello:latest`]);
    assert.ok(result.buildDirectory.startsWith(join(work, 'kamal-clones', 'hello-')));
    assert.ok(
      warnings.some(
        (w) =>
          w.startsWith('Building from a local git clone, so ignoring these uncommitted changes:') &&
          w.includes('M message.txt'),
      ),
      warnings.join('\n'),
    );
    assert.ok(lines.length > 0);
    assert.deepEqual((await registryTags(port, 'hello')).sort(), [version, 'latest'].sort());

    const server = fleet.servers[0]!.address;
    const pullStarted = Date.now();
    await pullOnHosts(
      [server],
      { service: 'hello', image: result.tags[0]!, registry: { server: fleet.registry } },
      sshExec,
    );
    const pullMs = Date.now() - pullStarted;
    const label = sshRun(fleet, server, `docker inspect -f '{{ .Config.Labels.service }}' ${result.tags[0]}`);
    assert.equal(label.stdout.trim(), 'hello');
    const content = sshRun(fleet, server, `docker run --rm ${result.tags[0]} cat /message.txt`);
    assert.equal(content.code, 0, content.stderr);
    assert.equal(content.stdout, 'committed\n');
    console.log(
      `# build+push ${buildMs} ms (${caps.buildx ? 'buildx' : 'docker build'}), pull on 1 server ${pullMs} ms`,
    );

    // A second build of the same commit reuses the clone (reset, not clone).
    const log: string[] = [];
    await buildAndPush({
      spec: spec('hello', version),
      client,
      cwd: repo,
      tmpdir: work,
      log: (l) => log.push(l),
      warn: () => {},
    });
    assert.ok(
      log.some((l) => l.startsWith('Resetting local clone')),
      log.join('\n'),
    );
  });

  test('build dev: the working tree as it is, tagged -dirty, into the local image store only', async () => {
    const repo = join(work, 'hello');
    writeFileSync(join(repo, 'extra.txt'), 'new\n');
    const version = await resolveVersion({ cwd: repo, env: {} });
    const warnings: string[] = [];
    const result = await buildDev({
      spec: spec('hello', version),
      client,
      cwd: repo,
      warn: (l) => warnings.push(l),
    });
    assert.deepEqual(result.tags, [
      `${fleet.registry}/hello:${version}-dirty`,
      `${fleet.registry}/hello:latest-dirty`,
    ]);
    assert.equal(result.plan.pushes, false);
    assert.deepEqual(warnings, [
      'WARNING: Files with uncommitted changes will be present in the dev container:\n  message.txt',
      'WARNING: Untracked files will be present in the dev container:\n  extra.txt',
    ]);
    const env = dockerEnv(fleet);
    const content = spawnSync('docker', ['run', '--rm', result.tags[0]!, 'cat', '/message.txt'], {
      env,
      encoding: 'utf8',
    });
    assert.equal(content.stdout, 'uncommitted\n');
    assert.ok(!(await registryTags(port, 'hello')).includes(`${version}-dirty`));
  });

  test('deliverPhase from a deploy.yml read by the config loader (localhost registry: no login)', async () => {
    const repo = newApp('shop', `FROM ${fleet.base_images.debian}\nCOPY message.txt /message.txt\n`);
    execFileSync('mkdir', ['-p', join(repo, 'config')]);
    writeFileSync(
      join(repo, 'config', 'deploy.yml'),
      [
        'service: shop',
        'image: shop',
        'servers:',
        `  - ${fleet.servers[0]!.address}`,
        'registry:',
        `  server: ${fleet.registry}`,
        'builder:',
        `  arch: ${caps.engineArch}`,
        '  args:',
        '    GREETING: hello',
        '',
      ].join('\n'),
    );
    git(repo, 'add', '.');
    git(repo, 'commit', '-q', '-m', 'deploy config');
    const { loadConfig } = await import('../../src/config/index.js');
    const config = await loadConfig({ cwd: repo, env: {} });
    const lookup = (name: string): string => {
      throw new Error(`no secret ${name} expected`);
    };
    const result = await deliverPhase(
      { config, lookup, client, tmpdir: work, warn: () => {} },
      { hosts: [fleet.servers[0]!.address], exec: sshExec },
    );
    const head = git(repo, 'rev-parse', 'HEAD');
    assert.deepEqual(result.tags, [`${fleet.registry}/shop:${head}`, `${fleet.registry}/shop:latest`]);
    const label = sshRun(
      fleet,
      fleet.servers[0]!.address,
      `docker inspect -f '{{ .Config.Labels.service }}' ${result.tags[0]}`,
    );
    assert.equal(label.stdout.trim(), 'shop');
  });

  test('the label check fails on a server for an image without the service label', async () => {
    const image = `${fleet.registry}/nolabel:1`;
    const env = dockerEnv(fleet);
    assert.equal(spawnSync('docker', ['tag', fleet.base_images.debian, image], { env }).status, 0);
    assert.equal(spawnSync('docker', ['push', image], { env }).status, 0);
    await assert.rejects(
      pullOnHosts(
        [fleet.servers[0]!.address],
        { service: 'nolabel', image, registry: { server: fleet.registry } },
        sshExec,
      ),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          `Could not check the image's service label on ${fleet.servers[0]!.address}: Image ${image} is missing the 'service' label.`,
    );
  });

  test('with builder.context the working tree is built and a failing step is one sentence', async () => {
    const repo = newApp('broken', `FROM ${fleet.base_images.debian}\nRUN echo about to fail >&2 && exit 3\n`);
    writeFileSync(join(repo, 'message.txt'), 'dirty\n');
    const version = await resolveVersion({ cwd: repo, env: {}, cloneBuild: false });
    assert.match(version, /_uncommitted_[0-9a-f]{16}$/);
    const warnings: string[] = [];
    await assert.rejects(
      buildAndPush({
        spec: spec('broken', version, { context: '.' }),
        client,
        cwd: repo,
        warn: (l) => warnings.push(l),
      }),
      (e: unknown) =>
        e instanceof UserError &&
        /^Building localhost:5641\/broken:[0-9a-f]+_uncommitted_[0-9a-f]{16} failed at .*step .*`RUN echo about to fail >&2 && exit 3`: .*(non-zero code: 3|exit code: 3); fix the Dockerfile or build settings and run again\.$/.test(
          e.message,
        ),
    );
    assert.ok(warnings.some((w) => w.startsWith('Building with uncommitted changes:')));
    // The classic builder leaves no container of the failed step behind (--force-rm).
    const leftovers = spawnSync('docker', ['ps', '--all', '--no-trunc', '--format', '{{.Command}}'], {
      env: dockerEnv(fleet),
      encoding: 'utf8',
    });
    assert.ok(!leftovers.stdout.includes('about to fail'), leftovers.stdout);
    assert.deepEqual(await registryTags(port, 'broken'), []);
  });

  test('a Dockerfile that is not committed is named in one sentence', async () => {
    const repo = newApp('uncommitted-dockerfile', `FROM ${fleet.base_images.debian}\n`);
    writeFileSync(join(repo, 'Dockerfile.prod'), `FROM ${fleet.base_images.debian}\n`);
    await assert.rejects(
      buildAndPush({
        spec: spec('uncommitted-dockerfile', 'v1', { dockerfile: 'Dockerfile.prod' }),
        client,
        cwd: repo,
        tmpdir: work,
        warn: () => {},
      }),
      /^UserError: Dockerfile.prod is not in commit [0-9a-f]{12} \(wharf builds from a clean clone of the current commit\); commit it/,
    );
  });
});
