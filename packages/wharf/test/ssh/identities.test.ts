import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { identitySources, loadAuthPlan } from '../../src/ssh/identities.js';

describe('identities', () => {
  test('with nothing configured, the default key files that exist are offered', () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-home-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'x');
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'x');
    assert.deepEqual(
      identitySources({ home }).map((s) => s.label),
      [join(home, '.ssh', 'id_ed25519'), join(home, '.ssh', 'id_rsa')],
    );
  });

  test('explicit keys replace the defaults; ~ expands; duplicates are offered once', () => {
    const home = mkdtempSync(join(tmpdir(), 'wharf-home-'));
    mkdirSync(join(home, '.ssh'));
    writeFileSync(join(home, '.ssh', 'id_ed25519'), 'x');
    const sources = identitySources({
      home,
      keys: ['~/.ssh/deploy', '/k'],
      configFiles: ['/k'],
      keyData: ['PEM'],
    });
    assert.deepEqual(
      sources.map((s) => s.label),
      [join(home, '.ssh', 'deploy'), '/k', 'ssh.key_data[0]'],
    );
  });

  test('usable keys load; missing, encrypted and non-keys are listed without their content', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-keys-'));
    const good = ssh2.utils.generateKeyPairSync('ed25519').private;
    writeFileSync(join(dir, 'good'), good);
    const encrypted = spawnSync(
      'ssh-keygen',
      ['-q', '-t', 'ed25519', '-N', 'passphrase', '-f', join(dir, 'enc')],
      { encoding: 'utf8' },
    );
    assert.equal(encrypted.status, 0, encrypted.stderr);
    const plan = await loadAuthPlan(
      [
        { label: join(dir, 'good'), path: join(dir, 'good') },
        { label: join(dir, 'enc'), path: join(dir, 'enc') },
        { label: join(dir, 'missing'), path: join(dir, 'missing') },
        { label: 'ssh.key_data[0]', data: 'super secret junk' },
        { label: 'ssh.key_data[1]', data: good },
      ],
      '/tmp/agent.sock',
    );
    assert.deepEqual(
      plan.identities.map((i) => i.label),
      [join(dir, 'good'), 'ssh.key_data[1]'],
    );
    assert.equal(plan.agent, '/tmp/agent.sock');
    assert.deepEqual(plan.skipped, [
      `${join(dir, 'enc')} (encrypted; load it into ssh-agent)`,
      `${join(dir, 'missing')} (missing)`,
      'ssh.key_data[0] (not a private key)',
    ]);
    assert.ok(!JSON.stringify(plan.skipped).includes('super secret'));
  });
});
