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
