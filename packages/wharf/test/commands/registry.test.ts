// Registry commands, after Kamal's test/commands/registry_test.rb. Login is a
// deliberate difference: the password goes through stdin, never the command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryCommands, commandLine } from '../../src/commands/index.js';
import { UserError } from '../../src/util/errors.js';
import { clone, load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret', server: 'hub.docker.com' },
  builder: { arch: 'amd64' },
  servers: ['1.1.1.1'],
  accessories: {
    db: {
      image: 'mysql:8.0',
      hosts: ['1.1.1.1'],
      registry: { username: 'user', password: 'pw', server: 'other.hub.docker.com' },
    },
  },
};
const noSecrets = (name: string): string => {
  throw new Error(`unexpected secret ${name}`);
};

const LOGIN =
  'printf \'%s\\n\' "$WHARF_REGISTRY_PASSWORD" | docker login hub.docker.com -u "$WHARF_REGISTRY_USERNAME" --password-stdin';

test('registry login: credentials in the environment, password read from stdin', async () => {
  const config = await load(BASE);
  const login = new RegistryCommands(config).login(noSecrets)!;
  assert.equal(commandLine(login.command), LOGIN);
  assert.deepEqual(login.env, { WHARF_REGISTRY_USERNAME: 'dhh', WHARF_REGISTRY_PASSWORD: 'secret' });
  assert.ok(!commandLine(login.command).includes('secret'));
});

test('given registry login (an accessory registry)', async () => {
  const config = await load(BASE);
  const login = new RegistryCommands(config).login(noSecrets, config.accessory('db')!.registry)!;
  assert.equal(commandLine(login.command), LOGIN.replace('hub.docker.com', 'other.hub.docker.com'));
  assert.deepEqual(login.env, { WHARF_REGISTRY_USERNAME: 'user', WHARF_REGISTRY_PASSWORD: 'pw' });
});

test('registry login with secret password and username', async () => {
  const raw = clone(BASE);
  (raw.registry as Raw).password = ['KAMAL_REGISTRY_PASSWORD'];
  (raw.registry as Raw).username = ['KAMAL_REGISTRY_USERNAME'];
  ((raw.accessories as Raw).db as Raw).registry = {
    username: 'user',
    password: ['KAMAL_MYSQL_REGISTRY_PASSWORD'],
    server: 'other.hub.docker.com',
  };
  const secrets: Record<string, string> = {
    KAMAL_REGISTRY_PASSWORD: 'more-secret\'"',
    KAMAL_REGISTRY_USERNAME: 'also-secret',
    KAMAL_MYSQL_REGISTRY_PASSWORD: 'secret-pw',
  };
  const config = await load(raw);
  const r = new RegistryCommands(config);
  const login = r.login((n) => secrets[n]!)!;
  assert.equal(commandLine(login.command), LOGIN);
  assert.deepEqual(login.env, {
    WHARF_REGISTRY_USERNAME: 'also-secret',
    WHARF_REGISTRY_PASSWORD: 'more-secret\'"',
  });
  const accessoryLogin = r.login((n) => secrets[n]!, config.accessory('db')!.registry)!;
  assert.deepEqual(accessoryLogin.env, {
    WHARF_REGISTRY_USERNAME: 'user',
    WHARF_REGISTRY_PASSWORD: 'secret-pw',
  });
});

test('registry logout', async () => {
  const config = await load(BASE);
  const r = new RegistryCommands(config);
  assert.equal(commandLine(r.logout()), 'docker logout hub.docker.com');
  assert.equal(commandLine(r.logout(config.accessory('db')!.registry)), 'docker logout other.hub.docker.com');
});

test('local registry: no login; setup and remove', async () => {
  const config = await load({ ...BASE, registry: { server: 'localhost:5000' }, accessories: undefined });
  const r = new RegistryCommands(config);
  assert.equal(r.local, true);
  assert.equal(r.login(noSecrets), undefined);
  assert.equal(
    commandLine(r.setup()),
    'docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5000:5000 --name kamal-docker-registry registry:3',
  );
  assert.equal(
    commandLine(r.remove()),
    'docker stop kamal-docker-registry && docker rm kamal-docker-registry',
  );
});

test('a Docker Hub login without a server', async () => {
  const config = await load({
    ...BASE,
    registry: { username: 'dhh', password: 'secret' },
    accessories: undefined,
  });
  const login = new RegistryCommands(config).login(noSecrets)!;
  assert.equal(
    commandLine(login.command),
    'printf \'%s\\n\' "$WHARF_REGISTRY_PASSWORD" | docker login -u "$WHARF_REGISTRY_USERNAME" --password-stdin',
  );
  assert.equal(commandLine(new RegistryCommands(config).logout()), 'docker logout');
});

test('a missing credential is a UserError', async () => {
  const config = await load({
    ...BASE,
    accessories: {
      db: {
        image: 'mysql:8.0',
        hosts: ['1.1.1.1'],
        registry: { server: 'other.hub.docker.com', username: 'u', password: ['NOPE'] },
      },
    },
  });
  assert.throws(
    () => new RegistryCommands(config).login(() => '', config.accessory('db')!.registry),
    UserError,
  );
});
