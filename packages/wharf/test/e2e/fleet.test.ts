/**
 * End-to-end: the local fleet on the real engine (real sshd, real dockerd in
 * each server, real registry). Uses its own fleet names and registry ports.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { dockerEnv, fleetUp, sshRun, wharf, type TestFleet } from '../support/fleet.js';

function docker(fleet: TestFleet, args: string[]) {
  const result = spawnSync('docker', args, { env: dockerEnv(fleet), encoding: 'utf8', timeout: 300_000 });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

function leftovers(fleet: TestFleet, name: string): string[] {
  const kinds: string[][] = [
    ['ps', '--all', '--filter', `label=wharf.fleet=${name}`, '--format', '{{.Names}}'],
    ['network', 'ls', '--filter', `label=wharf.fleet=${name}`, '--format', '{{.Name}}'],
    ['volume', 'ls', '--filter', `label=wharf.fleet=${name}`, '--format', '{{.Name}}'],
  ];
  return kinds.flatMap((args) => docker(fleet, args).stdout.split('\n').filter(Boolean));
}

describe('wharf fleet', () => {
  let fleet: TestFleet;

  before(() => {
    wharf(['fleet', 'down', '--name', 'fleettest']);
    fleet = fleetUp('fleettest', 3, 5610);
  });

  after(() => {
    fleet?.down();
  });

  test('up --json describes a registry and 3 servers with stable addresses', () => {
    assert.equal(fleet.name, 'fleettest');
    assert.equal(fleet.registry, 'localhost:5610');
    assert.equal(fleet.servers.length, 3);
    for (const server of fleet.servers) {
      assert.match(server.address, /^\d+\.\d+\.\d+\.\d+$/);
      assert.equal(server.port, 22);
      assert.equal(server.user, 'root');
    }
    assert.match(fleet.base_images.debian, /^wharf\/debian:/);
    assert.match(fleet.base_images.node, /^wharf\/node:/);
  });

  test('every server answers `ssh -i KEY root@ADDR docker info` with a host key recorded in known_hosts', () => {
    for (const server of fleet.servers) {
      const result = sshRun(fleet, server.address, "docker info --format '{{.ServerVersion}} {{.Driver}}'");
      assert.equal(result.code, 0, `${server.name}: ${result.stderr}`);
      assert.match(result.stdout, /\S+ \S+/);
    }
  });

  test('an image pushed from the machine pulls inside every server under the same name', () => {
    const ref = `${fleet.registry}/fleet-e2e/busy:1`;
    assert.equal(docker(fleet, ['tag', fleet.base_images.debian, ref]).code, 0);
    const push = docker(fleet, ['push', ref]);
    assert.equal(push.code, 0, push.stderr);
    for (const server of fleet.servers) {
      const pull = sshRun(
        fleet,
        server.address,
        `docker pull -q ${ref} && docker run --rm ${ref} cat /etc/debian_version`,
      );
      assert.equal(pull.code, 0, `${server.name}: ${pull.stderr}`);
      assert.match(pull.stdout, /\d+\.\d+/);
    }
  });

  test('status reports the registry and every server healthy', () => {
    const result = wharf(['fleet', 'status', '--name', 'fleettest', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as {
      registry: { answers: boolean };
      servers: { sshd: boolean; engine: string | null; registry: boolean | null; container: string }[];
    };
    assert.equal(status.registry.answers, true);
    assert.equal(status.servers.length, 3);
    for (const s of status.servers) {
      assert.equal(s.container, 'running');
      assert.equal(s.sshd, true);
      assert.ok(s.engine);
      assert.equal(s.registry, true);
    }
    const text = wharf(['fleet', 'status', '--name', 'fleettest']);
    assert.match(text.stdout, /healthy/);
  });

  test('a second up reports the running fleet unchanged', () => {
    const result = wharf(['fleet', 'up', '--name', 'fleettest', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const again = JSON.parse(result.stdout) as TestFleet;
    assert.deepEqual(again.servers, fleet.servers);
    const human = wharf(['fleet', 'up', '--name', 'fleettest']);
    assert.match(human.stdout, /was already up: 3 servers/);
  });

  test('--servers grows the fleet and keeps existing names and addresses', () => {
    const result = wharf(['fleet', 'up', '--name', 'fleettest', '--servers', '4', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const grown = JSON.parse(result.stdout) as TestFleet;
    assert.equal(grown.servers.length, 4);
    assert.deepEqual(grown.servers.slice(0, 3), fleet.servers);
    const added = grown.servers[3]!;
    assert.equal(sshRun(grown as TestFleet, added.address, 'docker info >/dev/null').code, 0);
    // --servers never shrinks: a smaller number keeps all four and says so.
    const smaller = wharf(['fleet', 'up', '--name', 'fleettest', '--servers', '2', '--json']);
    assert.equal(smaller.code, 0, smaller.stderr);
    assert.equal((JSON.parse(smaller.stdout) as TestFleet).servers.length, 4);
  });

  test('a registry port that is taken is one clear error, and nothing is left behind', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(5611, '127.0.0.1', resolve));
    try {
      const result = wharf(['fleet', 'up', '--name', 'fleetport', '--registry-port', '5611']);
      assert.notEqual(result.code, 0);
      assert.match(
        result.stderr,
        /^wharf: Port 5611 on 127\.0\.0\.1 is already in use.*--registry-port\.\n$/,
      );
      assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
      assert.deepEqual(leftovers(fleet, 'fleetport'), []);
      const { existsSync } = await import('node:fs');
      const { fleetDir } = await import('../../src/fleet/fleet.js');
      assert.equal(existsSync(fleetDir('fleetport')), false, 'no fleet folder is left behind');
    } finally {
      blocker.close();
    }
  });

  test('a half-up fleet is one clear error on up, DEGRADED on status, and down clears it', () => {
    const half = fleetUp('fleethalf', 2, 5612);
    docker(half, ['rm', '--force', 'fleethalf-vm2']);
    const up = wharf(['fleet', 'up', '--name', 'fleethalf']);
    assert.notEqual(up.code, 0);
    assert.match(
      up.stderr,
      /^wharf: Fleet "fleethalf" is half up \(server container fleethalf-vm2 is missing\); run `wharf fleet down --name fleethalf`/,
    );
    const status = wharf(['fleet', 'status', '--name', 'fleethalf']);
    assert.equal(status.code, 1);
    assert.match(status.stdout, /DEGRADED/);
    assert.match(status.stdout, /fleethalf-vm2\s+\S+\s+missing/);
    half.down();
    assert.deepEqual(leftovers(half, 'fleethalf'), []);
  });

  test('down removes every container, network and volume of the fleet and nothing else', () => {
    const other = fleetUp('fleetkeep', 1, 5613);
    try {
      const victim = fleetUp('fleetgone', 1, 5614);
      assert.ok(leftovers(victim, 'fleetgone').length >= 5);
      const result = wharf(['fleet', 'down', '--name', 'fleetgone']);
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(leftovers(victim, 'fleetgone'), []);
      // The other fleet still runs and answers.
      assert.equal(sshRun(other, other.servers[0]!.address, 'docker info >/dev/null').code, 0);
      const again = wharf(['fleet', 'down', '--name', 'fleetgone']);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /was not running/);
    } finally {
      other.down();
    }
  });
});

describe('wharf fleet without an engine', () => {
  test('a DOCKER_HOST that does not answer is one clear sentence', () => {
    const result = wharf(['fleet', 'up', '--name', 'noengine'], {
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
    assert.notEqual(result.code, 0);
    assert.equal(
      result.stderr,
      'wharf: The Docker engine at DOCKER_HOST=unix:///nonexistent/docker.sock does not answer; start it, or unset DOCKER_HOST to let wharf use its own engine.\n',
    );
  });

  test('no engine and no way to install one is one clear sentence', () => {
    const result = wharf(['fleet', 'up', '--name', 'noengine'], {
      env: {
        WHARF_HOME: '/tmp/wharf-noengine-home',
        WHARF_DOCKER_BIN: '/nonexistent/docker',
        WHARF_NO_INSTALL: '1',
        DOCKER_HOST: '',
      },
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /^wharf: Docker is not installed.*\.\n$/);
  });
});
