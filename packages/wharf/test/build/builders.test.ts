/** Builder lifecycle commands, pinned to Kamal's create/remove/inspect/details strings. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  builderKind,
  createBuilderScript,
  detailsScript,
  inspectBuilderScript,
  removeBuilderScript,
  scriptText,
  MISSING_BUILDER,
} from '../../src/build/builders.js';
import type { BuildSpec, BuilderSettings } from '../../src/build/spec.js';
import { argv } from '../../src/build/words.js';

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
const localRegistry = { registryServer: 'localhost:5000', repository: 'localhost:5000/app' };

describe('builder create / remove / inspect', () => {
  test('local builder', () => {
    const s = spec();
    assert.equal(builderKind(s), 'local');
    assert.equal(
      scriptText(createBuilderScript(s)!),
      'docker buildx create --name kamal-local-docker-container --driver=docker-container',
    );
    assert.equal(scriptText(removeBuilderScript(s)!), 'docker buildx rm kamal-local-docker-container');
    assert.equal(scriptText(inspectBuilderScript(s)!), 'docker buildx inspect kamal-local-docker-container');
    assert.equal(scriptText(detailsScript(s)), 'docker context ls && docker buildx ls');
  });

  test('local builder with local registry includes network host driver option', () => {
    assert.equal(
      scriptText(createBuilderScript(spec({}, localRegistry))!),
      'docker buildx create --name kamal-local-registry-docker-container --driver=docker-container --driver-opt network=host',
    );
  });

  test('remote builder with local registry', () => {
    const s = spec({ arch: 'arm64', remote: 'ssh://app@1.1.1.5' }, localRegistry);
    assert.equal(builderKind(s), 'remote');
    const create = createBuilderScript(s)!;
    assert.equal(
      scriptText(create),
      "docker context create kamal-remote-ssh---app-1-1-1-5-local-registry-context --description 'kamal-remote-ssh---app-1-1-1-5-local-registry host' --docker 'host=ssh://app@1.1.1.5' ; docker buildx create --name kamal-remote-ssh---app-1-1-1-5-local-registry --driver-opt network=host kamal-remote-ssh---app-1-1-1-5-local-registry-context",
    );
    // The quoted words reach docker as single arguments without their quotes.
    assert.deepEqual(argv(create.steps[0]!.command).slice(4), [
      '--description',
      'kamal-remote-ssh---app-1-1-1-5-local-registry host',
      '--docker',
      'host=ssh://app@1.1.1.5',
    ]);
    assert.equal(create.join, ';');
  });

  test('hybrid builder with local registry', () => {
    const s = spec({ arch: ['amd64', 'arm64'], remote: 'ssh://app@1.1.1.5' }, localRegistry);
    assert.equal(builderKind(s), 'hybrid');
    assert.equal(
      scriptText(createBuilderScript(s)!),
      "docker buildx create --platform linux/amd64 --name kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry --driver=docker-container --driver-opt network=host && docker context create kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry-context --description 'kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry host' --docker 'host=ssh://app@1.1.1.5' && docker buildx create --platform linux/arm64 --append --name kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry --driver-opt network=host kamal-hybrid-docker-container-ssh---app-1-1-1-5-local-registry-context",
    );
  });

  test('remote inspect checks the endpoint and the context host, remove drops both', () => {
    const s = spec({ arch: 'arm64', remote: 'ssh://app@host' });
    const inspect = inspectBuilderScript(s)!;
    assert.equal(
      scriptText(inspect),
      "docker buildx inspect kamal-remote-ssh---app-host | grep -q Endpoint:.*kamal-remote-ssh---app-host-context && docker context inspect kamal-remote-ssh---app-host-context --format '{{.Endpoints.docker.Host}}' | grep -xq ssh://app@host || (echo no compatible builder && exit 1)",
    );
    assert.ok(inspect.steps[0]!.expect!.test('Name: x\nEndpoint: kamal-remote-ssh---app-host-context\n'));
    assert.ok(!inspect.steps[0]!.expect!.test('Endpoint: unix:///var/run/docker.sock'));
    assert.ok(inspect.steps[1]!.expect!.test('ssh://app@host\n'));
    assert.ok(!inspect.steps[1]!.expect!.test('ssh://app@hostile\n'));
    assert.ok(MISSING_BUILDER.test(inspect.failureMessage!));
    assert.equal(
      scriptText(removeBuilderScript(s)!),
      'docker context rm kamal-remote-ssh---app-host-context ; docker buildx rm kamal-remote-ssh---app-host',
    );
    assert.equal(scriptText(detailsScript(s)), 'docker context ls ; docker buildx ls');
  });

  test('cloud builder', () => {
    const s = spec({ driver: 'cloud docker-org-name/builder-name' });
    assert.equal(builderKind(s), 'cloud');
    const create = createBuilderScript(s)!;
    assert.equal(scriptText(create), 'docker buildx create --driver cloud docker-org-name/builder-name');
    assert.deepEqual(argv(create.steps[0]!.command), [
      'docker',
      'buildx',
      'create',
      '--driver',
      'cloud',
      'docker-org-name/builder-name',
    ]);
    assert.equal(scriptText(removeBuilderScript(s)!), 'docker buildx rm cloud-docker-org-name-builder-name');
  });

  test('docker driver and no buildx need no builder', () => {
    assert.equal(createBuilderScript(spec({ driver: 'docker' })), undefined);
    assert.equal(inspectBuilderScript(spec({ driver: 'docker' })), undefined);
    const plain = spec({}, { capabilities: { buildx: false } });
    assert.equal(builderKind(plain), 'docker-build');
    assert.equal(createBuilderScript(plain), undefined);
    assert.equal(removeBuilderScript(plain), undefined);
    assert.equal(scriptText(detailsScript(plain)), 'docker context ls');
  });
});
