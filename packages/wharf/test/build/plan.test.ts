/**
 * The build commands, pinned to Kamal's test/commands/builder_test.rb
 * assertions (service app, image dhh/app, version 123, arch amd64), plus
 * wharf's plain `docker build` plan for machines without buildx.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { planBuild, type BuildOptions } from '../../src/build/plan.js';
import type { BuildSpec, BuilderSettings } from '../../src/build/spec.js';
import { argv, displayText, kamalText } from '../../src/build/words.js';
import { UserError } from '../../src/util/errors.js';

function spec(builder: BuilderSettings = {}, extra: Partial<BuildSpec> = {}): BuildSpec {
  return {
    service: 'app',
    repository: 'dhh/app',
    version: '123',
    builder: { arch: 'amd64', ...builder },
    capabilities: { buildx: true, engineArch: 'amd64' },
    ...extra,
  };
}

function buildx(
  builder: BuilderSettings = {},
  extra: Partial<BuildSpec> = {},
  options?: BuildOptions,
): string {
  const plan = planBuild(spec(builder, extra), options);
  assert.equal(plan.commands.length, 1);
  return kamalText(plan.commands[0]!);
}

const PREFIX =
  'docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:123 -t dhh/app:latest';

describe('buildx build (Kamal-identical)', () => {
  test('target linux/amd64 locally by default, with gha cache', () => {
    const plan = planBuild(spec({ cache: { type: 'gha' } }));
    assert.equal(plan.kind, 'local');
    assert.equal(plan.builderName, 'kamal-local-docker-container');
    assert.equal(
      kamalText(plan.commands[0]!),
      `${PREFIX} --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile .`,
    );
    // The argv the process receives: no shell quoting left in it.
    assert.deepEqual(argv(plan.commands[0]!).slice(-7), [
      '--cache-from',
      'type=gha',
      '--label',
      'service=app',
      '--file',
      'Dockerfile',
      '.',
    ]);
  });

  test('specified arch list', () => {
    assert.equal(buildx({ arch: ['amd64'] }), `${PREFIX} --label service="app" --file Dockerfile .`);
  });

  test('hybrid build if remote is set and building multiarch', () => {
    const plan = planBuild(
      spec({ arch: ['amd64', 'arm64'], remote: 'ssh://app@127.0.0.1', cache: { type: 'gha' } }),
    );
    assert.equal(plan.kind, 'hybrid');
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 --builder kamal-hybrid-docker-container-ssh---app-127-0-0-1 -t dhh/app:123 -t dhh/app:latest --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile .',
    );
    assert.deepEqual(plan.commands[0]!.env, { BUILDKIT_NO_CLIENT_TOKEN: '1' });
  });

  test('remote build if remote is set and local disabled', () => {
    const plan = planBuild(
      spec({ arch: ['amd64', 'arm64'], remote: 'ssh://app@127.0.0.1', cache: { type: 'gha' }, local: false }),
    );
    assert.equal(plan.kind, 'remote');
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker buildx build --output=type=registry --platform linux/amd64,linux/arm64 --builder kamal-remote-ssh---app-127-0-0-1 -t dhh/app:123 -t dhh/app:latest --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile .',
    );
  });

  test('remote when the only arch is not the local one', () => {
    const plan = planBuild(spec({ arch: ['arm64'], remote: 'ssh://app@host', cache: { type: 'gha' } }));
    assert.equal(plan.kind, 'remote');
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker buildx build --output=type=registry --platform linux/arm64 --builder kamal-remote-ssh---app-host -t dhh/app:123 -t dhh/app:latest --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile .',
    );
  });

  test('local when remote is set but the arch is local', () => {
    const plan = planBuild(spec({ arch: ['amd64'], remote: 'ssh://app@host', cache: { type: 'gha' } }));
    assert.equal(plan.kind, 'local');
    assert.equal(plan.commands[0]!.env, undefined);
    assert.equal(
      kamalText(plan.commands[0]!),
      `${PREFIX} --cache-to type=gha --cache-from type=gha --label service="app" --file Dockerfile .`,
    );
  });

  test('remote builder push (Kamal cli/build_test)', () => {
    const plan = planBuild(spec({ arch: 'arm64', remote: 'ssh://app@1.1.1.5' }, { version: '999' }));
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker buildx build --output=type=registry --platform linux/arm64 --builder kamal-remote-ssh---app-1-1-1-5 -t dhh/app:999 -t dhh/app:latest --label service="app" --file Dockerfile .',
    );
    assert.deepEqual(plan.commands[0]!.env, { BUILDKIT_NO_CLIENT_TOKEN: '1' });
  });

  test('cloud builder', () => {
    const plan = planBuild(spec({ arch: ['amd64'], driver: 'cloud docker-org-name/builder-name' }));
    assert.equal(plan.kind, 'cloud');
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker buildx build --output=type=registry --platform linux/amd64 --builder cloud-docker-org-name-builder-name -t dhh/app:123 -t dhh/app:latest --label service="app" --file Dockerfile .',
    );
  });

  test('build args are escaped like Kamal, passed raw, and redacted for display', () => {
    const plan = planBuild(spec({ args: { a: 1, b: 2 } }));
    const cmd = plan.commands[0]!;
    assert.equal(
      kamalText(cmd),
      `${PREFIX} --label service="app" --build-arg a="1" --build-arg b="2" --file Dockerfile .`,
    );
    assert.ok(argv(cmd).includes('a=1'));
    assert.ok(displayText(cmd).includes('--build-arg a=[REDACTED] --build-arg b=[REDACTED]'));
    assert.ok(!displayText(cmd).includes('a="1"'));
  });

  test('build args with shell characters keep their exact value in argv', () => {
    const plan = planBuild(spec({ args: { MSG: 'it\'s $HOME "x"', EMPTY: '', OFF: false } }));
    const cmd = plan.commands[0]!;
    assert.ok(kamalText(cmd).includes('--build-arg MSG="it\'s \\$HOME \\"x\\""'));
    assert.ok(kamalText(cmd).includes('--build-arg EMPTY --build-arg OFF=false'));
    const args = argv(cmd);
    assert.ok(args.includes('MSG=it\'s $HOME "x"'));
    assert.ok(args.includes('EMPTY'));
  });

  test('build secrets: ids only on argv, names handed to the runner', () => {
    const plan = planBuild(spec({ secrets: ['a', 'b'] }));
    assert.equal(
      kamalText(plan.commands[0]!),
      `${PREFIX} --label service="app" --secret id="a" --secret id="b" --file Dockerfile .`,
    );
    assert.deepEqual(
      argv(plan.commands[0]!).filter((a) => a.startsWith('id=')),
      ['id=a', 'id=b'],
    );
    assert.deepEqual(plan.secretNames, ['a', 'b']);
  });

  test('dockerfile, target, ssh, context', () => {
    assert.equal(
      buildx({ dockerfile: 'Dockerfile.xyz' }),
      `${PREFIX} --label service="app" --file Dockerfile.xyz .`,
    );
    assert.equal(
      buildx({ target: 'prod' }),
      `${PREFIX} --label service="app" --file Dockerfile --target prod .`,
    );
    assert.equal(buildx({ context: '..' }), `${PREFIX} --label service="app" --file Dockerfile ..`);
    assert.equal(buildx({ context: './foo' }), `${PREFIX} --label service="app" --file Dockerfile ./foo`);
    assert.equal(
      buildx({ ssh: 'default=$SSH_AUTH_SOCK' }),
      `${PREFIX} --label service="app" --file Dockerfile --ssh default=$SSH_AUTH_SOCK .`,
    );
  });

  test('ssh value is expanded from the environment for argv (Kamal relied on the shell)', () => {
    const plan = planBuild(spec({ ssh: 'default=$SSH_AUTH_SOCK' }));
    assert.ok(
      argv(plan.commands[0]!, { SSH_AUTH_SOCK: '/tmp/agent.sock' }).includes('default=/tmp/agent.sock'),
    );
  });

  test('provenance and sbom', () => {
    assert.equal(
      buildx({ provenance: 'mode=max' }),
      `${PREFIX} --label service="app" --file Dockerfile --provenance mode=max .`,
    );
    assert.equal(
      buildx({ provenance: false }),
      `${PREFIX} --label service="app" --file Dockerfile --provenance false .`,
    );
    assert.equal(buildx({ sbom: true }), `${PREFIX} --label service="app" --file Dockerfile --sbom true .`);
    assert.equal(buildx({ sbom: false }), `${PREFIX} --label service="app" --file Dockerfile --sbom false .`);
  });

  test('no cache, other outputs, dirty tags, destination', () => {
    assert.equal(
      buildx({}, {}, { noCache: true }),
      `${PREFIX} --label service="app" --file Dockerfile --no-cache .`,
    );
    const dev = planBuild(spec(), { output: 'docker', tagAsDirty: true });
    assert.equal(
      kamalText(dev.commands[0]!),
      'docker buildx build --output=type=docker --platform linux/amd64 --builder kamal-local-docker-container -t dhh/app:123-dirty -t dhh/app:latest-dirty --label service="app" --file Dockerfile .',
    );
    assert.equal(dev.pushes, false);
    const staging = planBuild(spec({}, { destination: 'staging' }));
    assert.deepEqual(staging.tags, ['dhh/app:123', 'dhh/app:latest-staging']);
  });

  test('registry cache with a registry server and default or custom image', () => {
    const withServer = { registryServer: 'registry.example.com', repository: 'registry.example.com/dhh/app' };
    assert.ok(
      buildx({ cache: { type: 'registry' } }, withServer).includes(
        '--cache-to type=registry,ref=registry.example.com/dhh/app-build-cache --cache-from type=registry,ref=registry.example.com/dhh/app-build-cache',
      ),
    );
    assert.ok(
      buildx({ cache: { type: 'registry', image: 'cache/app', options: 'mode=max' } }, withServer).includes(
        '--cache-to type=registry,ref=registry.example.com/cache/app,mode=max --cache-from type=registry,ref=registry.example.com/cache/app',
      ),
    );
    // gha keeps only the options --cache-from understands.
    assert.ok(
      buildx({ cache: { type: 'gha', options: 'mode=max,scope=web,url=http://x' } }).includes(
        '--cache-to type=gha,mode=max,scope=web,url=http://x --cache-from type=gha,scope=web,url=http://x',
      ),
    );
  });

  test('docker driver: no --builder, and Kamal refuses remote, cache, several arches', () => {
    assert.equal(
      buildx({ driver: 'docker' }),
      'docker buildx build --output=type=registry --platform linux/amd64 -t dhh/app:123 -t dhh/app:latest --label service="app" --file Dockerfile .',
    );
    assert.throws(
      () => planBuild(spec({ driver: 'docker', cache: { type: 'gha' } })),
      /driver `docker` cannot use a build cache/,
    );
    assert.throws(
      () => planBuild(spec({ driver: 'docker', arch: ['amd64', 'arm64'] })),
      /several architectures/,
    );
    assert.throws(() => planBuild(spec({ driver: 'docker', remote: 'ssh://x' })), /remote builder/);
  });

  test('local registry names the builder kamal-local-registry-…', () => {
    const plan = planBuild(spec({}, { registryServer: 'localhost:5000', repository: 'localhost:5000/app' }));
    assert.equal(plan.builderName, 'kamal-local-registry-docker-container');
  });

  test('unknown cache type, pack and bad names are one-sentence UserErrors', () => {
    assert.throws(
      () => planBuild(spec({ cache: { type: 's3' } })),
      (e: unknown) => e instanceof UserError && /cache.type "s3"/.test(e.message),
    );
    assert.throws(() => planBuild(spec({ pack: { builder: 'heroku/builder:24' } })), /builder.pack/);
    assert.throws(() => planBuild(spec({}, { version: 'bad version' })), /not a valid image tag/);
    assert.throws(() => planBuild(spec({}, { repository: 'Bad/Name' })), /not a valid repository/);
    assert.throws(() => planBuild(spec({ secrets: ['NOT-OK'] })), /not a valid secret name/);
  });
});

describe('plain docker build (no buildx)', () => {
  const nobx = (builder: BuilderSettings = {}, extra: Partial<BuildSpec> = {}, buildkit = false) =>
    spec(builder, { capabilities: { buildx: false, buildkit, engineArch: 'amd64' }, ...extra });

  test('build then one push per tag, classic builder forced', () => {
    const plan = planBuild(nobx({ args: { a: 1 }, target: 'prod', dockerfile: 'Dockerfile.prod' }));
    assert.equal(plan.kind, 'docker-build');
    assert.equal(plan.builderName, undefined);
    assert.deepEqual(plan.commands.map(kamalText), [
      'docker build --force-rm -t dhh/app:123 -t dhh/app:latest --label service="app" --build-arg a="1" --file Dockerfile.prod --target prod .',
      'docker push dhh/app:123',
      'docker push dhh/app:latest',
    ]);
    assert.deepEqual(argv(plan.commands[0]!), [
      'docker',
      'build',
      '--force-rm',
      '-t',
      'dhh/app:123',
      '-t',
      'dhh/app:latest',
      '--label',
      'service=app',
      '--build-arg',
      'a=1',
      '--file',
      'Dockerfile.prod',
      '--target',
      'prod',
      '.',
    ]);
    assert.deepEqual(plan.commands[0]!.env, { DOCKER_BUILDKIT: '0' });
    assert.equal(plan.pushes, true);
  });

  test('with BuildKit (old CLI): secrets from env and ssh', () => {
    const plan = planBuild(nobx({ secrets: ['TOKEN'], ssh: 'default' }, {}, true));
    assert.equal(
      kamalText(plan.commands[0]!),
      'docker build -t dhh/app:123 -t dhh/app:latest --label service="app" --secret id=TOKEN,env=TOKEN --file Dockerfile --ssh default .',
    );
    assert.deepEqual(plan.commands[0]!.env, { DOCKER_BUILDKIT: '1' });
  });

  test('output docker builds without pushing; --no-cache; context', () => {
    const plan = planBuild(nobx({ context: 'app' }), { output: 'docker', noCache: true });
    assert.deepEqual(plan.commands.map(kamalText), [
      'docker build --force-rm -t dhh/app:123 -t dhh/app:latest --label service="app" --file Dockerfile --no-cache app',
    ]);
    assert.equal(plan.pushes, false);
  });

  test('refuses what needs buildx, one sentence each', () => {
    const refuse = (builder: BuilderSettings, re: RegExp, options?: BuildOptions) =>
      assert.throws(
        () => planBuild(nobx(builder), options),
        (e: unknown) =>
          e instanceof UserError &&
          re.test(e.message) &&
          e.message.trim().endsWith('.') &&
          !e.message.includes('\n'),
      );
    refuse({ arch: ['amd64', 'arm64'] }, /multi-arch build needs buildx/);
    assert.throws(
      () => planBuild({ ...nobx(), builder: {} }),
      /^UserError: builder.arch is not set, so the default is to build for amd64 and arm64/,
    );
    refuse({ arch: 'arm64' }, /only builds for the engine's own architecture \(amd64\)/);
    refuse({ remote: 'ssh://builder@host' }, /builder.remote \(ssh:\/\/builder@host\) needs buildx/);
    refuse({ arch: 'amd64', remote: 'ssh://builder@host' }, /builder.remote/);
    refuse({ driver: 'cloud org/b' }, /Docker Build Cloud/);
    refuse({ secrets: ['TOKEN'] }, /builder.secrets \(TOKEN\) need BuildKit/);
    refuse({ ssh: 'default' }, /builder.ssh needs BuildKit/);
    refuse({}, /--output tar needs buildx/, { output: 'tar' });
  });

  test('ignored settings become warnings', () => {
    const plan = planBuild(nobx({ cache: { type: 'gha' }, provenance: 'mode=max', sbom: true }));
    assert.equal(plan.warnings.length, 3);
    assert.ok(plan.warnings.every((w) => w.startsWith('Ignoring builder.')));
    assert.deepEqual(planBuild(nobx({ provenance: false })).warnings, []);
  });
});
