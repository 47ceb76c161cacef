import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initProject } from '../../../src/init/init.js';
import { loadConfig } from '../../../src/config/index.js';

test('init writes a deploy.yml the loader accepts, a 0600 secrets file and executable sample hooks', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-init-'));
  const result = await initProject(dir);
  assert.ok(result.created.includes('config/deploy.yml'));
  assert.equal(result.created.filter((f) => f.startsWith('.kamal/hooks/')).length, 9);
  assert.equal(statSync(join(dir, '.kamal/secrets')).mode & 0o777, 0o600);
  assert.equal(statSync(join(dir, '.kamal/hooks/pre-build.sample')).mode & 0o111, 0o111);
  const config = await loadConfig({ cwd: dir, configFile: 'config/deploy.yml', version: '1' });
  assert.equal(config.service, 'my-app');
  assert.deepEqual(config.roleNames, ['web']);
});

test('init never overwrites an existing file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-init-'));
  mkdirSync(join(dir, 'config'));
  writeFileSync(join(dir, 'config/deploy.yml'), 'service: mine\n');
  const result = await initProject(dir);
  assert.deepEqual(result.skipped, ['config/deploy.yml']);
  assert.equal(readFileSync(join(dir, 'config/deploy.yml'), 'utf8'), 'service: mine\n');
});
