import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseSubnet,
  cidrsOverlap,
  describeFleet,
  planServers,
  registryRunArgs,
  serverAddress,
  serverRunArgs,
  validateFleetName,
  type FleetState,
} from '../../../src/fleet/plan.js';
import { parseAptMirror } from '../../../src/fleet/base-images.js';
import { UserError } from '../../../src/util/errors.js';

const state: FleetState = {
  name: 'demo',
  network: 'demo-net',
  subnet: '172.30.4.0/24',
  registryPort: 5600,
  registryForward: true,
  servers: [],
  createdAt: '2026-11-26T00:00:00Z',
};

test('fleet names: lowercase letters, digits, dashes', () => {
  assert.equal(validateFleetName('ci-1'), 'ci-1');
  for (const bad of ['', 'Demo', 'a_b', '-x', 'x'.repeat(32), 'a b']) {
    assert.throws(() => validateFleetName(bad), UserError, bad);
  }
});

test('subnet choice skips every network in use, including partial overlaps', () => {
  assert.equal(chooseSubnet([]), '172.30.0.0/24');
  assert.equal(chooseSubnet(['172.30.0.0/24', '172.30.1.0/25']), '172.30.2.0/24');
  // A /16 route covering the whole 172.30 range moves the fleet to 10.213.
  assert.equal(chooseSubnet(['172.30.0.0/16']), '10.213.0.0/24');
});

test('subnet exhaustion is a clear error', () => {
  assert.throws(() => chooseSubnet(['172.16.0.0/12', '10.0.0.0/8']), /No free private subnet/);
});

test('cidr overlap', () => {
  assert.equal(cidrsOverlap('172.30.0.0/24', '172.30.0.128/25'), true);
  assert.equal(cidrsOverlap('172.30.0.0/24', '172.30.1.0/24'), false);
  assert.equal(cidrsOverlap('0.0.0.0/0', '10.1.2.0/24'), true);
});

test('servers get stable addresses; growing keeps the existing ones', () => {
  const two = planServers(state, 2);
  assert.deepEqual(
    two.map((s) => [s.name, s.address]),
    [
      ['demo-vm1', '172.30.4.11'],
      ['demo-vm2', '172.30.4.12'],
    ],
  );
  const four = planServers({ ...state, servers: two }, 4);
  assert.deepEqual(four.slice(0, 2), two);
  assert.equal(four[3]!.address, serverAddress(state.subnet, 4));
  assert.throws(() => planServers(state, 0), /--servers must be a whole number/);
});

test('registry is published on loopback only', () => {
  const args = registryRunArgs(state, 'wharf/fleet-server:bookworm');
  const publish = args[args.indexOf('--publish') + 1];
  assert.equal(publish, '127.0.0.1:5600:5000');
  assert.equal(args.filter((a) => a === '--publish').length, 1);
  assert.deepEqual(args.slice(-4), [
    'wharf/fleet-server:bookworm',
    'docker-registry',
    'serve',
    '/etc/wharf/registry.yml',
  ]);
});

test('server run args: no --privileged, every capability but SYS_RESOURCE, own docker volume, registry forward', () => {
  const [server] = planServers(state, 1);
  const args = serverRunArgs(state, server!, 'ssh-ed25519 AAAA test', 'img');
  assert.equal(args.includes('--privileged'), false);
  assert.equal(args.includes('SYS_RESOURCE'), false);
  assert.ok(args.includes('SYS_ADMIN') && args.includes('NET_ADMIN'));
  assert.ok(args.includes('demo-vm1-docker:/var/lib/docker'));
  assert.equal(args[args.indexOf('--ip') + 1], '172.30.4.11');
  assert.ok(args.includes('WHARF_REGISTRY_FORWARD=5600=demo-registry:5000'));
  assert.ok(args.includes('WHARF_AUTHORIZED_KEY=ssh-ed25519 AAAA test'));
  assert.ok(!args.some((a) => a.startsWith('--publish')), 'servers publish nothing on the host');
  const noForward = serverRunArgs({ ...state, registryForward: false }, server!, 'k', 'img');
  assert.ok(!noForward.some((a) => a.startsWith('WHARF_REGISTRY_FORWARD')));
});

test('fleet description has the shape deploy configs and tests rely on', () => {
  const d = describeFleet(
    { ...state, servers: planServers(state, 2) },
    {
      sshKey: '/k',
      knownHosts: '/kh',
      dockerHost: 'unix:///s',
      baseImages: { debian: 'd:1', node: 'n:1', server: 's:1' },
    },
  );
  assert.equal(d.registry, 'localhost:5600');
  assert.deepEqual(d.servers[0], { name: 'demo-vm1', address: '172.30.4.11', port: 22, user: 'root' });
  assert.equal(d.base_images.node, 'n:1');
});

test('apt mirror is read from deb822 and one-line sources, skipping security', () => {
  const deb822 = `Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\nTypes: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\nComponents: main\n`;
  assert.equal(parseAptMirror(deb822), 'http://mirror.example/debian');
  assert.equal(
    parseAptMirror(
      'deb http://security.debian.org/debian-security bookworm-security main\ndeb [arch=amd64] http://ftp.example/debian bookworm main\n',
    ),
    'http://ftp.example/debian',
  );
  assert.equal(parseAptMirror('deb https://packages.cloud.google.com/apt cloud-sdk main\n'), undefined);
});

test('fleet host keys replace stale lines for the same addresses and keep the rest', async () => {
  const { mkdtempSync, readFileSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { replaceKnownHosts } = await import('../../../src/fleet/known-hosts.js');
  const file = join(mkdtempSync(join(tmpdir(), 'wharf-kh-')), 'known_hosts');
  writeFileSync(
    file,
    '10.0.0.1 ssh-ed25519 OLD\nexample.com ssh-ed25519 KEEP\n[10.0.0.1]:2222 ssh-ed25519 OLDPORT\n',
  );
  await replaceKnownHosts([{ address: '10.0.0.1', port: 22, key: 'ssh-ed25519 NEW' }], ['10.0.0.1'], file);
  assert.equal(readFileSync(file, 'utf8'), 'example.com ssh-ed25519 KEEP\n10.0.0.1 ssh-ed25519 NEW\n');
  await replaceKnownHosts([], ['10.0.0.1'], file);
  assert.equal(readFileSync(file, 'utf8'), 'example.com ssh-ed25519 KEEP\n');
});
