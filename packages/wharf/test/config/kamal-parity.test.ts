// Acceptance parity with Kamal's own validation tests (test/configuration/validation_test.rb
// and configuration_test.rb): each config Kamal rejects is rejected here, naming the same key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, dottedPath, loadConfigFromSources } from '../../src/config/index.js';
import { stringify } from 'yaml';
import { project } from './support/tmp.js';

const VALID = {
  service: 'app',
  image: 'app',
  builder: { arch: 'amd64' },
  registry: { username: 'user', password: 'secret' },
  servers: ['1.1.1.1'],
};

const cwd = project({ README: 'parity\n' });

function load(config: Record<string, unknown>) {
  return loadConfigFromSources([{ file: 'config/deploy.yml', text: stringify(config) }], {
    cwd,
    version: '1',
    env: {},
    localArch: 'amd64',
  });
}

function rejectsAt(overrides: Record<string, unknown>, where: string, label = JSON.stringify(overrides)) {
  try {
    load({ ...VALID, ...overrides });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `${label}: ${String(error)}`);
    const paths = error.problems.map((p) => `${dottedPath(p.path)} :: ${p.message}`);
    assert.ok(
      paths.some((p) => p.startsWith(where) || p.includes(where)),
      `${label}: expected a problem at ${where}, got\n${paths.join('\n')}`,
    );
    return;
  }
  assert.fail(`${label}: Kamal rejects this config but wharf accepted it`);
}

const accepts = (overrides: Record<string, unknown>) =>
  assert.doesNotThrow(() => load({ ...VALID, ...overrides }), JSON.stringify(overrides));

test('the valid base config loads', () => accepts({}));

test('unknown root keys', () => {
  rejectsAt({ unknown: 'value' }, 'unknown');
  rejectsAt({ unknown: 'value', unknown2: 'value' }, 'unknown2');
});

test('wrong root types', () => {
  for (const key of [
    'service',
    'image',
    'asset_path',
    'hooks_path',
    'secrets_path',
    'primary_role',
    'minimum_version',
    'run_directory',
  ])
    rejectsAt({ [key]: [] }, key);
  for (const key of ['require_destination', 'allow_empty_roles']) rejectsAt({ [key]: 'foo' }, key);
  for (const key of ['deploy_timeout', 'drain_timeout', 'retain_containers', 'readiness_delay'])
    rejectsAt({ [key]: 'foo' }, key);
  rejectsAt({ volumes: 'foo' }, 'volumes');
  // A Ruby Float is not an Integer, even a whole one.
  assert.throws(
    () =>
      loadConfigFromSources(
        [{ file: 'config/deploy.yml', text: `${stringify(VALID)}deploy_timeout: 30.0\n` }],
        { cwd, version: '1', env: {} },
      ),
    /deploy_timeout should be an integer/,
  );
  rejectsAt({ servers: 'foo' }, 'servers');
  for (const key of [
    'labels',
    'registry',
    'accessories',
    'env',
    'ssh',
    'sshkit',
    'builder',
    'proxy',
    'boot',
    'logging',
  ])
    rejectsAt({ [key]: [] }, key);
});

test('servers and roles', () => {
  rejectsAt({ servers: [[]] }, 'servers[0]');
  rejectsAt({ servers: [{ a: 'b', c: 'd' }] }, 'servers[0]');
  rejectsAt({ servers: [{ foo: {} }] }, 'servers[0].foo');
  rejectsAt({ servers: [{ foo: [[]] }] }, 'servers[0].foo[0]');
  rejectsAt({ servers: { web: 'foo' } }, 'servers.web');
  rejectsAt({ servers: { web: { hosts: '' } } }, 'servers.web.hosts');
  rejectsAt({ servers: { web: { hosts: [[]] } } }, 'servers.web.hosts[0]');
  rejectsAt({ servers: { web: { options: '' } } }, 'servers.web.options');
  rejectsAt({ servers: { web: { logging: { options: '' } } } }, 'servers.web.logging.options');
  rejectsAt({ servers: { web: { logging: { driver: [] } } } }, 'servers.web.logging.driver');
  rejectsAt({ servers: { web: { labels: { service: 'foo' } } } }, 'servers.web.labels.service');
  rejectsAt({ servers: { web: { labels: [] } } }, 'servers.web.labels');
  rejectsAt({ servers: { web: { env: [] } } }, 'servers.web.env');
  rejectsAt({ servers: { web: { hosts: ['1.1.1.1'], env: { tags: {} } } } }, 'servers.web.env.tags');
  rejectsAt({ servers: [] }, 'servers');
  rejectsAt({ servers: { web: [] } }, 'servers.web');
  rejectsAt({ servers: { web: {} } }, 'servers.web');
  rejectsAt({ servers: { web: { hosts: null } } }, 'servers.web.hosts');
  rejectsAt({ servers: { web: ['web'], workers: { hosts: [] } } }, 'servers.workers');
  accepts({ servers: { web: ['web'], workers: { hosts: [] } }, allow_empty_roles: true });
  rejectsAt({ servers: { web: [], workers: { hosts: [] } }, allow_empty_roles: true }, 'servers.web');
  rejectsAt(
    { servers: { web: { hosts: ['1.1.1.1'], options: { restart: 'sometimes' } } } },
    'servers.web.options.restart',
  );
  accepts({ servers: { web: { hosts: ['1.1.1.1'], options: { restart: 'on-failure:5' } } } });
});

test('registry', () => {
  rejectsAt({ registry: {} }, 'registry');
  rejectsAt({ registry: { username: 'foo' } }, 'registry.password');
  rejectsAt({ registry: { username: 'foo', password: ['SECRET1', 'SECRET2'] } }, 'registry.password');
  rejectsAt({ registry: { username: 'foo', password: 'bar', server: [] } }, 'registry.server');
  accepts({ registry: { server: 'localhost:5000' } });
  accepts({ registry: { username: ['USER_SECRET'], password: ['PW_SECRET'] } });
});

test('accessories', () => {
  rejectsAt({ accessories: { accessory1: [] } }, 'accessories.accessory1');
  rejectsAt({ accessories: { accessory1: { unknown: 'baz' } } }, 'accessories.accessory1.unknown');
  rejectsAt({ accessories: { accessory1: { options: [] } } }, 'accessories.accessory1.options');
  rejectsAt(
    { accessories: { accessory1: { host: 'host', labels: { destination: 'foo' } } } },
    'accessories.accessory1.labels.destination',
  );
  rejectsAt({ accessories: { accessory1: { host: [] } } }, 'accessories.accessory1.host');
  rejectsAt({ accessories: { accessory1: { env: [] } } }, 'accessories.accessory1.env');
  rejectsAt(
    { accessories: { accessory1: { host: 'host', env: { tags: {} } } } },
    'accessories.accessory1.env.tags',
  );
  rejectsAt({ accessories: { a: { image: 'x', host: 'h', proxy: true } } }, 'accessories.a.proxy');
  accepts({ accessories: { a: { image: 'x', host: 'h', proxy: false } } });
  const { servers: _omit, ...noServers } = VALID;
  assert.doesNotThrow(() =>
    load({ ...noServers, accessories: { foo: { image: 'foo/bar', host: '1.1.1.1' } } }),
  );
  assert.throws(() => load(noServers), ConfigError);
});

test('env', () => {
  rejectsAt({ env: [] }, 'env');
  rejectsAt({ env: { FOO: [] } }, 'env.FOO');
  rejectsAt({ env: { clear: { FOO: [] } } }, 'env.clear.FOO');
  rejectsAt({ env: { secret: { FOO: [] } } }, 'env.secret');
  rejectsAt({ env: { secret: [[]] } }, 'env.secret[0]');
  rejectsAt({ env: { tags: [] } }, 'env.tags');
  rejectsAt({ env: { tags: { tag1: 'foo' } } }, 'env.tags.tag1');
  rejectsAt({ env: { tags: { tag1: { FOO: [] } } } }, 'env.tags.tag1.FOO');
  rejectsAt({ env: { tags: { tag1: { clear: { FOO: [] } } } } }, 'env.tags.tag1.clear.FOO');
  rejectsAt({ env: { tags: { tag1: { secret: {} } } } }, 'env.tags.tag1.secret');
  rejectsAt({ env: { tags: { tag1: { secret: [[]] } } } }, 'env.tags.tag1.secret[0]');
  rejectsAt({ env: { tags: { tag1: { tags: {} } } } }, 'env.tags.tag1.tags');
  rejectsAt({ env: { clear: 'x' } }, 'env.clear');
  accepts({ env: { clear: { A: 1, B: true, C: 'x' }, secret: ['S', 'A:B'] } });
});

test('ssh, sshkit, builder', () => {
  rejectsAt({ ssh: { foo: 'bar' } }, 'ssh.foo');
  rejectsAt({ ssh: { user: [] } }, 'ssh.user');
  rejectsAt({ ssh: { config: 1 } }, 'ssh.config');
  accepts({ ssh: { config: true, port: 2222 } });
  rejectsAt({ sshkit: { foo: 'bar' } }, 'sshkit.foo');
  rejectsAt({ sshkit: { max_concurrent_starts: 'foo' } }, 'sshkit.max_concurrent_starts');
  rejectsAt({ sshkit: { dns_retries: 'foo' } }, 'sshkit.dns_retries');
  rejectsAt({ builder: { foo: 'bar' } }, 'builder.foo');
  rejectsAt({ builder: { remote: { foo: 'bar' } } }, 'builder.remote');
  rejectsAt({ builder: { arch: {} } }, 'builder.arch');
  rejectsAt({ builder: { args: ['foo'] } }, 'builder.args');
  rejectsAt({ builder: { cache: { options: [] } } }, 'builder.cache.options');
  rejectsAt(
    { builder: { arch: ['amd64', 'arm64'], pack: { builder: 'heroku/builder:24' } } },
    'builder.pack',
  );
  rejectsAt({ builder: {} }, 'builder.arch');
  rejectsAt({ builder: { arch: 'amd64', sbom: 'yes please' } }, 'builder.sbom');
  rejectsAt(
    {
      registry: { server: 'localhost:5000' },
      builder: { arch: 'arm64', remote: 'docker-container://remote-builder' },
    },
    'builder.remote',
  );
  accepts({ registry: { server: 'localhost:5000' }, builder: { arch: 'arm64', remote: 'ssh://user@host' } });
});

test('configuration-level checks', () => {
  rejectsAt({ service: 'app.com' }, 'service');
  accepts({ service: 'hey-app1_primary' });
  accepts({ service: 'MyApp' });
  rejectsAt({ primary_role: 'bar' }, 'primary_role');
  rejectsAt({ retain_containers: 0 }, 'retain_containers');
  accepts({ minimum_version: '2.0.0' });
  rejectsAt({ minimum_version: '10000.0.0' }, 'minimum_version');
  rejectsAt({ hooks_output: 'invalid' }, 'hooks_output');
  rejectsAt({ hooks_output: { 'pre-deploy': 'invalid' } }, 'hooks_output.pre-deploy');
  accepts({ hooks_output: { 'pre-deploy': 'verbose', 'post-deploy': 'quiet' } });
  const roles = {
    web: ['1.1.1.1', '1.1.1.2'],
    workers: { hosts: ['1.1.1.1', '1.1.1.3'], proxy: { ssl: true } },
  };
  rejectsAt({ servers: roles }, 'servers.workers.proxy.ssl');
  rejectsAt(
    {
      servers: {
        ...roles,
        workers: { hosts: ['1.1.1.1', '1.1.1.3'], proxy: { ssl: true, host: 'foo.example.com' } },
      },
    },
    'ssl',
  );
  rejectsAt(
    {
      servers: {
        web: { hosts: ['1.1.1.1'], proxy: { ssl: true, host: 'foo.example.com' } },
        workers: { hosts: ['1.1.1.1'], proxy: { ssl: true, host: 'foo.example.com' } },
      },
    },
    'servers',
  );
  rejectsAt({ proxy: false }, 'proxy');
  rejectsAt({ proxy: { host: 'a', hosts: ['b'] } }, 'proxy.hosts');
  rejectsAt({ proxy: { host: 'a', ssl: { certificate_pem: 'C' } } }, 'proxy.ssl.private_key_pem');
  accepts({
    servers: ['1.1.1.1', '1.1.1.2'],
    proxy: { hosts: ['a'], ssl: { certificate_pem: 'C', private_key_pem: 'K' } },
  });
  rejectsAt({ aliases: { deploy: 'app boot' } }, 'aliases.deploy');
  rejectsAt({ aliases: { 'Bad!': 'x' } }, 'aliases["Bad!"]');
  rejectsAt({ proxy: { run: { publish: false, http_port: 8080 } } }, 'proxy.run.publish');
});
