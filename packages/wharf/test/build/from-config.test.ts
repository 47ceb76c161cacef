/** deploy.yml's raw builder hash to BuilderSettings / BuildSpec. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { builderSettingsFromRaw, buildSpecFromConfig } from '../../src/build/from-config.js';
import { planBuild } from '../../src/build/plan.js';
import { kamalText } from '../../src/build/words.js';

describe('builder settings from the raw config', () => {
  test('every key Kamal knows, as written in YAML', () => {
    const settings = builderSettingsFromRaw({
      arch: 'amd64',
      remote: 'ssh://docker@builder',
      local: false,
      cache: { type: 'registry', options: 'mode=max', image: 'cache/app' },
      context: '.',
      dockerfile: 'Dockerfile.prod',
      target: 'prod',
      args: { RUBY_VERSION: '3.3', WORKERS: 4, DEBUG: false, EMPTY: null },
      secrets: ['GITHUB_TOKEN'],
      ssh: 'default',
      driver: 'docker-container',
      provenance: false,
      sbom: 'true',
    });
    assert.deepEqual(settings, {
      arch: ['amd64'],
      remote: 'ssh://docker@builder',
      local: false,
      cache: { type: 'registry', options: 'mode=max', image: 'cache/app' },
      context: '.',
      dockerfile: 'Dockerfile.prod',
      target: 'prod',
      ssh: 'default',
      driver: 'docker-container',
      args: { RUBY_VERSION: '3.3', WORKERS: 4, DEBUG: false, EMPTY: '' },
      secrets: ['GITHUB_TOKEN'],
      provenance: false,
      sbom: 'true',
    });
    assert.deepEqual(builderSettingsFromRaw(undefined), {});
  });

  test('wrong types are one sentence naming the key', () => {
    assert.throws(
      () => builderSettingsFromRaw({ local: 'no' }),
      /^UserError: builder.local must be true or false/,
    );
    assert.throws(() => builderSettingsFromRaw({ secrets: 'A' }), /builder.secrets must be a list/);
    assert.throws(() => builderSettingsFromRaw({ args: ['a'] }), /builder.args must be a mapping/);
    assert.throws(() => builderSettingsFromRaw('x'), /builder must be a mapping/);
  });

  test('the spec plans like Kamal with a destination', () => {
    const spec = buildSpecFromConfig(
      {
        service: 'app',
        repository: 'registry.example.com/dhh/app',
        registryServer: 'registry.example.com',
        version: '999',
        destination: 'staging',
        builder: { arch: 'amd64' },
      },
      { buildx: true, engineArch: 'amd64' },
    );
    assert.equal(
      kamalText(planBuild(spec).commands[0]!),
      'docker buildx build --output=type=registry --platform linux/amd64 --builder kamal-local-docker-container -t registry.example.com/dhh/app:999 -t registry.example.com/dhh/app:latest-staging --label service="app" --file Dockerfile .',
    );
  });
});

describe('build inputs from a config loaded by the real loader', () => {
  test('deploy.yml with registry secrets, builder secrets and a destination', async () => {
    const { loadConfigFromSources } = await import('../../src/config/index.js');
    const { buildInputsFromConfig } = await import('../../src/build/from-config.js');
    const config = loadConfigFromSources(
      [
        {
          file: 'config/deploy.yml',
          text: [
            'service: shop',
            'image: acme/shop',
            'servers:',
            '  - 10.0.0.1',
            'registry:',
            '  server: ghcr.io',
            '  username: acme',
            '  password:',
            '    - KAMAL_REGISTRY_PASSWORD',
            'builder:',
            '  arch: amd64',
            '  secrets:',
            '    - GITHUB_TOKEN',
            '  args:',
            '    RUBY_VERSION: 3.3.5',
            '',
          ].join('\n'),
        },
      ],
      { version: 'abc123', cwd: '/tmp', env: {} },
    );
    const secrets: Record<string, string> = { KAMAL_REGISTRY_PASSWORD: 'pw', GITHUB_TOKEN: 'gh' };
    const inputs = buildInputsFromConfig(config, (name) => secrets[name]!, {
      buildx: false,
      engineArch: 'amd64',
    });
    assert.deepEqual(inputs.registry, { server: 'ghcr.io', username: 'acme', password: 'pw' });
    assert.deepEqual(inputs.secrets, { GITHUB_TOKEN: 'gh' });
    assert.equal(inputs.spec.repository, 'ghcr.io/acme/shop');
    assert.equal(inputs.spec.version, 'abc123');
    assert.deepEqual(inputs.spec.builder.args, { RUBY_VERSION: '3.3.5' });
  });
});
