// Ports published on every interface: warnings at config load, refusals in strict mode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bindsAllInterfaces, parsePublish, safeSpelling } from '../../src/config/exposure.js';
import { ConfigError, formatProblem, loadConfigFromSources } from '../../src/config/index.js';

const SERVERS = `servers:
  - 10.0.0.1
`;
// The web role without the proxy, so that strict mode only looks at the accessories.
const UNPROXIED = `servers:
  web:
    hosts:
      - 10.0.0.1
    proxy: false
`;
const REST = `registry:
  server: registry.example.com
  username: u
  password: p
builder:
  arch: amd64
`;
const BASE = `service: app
image: app
${UNPROXIED}${REST}`;
const PROXIED = `service: app
image: app
${SERVERS}${REST}`;

function load(text: string, strict = false) {
  return loadConfigFromSources([{ file: 'config/deploy.yml', text }], {
    cwd: '/tmp',
    env: {},
    version: '1',
    strict,
  });
}

function accessoryConfig(port: string, extra = ''): string {
  return `${BASE}accessories:
  db:
    image: postgres:16
    host: 10.0.0.1
    port: "${port}"
${extra}`;
}

const warnings = (text: string) => load(text).warnings.map(formatProblem);

function refusal(text: string, strict = false): string {
  try {
    load(text, strict);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.message;
  }
  assert.fail('the config was accepted');
}

test('publish specs: which bind every interface, and the safe spelling', () => {
  assert.deepEqual(parsePublish('5432'), { address: undefined, hostPort: '5432', containerPort: '5432' });
  assert.deepEqual(parsePublish('6000:5432'), {
    address: undefined,
    hostPort: '6000',
    containerPort: '5432',
  });
  assert.deepEqual(parsePublish('127.0.0.1:5432:5432'), {
    address: '127.0.0.1',
    hostPort: '5432',
    containerPort: '5432',
  });
  assert.deepEqual(parsePublish('[::1]:5432:5432'), {
    address: '[::1]',
    hostPort: '5432',
    containerPort: '5432',
  });
  for (const open of ['5432:5432', '6000:5432', '0.0.0.0:5432:5432', '[::]:5432:5432', '::5432', '5432/udp'])
    assert.equal(bindsAllInterfaces(open), true, open);
  for (const closed of ['127.0.0.1:5432:5432', '10.0.0.5:5432:5432', '[::1]:5432:5432', '100.64.1.2::5432'])
    assert.equal(bindsAllInterfaces(closed), false, closed);
  assert.equal(safeSpelling('5432:5432'), '127.0.0.1:5432:5432');
  assert.equal(safeSpelling('6000:5432'), '127.0.0.1:6000:5432');
  assert.equal(safeSpelling('0.0.0.0:53:53/udp'), '127.0.0.1:53:53/udp');
  assert.equal(safeSpelling('5432 5432'), '127.0.0.1:HOST_PORT:CONTAINER_PORT');
});

test('a bare accessory port warns, naming the accessory, the port and the safe spelling', () => {
  assert.deepEqual(warnings(accessoryConfig('5432')), [
    'config/deploy.yml:18: accessories.db.port is "5432", which publishes port 5432 of accessory db on every interface (0.0.0.0); bind it to one address, e.g. port: "127.0.0.1:5432:5432" (or a private address), or drop port and reach it over the docker network.',
  ]);
  assert.match(
    warnings(accessoryConfig('0.0.0.0:6000:5432'))[0]!,
    /port 6000 of accessory db .* "127\.0\.0\.1:6000:5432"/,
  );
});

test('ports bound to one address, and accessories without a port, load without a warning even in strict mode', () => {
  for (const port of ['127.0.0.1:5432:5432', '100.123.47.52:8025:8025', '[::1]:5432:5432']) {
    assert.deepEqual(warnings(accessoryConfig(port)), [], port);
    assert.equal(load(accessoryConfig(port), true).accessories.length, 1);
  }
  const noPort = `${BASE}accessories:\n  cache:\n    image: valkey/valkey:8\n    host: 10.0.0.1\n`;
  assert.deepEqual(warnings(noPort), []);
  assert.equal(load(noPort, true).accessories.length, 1);
});

test("a publish in an accessory's docker options counts too", () => {
  const text = `${BASE}accessories:\n  mail:\n    image: axllent/mailpit\n    host: 10.0.0.1\n    options:\n      publish: "8025:8025"\n`;
  assert.deepEqual(
    warnings(text).map((w) => w.replace(/^config\/deploy\.yml:\d+: /, '')),
    [
      'accessories.mail.options.publish is "8025:8025", which publishes port 8025 of accessory mail on every interface (0.0.0.0); bind it to one address, e.g. "127.0.0.1:8025:8025".',
    ],
  );
});

test('--strict refuses a bare accessory port with the same sentence, and nothing loads', () => {
  assert.equal(
    refusal(accessoryConfig('5432'), true),
    'config/deploy.yml:18: accessories.db.port is "5432", which publishes port 5432 of accessory db on every interface (0.0.0.0); bind it to one address, e.g. port: "127.0.0.1:5432:5432" (or a private address), or drop port and reach it over the docker network (refused in strict mode: --strict or x-wharf.strict).',
  );
});

test('x-wharf: {strict: true} in the config refuses too; Kamal ignores x- keys, so the file stays Kamal-loadable', () => {
  const text = `x-wharf:\n  strict: true\n${accessoryConfig('5432')}`;
  assert.match(refusal(text), /accessories\.db\.port is "5432".*refused in strict mode/);
  assert.deepEqual(warnings(`x-wharf:\n  strict: false\n${accessoryConfig('5432')}`).length, 1);
  assert.match(refusal(`x-wharf:\n  strict: "yes"\n${BASE}`), /x-wharf\.strict should be a boolean/);
  assert.match(refusal(`x-wharf: true\n${BASE}`), /x-wharf should be a hash/);
});

test('strict mode also refuses the proxy publishing 80/443 on every interface, and accepts it bound with bind_ips', () => {
  const proxied = `${PROXIED}proxy:\n  host: app.example.com\n`;
  assert.deepEqual(warnings(proxied), [], 'no warning for the proxy without strict mode');
  assert.match(
    refusal(proxied, true),
    /the proxy publishes ports 80 and 443 on every interface \(0\.0\.0\.0\) of 10\.0\.0\.1; bind it to one address with proxy\.run\.bind_ips: \["127\.0\.0\.1"\].*refused in strict mode/i,
  );
  const bound = `${PROXIED}proxy:\n  host: app.example.com\n  run:\n    bind_ips: [127.0.0.1]\n`;
  assert.equal(load(bound, true).proxyHosts.length, 1);
  const unpublished = `${PROXIED}proxy:\n  host: app.example.com\n  run:\n    publish: false\n`;
  assert.equal(load(unpublished, true).proxyHosts.length, 1);
  const open = `${PROXIED}proxy:\n  host: app.example.com\n  run:\n    bind_ips: [0.0.0.0]\n`;
  assert.match(refusal(open, true), /the proxy publishes ports 80 and 443 on every interface/i);
});

test('a proxied accessory named like a proxied role (same route name on the same host) is a warning', () => {
  const text = `service: app
image: app
servers:
  - 10.0.0.1
${REST}accessories:
  web:
    image: echo:1
    host: 10.0.0.1
    proxy:
      host: echo.example.com
  echo:
    image: echo:1
    host: 10.0.0.1
    proxy:
      host: echo2.example.com
`;
  assert.deepEqual(
    warnings(text).map((w) => w.replace(/^config\/deploy\.yml:\d+: /, '')),
    [
      "accessories.web is served by the proxy as app-web, the name the web role's route has on the same hosts, so one would replace the other; give the accessory another name or set accessories.web.service.",
    ],
  );
});
