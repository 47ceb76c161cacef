// kamal-proxy container commands, checked against Kamal's test/commands/proxy_test.rb
// and the proxy run lines of test/cli/proxy_test.rb.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyCommands, commandLine, isOlderVersion, proxyVersionTooOld } from '../../src/commands/index.js';
import { load, type Raw } from './support.js';

const BASE: Raw = {
  service: 'app',
  image: 'dhh/app',
  registry: { username: 'dhh', password: 'secret' },
  servers: ['1.1.1.1'],
  builder: { arch: 'amd64' },
};

async function proxy(extra: Raw = {}, host = '1.1.1.1'): Promise<ProxyCommands> {
  return new ProxyCommands(await load({ ...BASE, ...extra }, { version: '123' }), host);
}
const line = commandLine;

const LEGACY_RUN =
  'echo $(cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt max-size=10m") $(cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"):$(cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2") $(cat .kamal/proxy/run_command 2> /dev/null || echo "") | xargs docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config';
const RUN_PREFIX =
  'docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:/home/kamal-proxy/.config/kamal-proxy --volume $PWD/.kamal/proxy/apps-config:/home/kamal-proxy/.apps-config';

test('run without proxy.run reads the legacy boot-config files', async () => {
  assert.equal(line((await proxy()).run()), LEGACY_RUN);
  assert.equal(line((await proxy({ proxy: { host: 'example.com' } })).run()), LEGACY_RUN);
});

test('start, stop, start-or-run, info', async () => {
  const p = await proxy();
  assert.equal(line(p.start()), 'docker container start kamal-proxy');
  assert.equal(line(p.stop()), 'docker container stop kamal-proxy');
  assert.equal(line(p.startOrRun()), `docker container start kamal-proxy || ${LEGACY_RUN}`);
  assert.equal(line(p.info()), "docker ps --filter 'name=^kamal-proxy$'");
});

test('logs', async () => {
  const p = await proxy();
  assert.equal(line(p.logs()), 'docker logs kamal-proxy --timestamps 2>&1');
  assert.equal(line(p.logs({ since: '2h' })), 'docker logs kamal-proxy --since 2h --timestamps 2>&1');
  assert.equal(line(p.logs({ lines: 10 })), 'docker logs kamal-proxy --tail 10 --timestamps 2>&1');
  assert.equal(line(p.logs({ timestamps: false })), 'docker logs kamal-proxy 2>&1');
  assert.equal(line(p.logs({ grep: 'hello!' })), "docker logs kamal-proxy --timestamps 2>&1 | grep 'hello!'");
});

test('follow logs', async () => {
  const p = await proxy();
  assert.equal(
    line(p.followLogs()),
    "ssh -t root@1.1.1.1 -p 22 'docker logs kamal-proxy --timestamps --tail 10 --follow 2>&1'",
  );
  assert.equal(
    line(p.followLogs({ grep: 'hello!' })),
    'ssh -t root@1.1.1.1 -p 22 \'docker logs kamal-proxy --timestamps --tail 10 --follow 2>&1 | grep "hello!"\'',
  );
});

test('remove container and image, version', async () => {
  const p = await proxy();
  assert.equal(
    line(p.removeContainer()),
    'docker container prune --force --filter label=org.opencontainers.image.title=kamal-proxy',
  );
  assert.equal(
    line(p.removeImage()),
    'docker image prune --all --force --filter label=org.opencontainers.image.title=kamal-proxy',
  );
  assert.equal(
    line(p.version()),
    "docker inspect kamal-proxy --format '{{.Config.Image}}' | awk -F: '{print $NF}'",
  );
});

test('directories', async () => {
  const p = await proxy();
  assert.equal(line(p.ensureProxyDirectory()), 'mkdir -p .kamal/proxy');
  assert.equal(line(p.ensureAppsConfigDirectory()), 'mkdir -p .kamal/proxy/apps-config');
  assert.equal(line(p.removeProxyDirectory()), 'rm -r .kamal/proxy');
});

test('legacy boot-config reads and resets', async () => {
  const p = await proxy();
  assert.equal(
    line(p.readBootOptions()),
    'cat .kamal/proxy/options 2> /dev/null || echo "--publish 80:80 --publish 443:443 --log-opt max-size=10m"',
  );
  assert.equal(line(p.readImage()), 'cat .kamal/proxy/image 2> /dev/null || echo "basecamp/kamal-proxy"');
  assert.equal(line(p.readImageVersion()), 'cat .kamal/proxy/image_version 2> /dev/null || echo "v0.9.2"');
  assert.equal(line(p.readRunCommand()), 'cat .kamal/proxy/run_command 2> /dev/null || echo ""');
  assert.equal(line(p.resetBootOptions()), 'rm .kamal/proxy/options');
  assert.equal(line(p.resetImage()), 'rm .kamal/proxy/image');
  assert.equal(line(p.resetImageVersion()), 'rm .kamal/proxy/image_version');
  assert.equal(line(p.resetRunCommand()), 'rm .kamal/proxy/run_command');
});

test('proxy.run settings', async () => {
  const cases: [Raw, string][] = [
    [
      { registry: 'registry:4443' },
      '--publish 80:80 --publish 443:443 --log-opt max-size=10m registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run',
    ],
    [
      { repository: 'custom/repo' },
      '--publish 80:80 --publish 443:443 --log-opt max-size=10m custom/repo:v0.9.2 kamal-proxy run',
    ],
    [
      { version: 'v1.2.3' },
      '--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v1.2.3 kamal-proxy run',
    ],
    [
      { bind_ips: ['0.0.0.0', '127.0.0.1'] },
      '--publish 0.0.0.0:80:80 --publish 0.0.0.0:443:443 --publish 127.0.0.1:80:80 --publish 127.0.0.1:443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run',
    ],
    [
      { bind_ips: ['::1'], http_port: 8080, https_port: 8443 },
      '--publish [::1]:8080:80 --publish [::1]:8443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run',
    ],
    [
      { log_max_size: '50m' },
      '--publish 80:80 --publish 443:443 --log-opt max-size=50m basecamp/kamal-proxy:v0.9.2 kamal-proxy run',
    ],
    [
      { debug: true },
      '--publish 80:80 --publish 443:443 --log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug',
    ],
    [
      { metrics_port: 9090 },
      '--publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 basecamp/kamal-proxy:v0.9.2 kamal-proxy run --metrics-port "9090"',
    ],
    [{ publish: false }, '--log-opt max-size=10m basecamp/kamal-proxy:v0.9.2 kamal-proxy run'],
  ];
  for (const [run, tail] of cases) {
    assert.equal(line((await proxy({ proxy: { run } })).run()), `${RUN_PREFIX} ${tail}`, JSON.stringify(run));
  }
});

test('boot with run config (Kamal cli/proxy_test fixture deploy_with_proxy_run_config.yml)', async () => {
  const p = await proxy({
    proxy: { run: { registry: 'registry:4443', metrics_port: 9090, debug: true, options: { cpus: 1.5 } } },
  });
  assert.equal(
    line(p.startOrRun()),
    `docker container start kamal-proxy || ${RUN_PREFIX} --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 --cpus "1.5" registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug --metrics-port "9090"`,
  );
});

test('proxy.run applies per host: a host without a proxied role falls back to the legacy files', async () => {
  const raw: Raw = {
    ...BASE,
    servers: { web: ['1.1.1.1'], workers: ['1.1.1.2'] },
    proxy: { run: { debug: true } },
  };
  const config = await load(raw);
  assert.match(line(new ProxyCommands(config, '1.1.1.1').run()), /kamal-proxy run --debug$/);
  assert.match(line(new ProxyCommands(config, '1.1.1.2').run()), /^echo \$\(cat \.kamal\/proxy\/options/);
});

test('cleanup of Traefik (Kamal 1 upgrade)', async () => {
  assert.equal(
    line((await proxy()).cleanupTraefik()),
    'docker container stop traefik ; docker container prune --force --filter label=org.opencontainers.image.title=Traefik && docker image prune --all --force --filter label=org.opencontainers.image.title=Traefik',
  );
});

test('boot config set: defaults reset every file', async () => {
  const p = await proxy();
  const files = p.bootConfigFiles();
  assert.deepEqual(
    files.map((f) => ('reset' in f ? `reset: ${line(f.reset)}` : `${f.path}: ${f.content}`)),
    [
      'reset: rm .kamal/proxy/options',
      'reset: rm .kamal/proxy/image',
      'reset: rm .kamal/proxy/image_version',
      'reset: rm .kamal/proxy/run_command',
    ],
  );
});

test('boot config set: custom values are written as Kamal writes them', async () => {
  const p = await proxy();
  const files = p.bootConfigFiles({
    publishHostIps: ['127.0.0.1'],
    httpPort: 8080,
    logMaxSize: '20m',
    registry: 'registry:4443',
    imageVersion: 'v0.9.3',
    metricsPort: 9090,
    debug: true,
    dockerOptions: ['cpus=2'],
  });
  assert.deepEqual(
    files.map((f) => ('reset' in f ? `reset: ${line(f.reset)}` : `${f.path}: ${f.content}`)),
    [
      '.kamal/proxy/options: --publish 127.0.0.1:8080:80 --publish 127.0.0.1:443:443 --log-opt max-size=20m --expose=9090 --cpus=2',
      '.kamal/proxy/image: registry:4443/basecamp/kamal-proxy',
      '.kamal/proxy/image_version: v0.9.3',
      '.kamal/proxy/run_command: kamal-proxy run --debug --metrics-port "9090"',
    ],
  );
  const noPublish = p.bootConfigFiles({ publish: false });
  assert.deepEqual(noPublish[0], { path: '.kamal/proxy/options', content: '--log-opt max-size=10m' });
});

test('proxy version checks (v0.9.2 minimum)', () => {
  assert.equal(isOlderVersion('v0.8.7', 'v0.9.2'), true);
  assert.equal(isOlderVersion('v0.9.2', 'v0.9.2'), false);
  assert.equal(isOlderVersion('v0.10.0', 'v0.9.2'), false);
  assert.equal(isOlderVersion('0.9.1', 'v0.9.2'), true);
  assert.equal(isOlderVersion('v0.9.2.pre', 'v0.9.2'), true);
  assert.equal(proxyVersionTooOld('v0.8.0\n'), true);
  assert.equal(proxyVersionTooOld(''), false);
  assert.equal(proxyVersionTooOld('v0.9.2'), false);
});

test('proxy.run differs per host: roles on one host, an accessory on another (Kamal fixture deploy_with_proxy_run_config.yml)', async () => {
  const yaml = `service: app
image: dhh/app
servers:
  web:
    - "1.1.1.1"
    - "1.1.1.2"
  workers:
    - "1.1.1.3"
    - "1.1.1.4"
registry:
  username: user
  password: pw
builder:
  arch: amd64
proxy:
  run:
    registry: registry:4443
    debug: true
    metrics_port: 9090
    options:
      cpus: 1.5
accessories:
  mysql:
    image: mysql:5.7
    host: 1.1.1.3
    port: 3306
    env:
      clear:
        MYSQL_ROOT_HOST: '%'
      secret:
        - MYSQL_ROOT_PASSWORD
    proxy:
      run:
        debug: false
        metrics_port: 9190
readiness_delay: 0
deploy_timeout: 6
`;
  const config = await load(yaml);
  assert.equal(
    line(new ProxyCommands(config, '1.1.1.1').startOrRun()),
    `docker container start kamal-proxy || ${RUN_PREFIX} --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9090 --cpus "1.5" registry:4443/basecamp/kamal-proxy:v0.9.2 kamal-proxy run --debug --metrics-port "9090"`,
  );
  assert.equal(
    line(new ProxyCommands(config, '1.1.1.3').startOrRun()),
    `docker container start kamal-proxy || ${RUN_PREFIX} --publish 80:80 --publish 443:443 --log-opt max-size=10m --expose=9190 basecamp/kamal-proxy:v0.9.2 kamal-proxy run --metrics-port "9190"`,
  );
});
