// The global --strict flag and x-wharf.strict, through the real CLI (no servers needed: `wharf config`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wharf } from '../../support/fleet.js';

function project(deployYml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-strict-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config/deploy.yml'), deployYml);
  execFileSync('git', ['init', '-q'], { cwd: dir });
  execFileSync(
    'git',
    ['-c', 'user.email=t@wharf.invalid', '-c', 'user.name=t', 'commit', '-q', '--allow-empty', '-m', 'x'],
    { cwd: dir },
  );
  return dir;
}

const CONFIG = `service: app
image: app
servers:
  web:
    hosts: [10.0.0.1]
    proxy: false
registry:
  server: registry.example.com
  username: u
  password: p
builder:
  arch: amd64
accessories:
  db:
    image: postgres:16
    host: 10.0.0.1
    port: 5432
`;

test('a bare accessory port is a warning by default, and refused with --strict or x-wharf.strict', () => {
  const dir = project(CONFIG);
  const loose = wharf(['config'], { cwd: dir });
  assert.equal(loose.code, 0, loose.stderr);
  assert.match(
    loose.stderr,
    /^wharf: warning: config\/deploy\.yml:\d+: accessories\.db\.port is "5432", which publishes port 5432 of accessory db on every interface \(0\.0\.0\.0\); bind it to one address, e\.g\. port: "127\.0\.0\.1:5432:5432"/m,
  );
  const strict = wharf(['--strict', 'config'], { cwd: dir });
  assert.equal(strict.code, 1);
  assert.equal(strict.stdout, '');
  assert.match(
    strict.stderr,
    /accessories\.db\.port is "5432".*\(refused in strict mode: --strict or x-wharf\.strict\)/,
  );

  const inConfig = wharf(['config'], { cwd: project(`x-wharf:\n  strict: true\n${CONFIG}`) });
  assert.equal(inConfig.code, 1);
  assert.match(inConfig.stderr, /refused in strict mode/);

  const bound = wharf(['--strict', 'config'], {
    cwd: project(CONFIG.replace('port: 5432', 'port: "127.0.0.1:5432:5432"')),
  });
  assert.equal(bound.code, 0, bound.stderr);
  assert.doesNotMatch(bound.stderr, /warning/);
});
