/**
 * End-to-end: Kamal's local-registry mode over wharf's SSH layer. The fleet
 * (`sshtest2`, registry port 5622) runs without its own registry forward, so
 * a server reaches the registry on this machine's 127.0.0.1:5622 only through
 * the SSH remote port forward, as `registry.server: localhost:5622` needs.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SshPool } from '../../src/ssh/pool.js';
import { SshConfig } from '../../src/ssh/ssh-config.js';
import { dockerEnv, fleetUp, type TestFleet } from '../support/fleet.js';

describe('local registry through the SSH remote port forward', () => {
  let fleet: TestFleet;
  let pool: SshPool;
  const port = 5622;

  before(() => {
    try {
      fleet = fleetUp('sshtest2', 1, port, ['--no-registry-forward']);
    } catch {
      // `fleet up` has been seen to exit 0 without printing (reported); asking again reports the fleet.
      fleet = fleetUp('sshtest2', 1, port, ['--no-registry-forward']);
    }
    const dir = mkdtempSync(join(tmpdir(), 'wharf-ssh-registry-'));
    pool = new SshPool({
      settings: { keys: [fleet.ssh_key], keysOnly: true, config: false },
      sshConfig: SshConfig.empty(),
      hostKeys: { files: [fleet.known_hosts], recordFile: join(dir, 'known_hosts') },
    });
  });

  after(async () => {
    await pool?.close();
    fleet?.down();
  });

  test('a server pulls an image from the registry on this machine while the forward is open', async () => {
    // A tiny image in the fleet registry (pushed from this machine to localhost:5622).
    const dir = mkdtempSync(join(tmpdir(), 'wharf-tiny-image-'));
    writeFileSync(join(dir, 'hello.txt'), `hello ${randomBytes(8).toString('hex')}\n`);
    const image = `localhost:${port}/wharf-ssh-tiny:${randomBytes(4).toString('hex')}`;
    const tar = spawnSync('tar', ['-C', dir, '-c', '.']);
    assert.equal(tar.status, 0);
    const imported = spawnSync('docker', ['import', '-', image], {
      input: tar.stdout,
      env: dockerEnv(fleet),
      encoding: 'utf8',
    });
    assert.equal(imported.status, 0, imported.stderr);
    const pushed = spawnSync('docker', ['push', image], {
      env: dockerEnv(fleet),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(pushed.status, 0, pushed.stderr);

    const host = fleet.servers[0]!.address;
    // Without the forward the server has nothing on localhost:5622.
    const before = await pool.exec(host, ['curl', '-sf', '-m', '3', `http://localhost:${port}/v2/`]);
    assert.notEqual(before.code, 0);

    await pool.withRemoteForward([host], { remotePort: port, step: 'pull the app image' }, async () => {
      await pool.run(host, ['docker', 'pull', image], { step: 'pull the app image', timeoutMs: 120_000 });
    });
    const inspect = await pool.run(host, ['docker', 'image', 'inspect', '--format', '{{.Id}}', image]);
    assert.match(inspect.stdout.trim(), /^sha256:[0-9a-f]{64}$/);

    // And the forward is gone afterwards.
    const afterwards = await pool.exec(host, ['curl', '-sf', '-m', '3', `http://localhost:${port}/v2/`]);
    assert.notEqual(afterwards.code, 0);
    assert.equal(pool.stats()[host]!.connections, 1);
  });
});
