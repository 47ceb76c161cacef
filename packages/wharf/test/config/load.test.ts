import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, deepMergeConfig, destinationFile, loadConfig } from '../../src/config/index.js';
import { UserError } from '../../src/util/errors.js';
import { MINIMAL, project } from './support/tmp.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

async function rejects(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(error instanceof UserError);
    return error;
  }
  assert.fail('expected the config to be rejected');
}

test('deep merge: hashes merge recursively, arrays and scalars are replaced', () => {
  assert.deepEqual(deepMergeConfig({ a: { b: 1, c: [1, 2] }, d: 1 }, { a: { c: [3], e: 2 }, d: { x: 1 } }), {
    a: { b: 1, c: [3], e: 2 },
    d: { x: 1 },
  });
  assert.equal(destinationFile('/p/config/deploy.yml', 'staging'), '/p/config/deploy.staging.yml');
  assert.equal(destinationFile('/p/custom.yaml', 'eu'), '/p/custom.eu.yml');
});

test('the destination overlay is merged over the base and KAMAL_DESTINATION is visible to ERB', async () => {
  const dir = project({
    'config/deploy.yml':
      MINIMAL + 'env:\n  clear:\n    A: base\n    WHERE: <%= ENV.fetch("KAMAL_DESTINATION", "none") %>\n',
    'config/deploy.staging.yml': 'servers:\n  - 2.2.2.2\nenv:\n  clear:\n    B: staging\n',
  });
  const base = await loadConfig({ cwd: dir, env, version: '1' });
  assert.deepEqual(base.env.clear, { A: 'base', WHERE: 'none' });
  const staging = await loadConfig({
    cwd: dir,
    env: { ...env, KAMAL_DESTINATION: 'stale' },
    version: '1',
    destination: 'staging',
  });
  assert.deepEqual(staging.allHosts, ['2.2.2.2']);
  assert.deepEqual(staging.env.clear, { A: 'base', WHERE: 'staging', B: 'staging' });
  assert.equal(staging.serviceAndDestination, 'app-staging');
  assert.equal(staging.latestTag, 'latest-staging');
  assert.equal(staging.role('web')!.secretsPath, '.kamal/apps/app-staging/env/roles/web.env');
  assert.equal(staging.files.join(','), 'config/deploy.yml,config/deploy.staging.yml');
});

test('-c FILE reads another config and its own overlay', async () => {
  const dir = project({ 'deploy/other.yml': MINIMAL, 'deploy/other.eu.yml': 'servers: [3.3.3.3]\n' });
  const config = await loadConfig({
    cwd: dir,
    env,
    version: '1',
    configFile: 'deploy/other.yml',
    destination: 'eu',
  });
  assert.deepEqual(config.allHosts, ['3.3.3.3']);
});

test('a missing config file or overlay is one clear error', async () => {
  const dir = project({ 'config/deploy.yml': MINIMAL });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1', destination: 'nope' }));
  assert.equal(
    e.message,
    'config/deploy.nope.yml: Configuration file not found: config/deploy.nope.yml does not exist.',
  );
  const e2 = await rejects(loadConfig({ cwd: dir, env, version: '1', configFile: 'missing.yml' }));
  assert.match(e2.message, /missing\.yml does not exist/);
});

test('errors in the overlay point at the overlay file and line; all errors come at once', async () => {
  const dir = project({
    'config/deploy.yml': MINIMAL + 'deploy_timeout: soon\n',
    'config/deploy.staging.yml':
      'servers:\n  web:\n    hosts: [2.2.2.2]\n    proxy:\n      healthcheck:\n        interval: 3s\n',
  });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1', destination: 'staging' }));
  assert.deepEqual(e.message.split('\n'), [
    'config/deploy.yml:10: deploy_timeout should be an integer, not the string "soon".',
    'config/deploy.staging.yml:6: servers.web.proxy.healthcheck.interval should be an integer, not the string "3s".',
  ]);
  assert.equal(e.problems.length, 2);
});

test('lines stay those of the template when ERB adds or removes lines', async () => {
  const dir = project({
    'config/deploy.yml':
      '<% if true -%>\n<% end -%>\n<% x = 1 %>\n\n' + MINIMAL + 'retain_containers: <%= "lots" %>\n',
  });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1' }));
  assert.equal(
    e.message,
    'config/deploy.yml:14: retain_containers should be an integer, not the string "lots".',
  );
});

test('x- root keys are ignored (for anchors), other unknown root keys are not', async () => {
  const dir = project({
    'config/deploy.yml':
      'x-hosts: &hosts\n  - 1.1.1.1\n' +
      MINIMAL.replace('servers:\n  - 1.1.1.1\n', 'servers: *hosts\n') +
      'x-anything: [1, {a: b}]\n',
  });
  const config = await loadConfig({ cwd: dir, env, version: '1' });
  assert.deepEqual(config.allHosts, ['1.1.1.1']);
  const bad = project({ 'config/deploy.yml': MINIMAL + 'y-thing: 1\nserver:\n  - 2.2.2.2\n' });
  const e = await rejects(loadConfig({ cwd: bad, env, version: '1' }));
  assert.match(e.message, /Unknown key `y-thing` at the top level/);
  assert.match(e.message, /Unknown key `server` at the top level; did you mean `servers`\?/);
});

test('require_destination refuses to load without -d', async () => {
  const dir = project({
    'config/deploy.yml': MINIMAL + 'require_destination: true\n',
    'config/deploy.prod.yml': '{}\n',
  });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1' }));
  assert.match(e.message, /require_destination is true, so a destination is required/);
  await loadConfig({ cwd: dir, env, version: '1', destination: 'prod' });
});

test('duplicate keys load (as in Kamal) but come back as warnings', async () => {
  const dir = project({ 'config/deploy.yml': MINIMAL + 'retain_containers: 2\nretain_containers: 3\n' });
  const config = await loadConfig({ cwd: dir, env, version: '1' });
  assert.equal(config.retainContainers, 3);
  assert.equal(config.warnings.length, 1);
  assert.equal(config.warnings[0]!.line, 11);
});

test('the version: --version, else VERSION, else the git SHA with a dirty-tree suffix', async () => {
  const dir = project({ 'config/deploy.yml': MINIMAL });
  assert.equal(
    (await loadConfig({ cwd: dir, env: { ...env, VERSION: 'from-env' }, version: 'from-flag' })).version,
    'from-flag',
  );
  assert.equal((await loadConfig({ cwd: dir, env: { ...env, VERSION: 'from-env' } })).version, 'from-env');
  // No git repository: loading works, asking for the version is a clear error.
  const noGit = await loadConfig({ cwd: dir, env: { ...env, GIT_CEILING_DIRECTORIES: dir } });
  assert.throws(
    () => noGit.version,
    (e: unknown) => e instanceof UserError && /no git repository/.test((e as Error).message),
  );

  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      env: {
        ...env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
        HOME: dir,
      },
    })
      .toString()
      .trim();
  git('init', '-q');
  git('add', '.');
  git('commit', '-qm', 'init');
  const sha = git('rev-parse', 'HEAD');
  const clean = await loadConfig({ cwd: dir, env });
  assert.equal(clean.version, sha);
  assert.equal(clean.abbreviatedVersion, sha.slice(0, 7));
  writeFileSync(join(dir, 'dirty.txt'), 'x');
  // Building from a clean clone (no builder.context): a dirty tree does not change the version.
  assert.equal((await loadConfig({ cwd: dir, env })).version, sha);
  writeFileSync(join(dir, 'config/deploy.yml'), MINIMAL.replace('arch: amd64', 'arch: amd64\n  context: .'));
  const dirty = await loadConfig({ cwd: dir, env });
  assert.match(dirty.version, new RegExp(`^${sha}_uncommitted_[0-9a-f]{16}$`));
  assert.equal(dirty.abbreviatedVersion, dirty.version);
});

test('traefik hook files are rejected, as in Kamal', async () => {
  const dir = project({ 'config/deploy.yml': MINIMAL, '.kamal/hooks/post-traefik-reboot': '#!/bin/sh\n' });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1' }));
  assert.match(e.message, /post-traefik-reboot; rename it to pre-proxy-reboot \/ post-proxy-reboot/);
});

test('every message is one sentence on one line, naming the file', async () => {
  const dir = project({
    'config/deploy.yml':
      'service: [a]\nservers: 1\nbuilder: {arch: [1, {}]}\nproxy: {ssl: true, run: {bind_ips: 1}}\naccessories: {a: {b: 1}}\n',
  });
  const e = await rejects(loadConfig({ cwd: dir, env, version: '1' }));
  for (const line of e.message.split('\n')) {
    assert.match(line, /^config\/deploy\.yml(:\d+)?: \S.*[.?]$/, line);
    assert.doesNotMatch(line.slice(0, -1), /\.\s[A-Z]/, `more than one sentence: ${line}`);
  }
});
