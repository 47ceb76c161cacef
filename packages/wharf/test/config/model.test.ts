// Derived names, defaults and argument lists, checked against the commands
// Kamal's own test suite asserts (see /work/shared/reference/kamal.md §7).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig, type Config } from '../../src/config/index.js';
import { project } from './support/tmp.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

async function load(
  yaml: string,
  opts: { destination?: string; files?: Record<string, string> } = {},
): Promise<Config> {
  const files: Record<string, string> = { 'config/deploy.yml': yaml, ...(opts.files ?? {}) };
  return loadConfig({
    cwd: project(files),
    env,
    version: '999',
    destination: opts.destination,
    localArch: 'amd64',
  });
}

const APP = `
service: app
image: dhh/app
registry: {username: dhh, password: secret}
servers:
  web: [1.1.1.1]
  workers: [1.1.1.2]
env:
  secret: [RAILS_MASTER_KEY]
builder: {arch: amd64}
`;

/** The app container `docker run` as Kamal's Commands::App#run assembles it. */
function appRun(config: Config, roleName: string, host: string): string {
  const role = config.role(roleName)!;
  const name = role.containerName();
  const kamalEnv = [
    `--env KAMAL_CONTAINER_NAME="${name}"`,
    `--env KAMAL_VERSION="${config.version}"`,
    `--env KAMAL_HOST="${host}"`,
  ];
  if (config.destination) kamalEnv.push(`--env KAMAL_DESTINATION="${config.destination}"`);
  return [
    'docker run --detach --restart',
    role.restartPolicy,
    '--name',
    name,
    '--network kamal',
    ...kamalEnv,
    ...role.envArgs(host),
    ...role.loggingArgs(),
    ...role.labelArgs(),
    ...role.optionArgs(),
    config.absoluteImage,
    ...(role.cmd ? [role.cmd] : []),
  ].join(' ');
}

test('app run, as in Kamal app_test "run"', async () => {
  const config = await load(APP);
  assert.equal(
    appRun(config, 'web', '1.1.1.1'),
    'docker run --detach --restart unless-stopped --name app-web-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env-file .kamal/apps/app/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination dhh/app:999',
  );
});

test('app run with destination, as in Kamal app_test "run with destination"', async () => {
  const config = await load(APP, { destination: 'staging', files: { 'config/deploy.staging.yml': '{}\n' } });
  assert.equal(
    appRun(config, 'web', '1.1.1.1'),
    'docker run --detach --restart unless-stopped --name app-web-staging-999 --network kamal --env KAMAL_CONTAINER_NAME="app-web-staging-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.1" --env KAMAL_DESTINATION="staging" --env-file .kamal/apps/app-staging/env/roles/web.env --log-opt max-size="10m" --label service="app" --label role="web" --label destination="staging" dhh/app:999',
  );
});

test('app run with custom options, as in Kamal app_test "run with custom options"', async () => {
  const config = await load(
    APP.replace(
      'workers: [1.1.1.2]',
      'jobs:\n    hosts: [1.1.1.2]\n    cmd: bin/jobs\n    options:\n      mount: somewhere\n      cap-add: true',
    ),
  );
  assert.equal(
    appRun(config, 'jobs', '1.1.1.2'),
    'docker run --detach --restart unless-stopped --name app-jobs-999 --network kamal --env KAMAL_CONTAINER_NAME="app-jobs-999" --env KAMAL_VERSION="999" --env KAMAL_HOST="1.1.1.2" --env-file .kamal/apps/app/env/roles/jobs.env --log-opt max-size="10m" --label service="app" --label role="jobs" --label destination --mount "somewhere" --cap-add dhh/app:999 bin/jobs',
  );
});

test('proxy deploy arguments, as in Kamal app_test "deploy" and "deploy with SSL targeting multiple hosts"', async () => {
  const plain = await load(APP);
  assert.equal(
    `docker exec kamal-proxy kamal-proxy deploy ${plain.role('web')!.containerPrefix()} ${plain.role('web')!.proxy!.deployCommandArgs('172.1.0.2').join(' ')}`,
    'docker exec kamal-proxy kamal-proxy deploy app-web --target="172.1.0.2:80" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"',
  );
  const ssl = await load(
    APP.replace('servers:\n  web: [1.1.1.1]\n  workers: [1.1.1.2]', 'servers: [1.1.1.1]') +
      'proxy:\n  ssl: true\n  hosts: [example.com, anotherexample.com]\n',
  );
  assert.equal(
    ssl.role('web')!.proxy!.deployCommandArgs('172.1.0.2').join(' '),
    '--target="172.1.0.2:80" --host="example.com" --host="anotherexample.com" --tls --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"',
  );
  assert.equal(
    plain.role('web')!.proxy!.stopCommandArgs({ drainTimeout: 10, message: 'Hi' }).join(' '),
    '--drain-timeout="10s" --message="Hi"',
  );
});

test("stop timeouts: non-proxied roles wait drain_timeout, proxied ones use Docker's default", async () => {
  const config = await load(APP + 'drain_timeout: 20\n');
  assert.deepEqual(config.role('web')!.stopArgs(), []);
  assert.deepEqual(config.role('workers')!.stopArgs(), ['-t', '20']);
  const withStop = await load(APP + 'stop_timeout: 7\n');
  assert.deepEqual(withStop.role('web')!.stopArgs(), ['-t', '7']);
});

const ACCESSORIES = `
service: app
image: dhh/app
registry: {server: private.registry, username: dhh, password: secret}
servers: [1.1.1.1]
builder: {arch: amd64}
accessories:
  mysql:
    image: private.registry/mysql:8.0
    host: 1.1.1.5
    port: "3306"
    env:
      clear: {MYSQL_ROOT_HOST: "%"}
      secret: [MYSQL_ROOT_PASSWORD]
    options: {cpus: "4", memory: 2GB}
  redis:
    image: redis:latest
    host: 1.1.1.6
    port: "6379:6379"
    labels: {cache: "true"}
    env: {SOMETHING: else}
    volumes: ["/var/lib/redis:/data"]
  busybox:
    service: custom-busybox
    image: busybox:latest
    registry: {server: other.registry, username: user, password: pw}
    host: 1.1.1.7
    proxy: {host: busybox.example.com}
`;

function accessoryRun(config: Config, name: string): string {
  const a = config.accessory(name)!;
  return [
    'docker run --name',
    a.serviceName,
    '--detach --restart',
    a.restartPolicy,
    ...a.networkArgs(),
    ...config.loggingArgs(),
    ...a.publishArgs(),
    ...a.envArgs(),
    ...a.volumeArgs(),
    ...a.labelArgs(),
    ...a.optionArgs(),
    a.image,
    ...(a.cmd ? [a.cmd] : []),
  ].join(' ');
}

test('accessory run, as in Kamal accessory_test "run"', async () => {
  const config = await load(ACCESSORIES);
  assert.equal(
    accessoryRun(config, 'mysql'),
    'docker run --name app-mysql --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 3306:3306 --env MYSQL_ROOT_HOST="%" --env-file .kamal/apps/app/env/accessories/mysql.env --label service="app-mysql" --cpus "4" --memory "2GB" private.registry/mysql:8.0',
  );
  assert.equal(
    accessoryRun(config, 'redis'),
    'docker run --name app-redis --detach --restart unless-stopped --network kamal --log-opt max-size="10m" --publish 6379:6379 --env SOMETHING="else" --env-file .kamal/apps/app/env/accessories/redis.env --volume /var/lib/redis:/data --label service="app-redis" --label cache="true" redis:latest',
  );
  const busybox = config.accessory('busybox')!;
  assert.equal(busybox.image, 'other.registry/busybox:latest');
  assert.equal(
    busybox.proxy!.deployCommandArgs('172.1.0.2').join(' '),
    '--target="172.1.0.2:80" --host="busybox.example.com" --deploy-timeout="30s" --drain-timeout="30s" --buffer-requests --buffer-responses --log-request-header="Cache-Control" --log-request-header="Last-Modified" --log-request-header="User-Agent"',
  );
  assert.deepEqual(config.proxyHosts, ['1.1.1.1', '1.1.1.7']);
  assert.deepEqual(config.accessory('mysql')!.env.secrets, [
    { name: 'MYSQL_ROOT_PASSWORD', secret: 'MYSQL_ROOT_PASSWORD' },
  ]);
});

test('accessory files and directories mount under the service directory', async () => {
  const config = await load(
    ACCESSORIES.replace(
      '    options: {cpus: "4", memory: 2GB}',
      '    files: ["config/my.cnf:/etc/mysql/my.cnf"]\n    directories: ["data:/var/lib/mysql", "/abs:/abs:ro"]',
    ),
  );
  const mysql = config.accessory('mysql')!;
  assert.deepEqual(mysql.volumeArgs(), [
    '--volume',
    '$PWD/app-mysql/etc/mysql/my.cnf:/etc/mysql/my.cnf',
    '--volume',
    '$PWD/app-mysql/data:/var/lib/mysql',
    '--volume',
    '/abs:/abs:ro',
  ]);
  assert.equal(mysql.files[0]!.mode, '755');
  assert.equal(mysql.directories[0]!.local, '$PWD/app-mysql/data');
});

test('proxy boot with run config, as in Kamal cli/proxy_test "boot with run config"', async () => {
  const config = await load(`
service: app
image: dhh/app
servers:
  web: ["1.1.1.1", "1.1.1.2"]
  workers: ["1.1.1.3", "1.1.1.4"]
registry: {username: user, password: pw}
builder: {arch: amd64}
proxy:
  run:
    registry: registry:4443
    debug: true
    metrics_port: 9090
    options:
      cpus: 1.5
`);
  const run = config.proxyRun('1.1.1.1')!;
  assert.equal(
    [
      'docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy',
      ...run.dockerOptionsArgs(),
      run.image,
      run.runCommand(),
    ].join(' '),
    'docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 --cpus "1.5" registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug --metrics-port "9090"',
  );
  assert.equal(config.proxyRun('1.1.1.3'), undefined);
  assert.deepEqual(config.proxyBoot.defaultBootOptions, [
    '--publish',
    '80:80',
    '--publish',
    '443:443',
    '--log-opt',
    'max-size=10m',
  ]);
});

test('roles sort by name, primary host, proxy roles, env tags and merged env', async () => {
  const config = await load(`
service: app
image: dhh/app
registry: {server: ghcr.io, username: u, password: [PW]}
builder: {arch: amd64}
env:
  clear: {A: root, B: root}
  secret: [S1, ALIAS:S2]
  tags:
    t1: {B: t1}
    t2:
      clear: {C: t2}
      secret: [S3]
servers:
  zeta:
    hosts: [9.9.9.9]
    env: {clear: {A: zeta}, secret: [S1, Z]}
  web:
    - 1.1.1.1: t1
    - 1.1.1.2: [t1, t2]
  alpha:
    hosts: [3.3.3.3]
    proxy: true
`);
  assert.deepEqual(config.roleNames, ['alpha', 'web', 'zeta']);
  assert.equal(config.primaryHost, '1.1.1.1');
  assert.deepEqual(config.proxyRoleNames, ['alpha', 'web']);
  assert.equal(config.repository, 'ghcr.io/dhh/app');
  assert.equal(config.absoluteImage, 'ghcr.io/dhh/app:999');
  assert.equal(config.latestImage, 'ghcr.io/dhh/app:latest');
  assert.deepEqual(config.registry.passwordCredential, { secret: 'PW' });
  assert.equal(
    config.registry.password((n) => `value-of-${n}`),
    'value-of-PW',
  );
  const web = config.role('web')!;
  assert.deepEqual(web.env('1.1.1.1').clear, { A: 'root', B: 't1' });
  assert.deepEqual(web.env('1.1.1.2').clear, { A: 'root', B: 't1', C: 't2' });
  assert.deepEqual(web.env('1.1.1.2').secrets, [
    { name: 'S1', secret: 'S1' },
    { name: 'ALIAS', secret: 'S2' },
    { name: 'S3', secret: 'S3' },
  ]);
  assert.deepEqual(config.role('zeta')!.env('9.9.9.9').secretKeys, ['S1', 'ALIAS:S2', 'Z']);
  assert.equal(
    web.env('1.1.1.2').envFile((n) => (n === 'S2' ? 'has "quotes" and #hash\nand newline' : n.toLowerCase())),
    'S1=s1\nALIAS=has "quotes" and #hash\\nand newline\nS3=s3\n',
  );
});

test('builder: arches, remote arches, cache references and the clone directory', async () => {
  const config = await load(
    APP.replace(
      'builder: {arch: amd64}',
      'builder:\n  arch: [amd64, arm64]\n  remote: ssh://app@127.0.0.1\n  cache: {type: registry, options: mode=max}',
    ),
  );
  const b = config.builder;
  assert.deepEqual(b.localArches, ['amd64']);
  assert.deepEqual(b.remoteArches, ['arm64']);
  assert.equal(b.isRemote, true);
  assert.equal(b.cacheFrom, 'type=registry,ref=dhh/app-build-cache');
  assert.equal(b.cacheTo, 'type=registry,ref=dhh/app-build-cache,mode=max');
  assert.match(b.cloneDirectory, /kamal-clones\/app-[0-9a-f]{13}$/);
});

test('boot limit percentages are of all hosts, at least one', async () => {
  const config = await load(APP + 'boot: {limit: 25%, wait: 2}\n');
  assert.equal(config.boot.limit, 1);
  assert.equal(config.boot.wait, 2);
});

test('accessory placement by role, roles and tag resolves to hosts', async () => {
  const config = await load(`
service: app
image: dhh/app
registry: {username: u, password: p}
builder: {arch: amd64}
servers:
  web: [1.1.1.1, {1.1.1.2: db}]
  workers:
    hosts: [{1.1.1.3: [db, cache]}]
accessories:
  a: {image: x, role: workers}
  b: {image: x, roles: [web, workers]}
  c: {image: x, tag: db}
  d: {image: x, tags: [cache]}
`);
  assert.deepEqual(config.accessory('a')!.hosts, ['1.1.1.3']);
  assert.deepEqual(config.accessory('b')!.hosts, ['1.1.1.1', '1.1.1.2', '1.1.1.3']);
  assert.deepEqual(config.accessory('c')!.hosts, ['1.1.1.2', '1.1.1.3']);
  assert.deepEqual(config.accessory('d')!.hosts, ['1.1.1.3']);
  assert.deepEqual(
    config.hostAccessories('1.1.1.3').map((a) => a.name),
    ['a', 'b', 'c', 'd'],
  );
});

test('accessory .erb files render with the accessory env and secrets; other files are read as they are', async () => {
  const config = await load(
    `
service: app
image: dhh/app
registry: {username: u, password: p}
builder: {arch: amd64}
servers: [1.1.1.1]
accessories:
  mysql:
    image: mysql
    host: 1.1.1.1
    env:
      clear: {MYSQL_USER: app}
      secret: [MYSQL_PASSWORD, ROOT_PW:ROOT_SECRET]
    files:
      - config/my.cnf.erb:/etc/mysql/my.cnf
      - config/plain.cnf:/etc/mysql/plain.cnf
      - config/broken.erb:/etc/broken
`,
    {
      files: {
        'config/my.cnf.erb':
          'user=<%= ENV["MYSQL_USER"] %>\npassword=<%= ENV["MYSQL_PASSWORD"] %>\nroot=<%= ENV["ROOT_PW"] %>\n',
        'config/plain.cnf': 'kept <%= as is %>\n',
        'config/broken.erb': 'line one\n<%= Rails.env %>\n',
      },
    },
  );
  const mysql = config.accessory('mysql')!;
  const lookup = (name: string) => `secret-${name}`;
  const [erbFile, plainFile, brokenFile] = mysql.files;
  assert.equal(erbFile!.erb, true);
  assert.equal(
    mysql.renderFile(erbFile!, lookup, { env: {} }),
    'user=app\npassword=secret-MYSQL_PASSWORD\nroot=secret-ROOT_SECRET\n',
  );
  assert.equal(mysql.renderFile(plainFile!, lookup), 'kept <%= as is %>\n');
  assert.throws(
    () => mysql.renderFile(brokenFile!, lookup, { env: {} }),
    /config\/broken\.erb:2: ERB in the file of accessory mysql/,
  );
  assert.equal(config.network, 'kamal');
});
