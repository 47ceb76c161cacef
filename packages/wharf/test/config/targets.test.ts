import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnmatch, loadConfigFromSources, selectTargets } from '../../src/config/index.js';
import { UserError } from '../../src/util/errors.js';
import { project } from './support/tmp.js';

const config = loadConfigFromSources(
  [
    {
      file: 'config/deploy.yml',
      text: `service: app
image: dhh/app
registry: {username: u, password: p}
builder: {arch: amd64}
servers:
  workers: [1.1.1.3, 1.1.1.1]
  web: [1.1.1.1, 1.1.1.2]
  web_eu: [2.2.2.1]
accessories:
  db: {image: pg, host: 9.9.9.9}
`,
    },
  ],
  { cwd: project({ README: 'x' }), version: '1', env: {} },
);

test('fnmatch wildcards as Kamal uses them', () => {
  assert.ok(fnmatch('web*', 'web_eu'));
  assert.ok(fnmatch('1.1.1.*', '1.1.1.3'));
  assert.ok(!fnmatch('1.1.1.*', '11111'));
  assert.ok(fnmatch('{web,workers}', 'workers'));
  assert.ok(fnmatch('web?eu', 'web_eu'));
  assert.ok(fnmatch('[12].1.1.1', '2.1.1.1'));
});

test('no filters: every host and role, primary role first and its hosts first', () => {
  const t = selectTargets(config);
  assert.deepEqual(
    t.roles.map((r) => r.name),
    ['web', 'web_eu', 'workers'],
  );
  // all_hosts order (roles by name, then accessories), primary-role hosts moved first.
  assert.deepEqual(t.hosts, ['1.1.1.1', '1.1.1.2', '2.2.2.1', '1.1.1.3', '9.9.9.9']);
  assert.equal(t.primaryHost, '1.1.1.1');
  assert.equal(t.primaryRole!.name, 'web');
  assert.deepEqual(t.appHosts, ['1.1.1.1', '1.1.1.2', '2.2.2.1', '1.1.1.3']);
  assert.deepEqual(
    t.rolesOn('1.1.1.1').map((r) => r.name),
    ['web', 'workers'],
  );
  assert.deepEqual(t.accessoryHosts, ['9.9.9.9']);
});

test('--roles with wildcards narrows roles and hosts; --primary picks its primary host', () => {
  const t = selectTargets(config, { roles: 'web*' });
  assert.deepEqual(
    t.roles.map((r) => r.name),
    ['web', 'web_eu'],
  );
  assert.deepEqual(t.hosts, ['1.1.1.1', '1.1.1.2', '2.2.2.1']);
  const w = selectTargets(config, { roles: 'workers', primary: true });
  assert.deepEqual(w.hosts, ['1.1.1.3']);
  assert.equal(w.primaryRole!.name, 'workers');
});

test('--hosts narrows roles to those on the hosts', () => {
  const t = selectTargets(config, { hosts: '1.1.1.3,2.2.2.*' });
  assert.deepEqual(t.hosts, ['1.1.1.3', '2.2.2.1']);
  // The primary host is the first given host; its role sorts first.
  assert.deepEqual(
    t.roles.map((r) => r.name),
    ['workers', 'web_eu'],
  );
  assert.equal(t.primaryHost, '1.1.1.3');
  assert.equal(t.primaryRole!.name, 'workers');
});

test('filters that match nothing are clear errors', () => {
  assert.throws(
    () => selectTargets(config, { roles: 'db' }),
    (e: unknown) =>
      e instanceof UserError &&
      /^No --roles match for db; the roles are web, web_eu, workers\.$/.test((e as Error).message),
  );
  assert.throws(() => selectTargets(config, { hosts: '8.8.8.8' }), /No --hosts match for 8\.8\.8\.8/);
});
