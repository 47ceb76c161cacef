/**
 * The buildx path of `build push` end to end against a fake `docker` CLI.
 * This machine has no buildx plugin and no internet to fetch one, so the
 * fake stands in for it, following buildx's documented behaviour: `buildx
 * inspect NAME` fails with `ERROR: no builder "NAME" found` until `buildx
 * create --name NAME` ran; `login --password-stdin` reads the password from
 * stdin; `buildx build --secret id=X` reads $X. It records every argv.
 * (The plain `docker build` path runs on the real engine in test/e2e/build.test.ts.)
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DockerClient } from '../../src/docker/client.js';
import { detectCapabilities } from '../../src/build/capabilities.js';
import { buildAndPush } from '../../src/build/push.js';
import { ensureBuilder } from '../../src/build/scripts.js';
import { buildDetails } from '../../src/build/details.js';
import type { BuildSpec } from '../../src/build/spec.js';
import { UserError } from '../../src/util/errors.js';

function fakeDocker(
  dir: string,
  options: { clientVersion: string; buildx: boolean; failBuild?: boolean; slowBuild?: boolean },
): string {
  const path = join(dir, 'docker');
  writeFileSync(
    path,
    `#!/bin/sh
D='${dir}'
printf '%s\\n' "$*" >> "$D/calls"
case "$1" in
  version) echo "${options.clientVersion} 20.10.24 x86_64"; exit 0;;
  login) read -r pw; printf '%s' "$pw" > "$D/login-password"; echo "Login Succeeded"; exit 0;;
  context) echo "NAME DESCRIPTION"; exit 0;;
esac
[ "$1" = buildx ] || exit 0
${options.buildx ? '' : 'echo "docker: unknown command: docker buildx" >&2; exit 1'}
case "$2" in
  version) echo "github.com/docker/buildx v0.17.1"; exit 0;;
  ls) echo "NAME/NODE DRIVER/ENDPOINT"; exit 0;;
  inspect) if [ -f "$D/builder-$3" ]; then echo "Name: $3"; exit 0; fi; echo "ERROR: no builder \\"$3\\" found" >&2; exit 1;;
  rm) if [ -f "$D/builder-$3" ]; then rm "$D/builder-$3"; exit 0; fi; echo "ERROR: no builder \\"$3\\" found" >&2; exit 1;;
  create) shift 2; while [ $# -gt 0 ]; do [ "$1" = --name ] && { touch "$D/builder-$2"; echo "$2"; }; shift; done; exit 0;;
  build)
    echo "#1 [internal] load build definition from Dockerfile"
    echo "secret TOKEN=$TOKEN" > "$D/build-env"
    echo "BUILDKIT_NO_CLIENT_TOKEN=$BUILDKIT_NO_CLIENT_TOKEN" >> "$D/build-env"
    pwd > "$D/build-cwd"
    ${options.slowBuild ? 'echo start >> "$D/timeline"; sleep 0.4; echo end >> "$D/timeline"' : ''}
    ${
      options.failBuild
        ? `echo "#5 [2/2] RUN make"; echo "------"; echo " > [2/2] RUN make:"; echo "------"; echo "Dockerfile:2"; echo "ERROR: failed to solve: process \\"/bin/sh -c make\\" did not complete successfully: exit code: 2" >&2; exit 1`
        : 'echo "#9 DONE 0.1s"; exit 0'
    };;
esac
`,
  );
  chmodSync(path, 0o755);
  return path;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@example.com',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@example.com',
};

let base: string;
let repo: string;
before(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'wharf-buildx-flow-')));
  repo = join(base, 'app');
  mkdirSync(repo);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: repo, env: GIT_ENV });
  writeFileSync(join(repo, 'Dockerfile'), 'FROM scratch\n');
  execFileSync('git', ['add', '.'], { cwd: repo, env: GIT_ENV });
  execFileSync('git', ['commit', '-q', '-m', 'app'], { cwd: repo, env: GIT_ENV });
});
after(() => rmSync(base, { recursive: true, force: true }));

function setup(name: string, options: Parameters<typeof fakeDocker>[1]) {
  const dir = join(base, name);
  mkdirSync(dir);
  const client = new DockerClient('unix:///nonexistent.sock', fakeDocker(dir, options));
  const calls = () => readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
  return { dir, client, calls };
}

function spec(builder: BuildSpec['builder'] = {}): BuildSpec {
  return {
    service: 'app',
    repository: 'registry.example.com/dhh/app',
    registryServer: 'registry.example.com',
    version: '999',
    builder: { arch: 'amd64', ...builder },
    capabilities: { buildx: true, engineArch: 'amd64' },
  };
}

describe('capability detection', () => {
  test('buildx present', async () => {
    const { client } = setup('caps-buildx', { clientVersion: '27.3.1', buildx: true });
    const caps = await detectCapabilities(client);
    assert.deepEqual(
      { buildx: caps.buildx, buildkit: caps.buildkit, arch: caps.engineArch },
      { buildx: true, buildkit: false, arch: 'amd64' },
    );
  });
  test('no buildx: BuildKit only for CLIs before 23', async () => {
    const modern = await detectCapabilities(
      setup('caps-28', { clientVersion: '28.2.2', buildx: false }).client,
    );
    assert.equal(modern.buildx, false);
    assert.equal(modern.buildkit, false);
    const old = await detectCapabilities(
      setup('caps-20', { clientVersion: '20.10.24', buildx: false }).client,
    );
    assert.equal(old.buildkit, true);
  });
});

describe('buildx push flow', () => {
  test('logs in with the password on stdin, creates the missing builder, builds in the clone with secrets in env only', async () => {
    const { dir, client, calls } = setup('push', { clientVersion: '27.3.1', buildx: true });
    const warnings: string[] = [];
    const lines: string[] = [];
    const result = await buildAndPush({
      spec: spec({ secrets: ['TOKEN'], args: { RUBY: '3.3' } }),
      client,
      cwd: repo,
      tmpdir: base,
      registry: { username: 'dhh', password: 'pw-very-secret' },
      secrets: { TOKEN: 'token-very-secret' },
      warn: (l) => warnings.push(l),
      onLine: (l) => lines.push(l),
    });
    assert.equal(readFileSync(join(dir, 'login-password'), 'utf8'), 'pw-very-secret');
    assert.deepEqual(warnings, ['Missing compatible builder, so creating a new one first']);
    const recorded = calls();
    assert.deepEqual(recorded, [
      'login registry.example.com -u dhh --password-stdin',
      'buildx inspect kamal-local-docker-container',
      'buildx rm kamal-local-docker-container',
      'buildx create --name kamal-local-docker-container --driver=docker-container',
      'buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t registry.example.com/dhh/app:999 -t registry.example.com/dhh/app:latest --label service=app --build-arg RUBY=3.3 --secret id=TOKEN --file Dockerfile .',
    ]);
    assert.ok(!recorded.join('\n').includes('very-secret'));
    assert.equal(
      readFileSync(join(dir, 'build-env'), 'utf8'),
      'secret TOKEN=token-very-secret\nBUILDKIT_NO_CLIENT_TOKEN=\n',
    );
    assert.equal(readFileSync(join(dir, 'build-cwd'), 'utf8').trim(), result.buildDirectory);
    assert.ok(lines.includes('#9 DONE 0.1s'));

    // The builder now exists: the next build only inspects it.
    await buildAndPush({
      spec: spec(),
      client,
      cwd: repo,
      tmpdir: base,
      registry: { username: 'dhh', password: 'pw-very-secret' },
      warn: (l) => warnings.push(l),
    });
    assert.equal(calls().filter((c) => c.startsWith('buildx create')).length, 1);
    assert.equal(warnings.length, 1);
  });

  test('remote builder: no local login, context + builder created, BUILDKIT_NO_CLIENT_TOKEN set', async () => {
    const { dir, client, calls } = setup('remote', { clientVersion: '27.3.1', buildx: true });
    await buildAndPush({
      spec: spec({ arch: 'arm64', remote: 'ssh://app@1.1.1.5', context: '.' }),
      client,
      cwd: repo,
      warn: () => {},
    });
    const recorded = calls();
    assert.ok(!recorded.some((c) => c.startsWith('login')));
    assert.ok(
      recorded.includes(
        'buildx create --name kamal-remote-ssh---app-1-1-1-5 kamal-remote-ssh---app-1-1-1-5-context',
      ),
    );
    assert.ok(
      recorded.includes(
        'context create kamal-remote-ssh---app-1-1-1-5-context --description kamal-remote-ssh---app-1-1-1-5 host --docker host=ssh://app@1.1.1.5',
      ),
    );
    assert.match(readFileSync(join(dir, 'build-env'), 'utf8'), /BUILDKIT_NO_CLIENT_TOKEN=1/);
    assert.equal(readFileSync(join(dir, 'build-cwd'), 'utf8').trim(), repo);
  });

  test('a failing buildx build is one sentence with the step and the Dockerfile line', async () => {
    const { client } = setup('fail', { clientVersion: '27.3.1', buildx: true, failBuild: true });
    await assert.rejects(
      buildAndPush({
        spec: spec({ context: '.' }),
        client,
        cwd: repo,
        registry: { username: 'u', password: 'p' },
        warn: () => {},
      }),
      (e: unknown) =>
        e instanceof UserError &&
        e.message ===
          'Building registry.example.com/dhh/app:999 failed at Dockerfile:2 step 2/2 `RUN make`: failed to solve: process "/bin/sh -c make" did not complete successfully: exit code: 2; fix the Dockerfile or build settings and run again.',
    );
  });

  test('missing credentials or a missing build secret stop before anything runs', async () => {
    const { dir, client } = setup('missing', { clientVersion: '27.3.1', buildx: true });
    await assert.rejects(
      buildAndPush({ spec: spec(), client, cwd: repo, warn: () => {} }),
      /registry.username and registry.password are required to push to registry.example.com/,
    );
    await assert.rejects(
      buildAndPush({
        spec: spec({ secrets: ['TOKEN'], context: '.' }),
        client,
        cwd: repo,
        registry: { username: 'u', password: 'p' },
        warn: () => {},
      }),
      /builder.secrets lists TOKEN, but no secret TOKEN is set/,
    );
    assert.ok(!existsSync(join(dir, 'build-env')));
  });

  test('two builds of the same app from the same clone run one after the other', async () => {
    const { dir, client } = setup('concurrent', { clientVersion: '27.3.1', buildx: true, slowBuild: true });
    const cache = join(base, 'concurrent-cache');
    const one = () =>
      buildAndPush({
        spec: spec(),
        client,
        cwd: repo,
        tmpdir: cache,
        registry: { username: 'u', password: 'p' },
        warn: () => {},
      });
    await Promise.all([one(), one()]);
    assert.deepEqual(readFileSync(join(dir, 'timeline'), 'utf8').trim().split('\n'), [
      'start',
      'end',
      'start',
      'end',
    ]);
    // The lock is released afterwards.
    assert.deepEqual(
      readdirSync(join(cache, 'kamal-clones')).filter((n) => n.endsWith('.lock')),
      [],
    );
  });

  test('ensureBuilder leaves an existing builder alone; details names the builder', async () => {
    const { client, calls } = setup('details', { clientVersion: '27.3.1', buildx: true });
    await ensureBuilder(spec(), { client });
    await ensureBuilder(spec(), { client });
    assert.equal(calls().filter((c) => c.startsWith('buildx create')).length, 1);
    const details = await buildDetails(spec(), client);
    assert.match(details, /^Builder: local\nNAME DESCRIPTION\nNAME\/NODE DRIVER\/ENDPOINT$/);
  });
});
