import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globToRegExp, Selection } from '../../../src/runtime/selection.js';
import { UserError } from '../../../src/util/errors.js';

const roles = [
  { name: 'web', hosts: ['1.1.1.1', '1.1.1.2'] },
  { name: 'workers', hosts: ['1.1.1.3', '1.1.1.1'] },
];

test('no filters: every host and role', () => {
  const s = new Selection({ roles, primaryRole: 'web', otherHosts: ['1.1.1.9'] });
  assert.deepEqual(s.hosts, ['1.1.1.1', '1.1.1.2', '1.1.1.3', '1.1.1.9']);
  assert.deepEqual(s.appHosts, ['1.1.1.1', '1.1.1.2', '1.1.1.3']);
  assert.deepEqual(s.rolesOn('1.1.1.1').map((r) => r.name), ['web', 'workers']);
  assert.equal(s.primaryHost, '1.1.1.1');
});

test('--roles with wildcards narrows roles and their hosts', () => {
  const s = new Selection({ roles, primaryRole: 'web', rolesFilter: 'work*' });
  assert.deepEqual(s.hosts, ['1.1.1.3', '1.1.1.1']);
  assert.deepEqual(s.rolesOn('1.1.1.1').map((r) => r.name), ['workers']);
  assert.throws(() => new Selection({ roles, primaryRole: 'web', rolesFilter: 'db' }), (e: unknown) => e instanceof UserError && /No --roles match for db/.test(e.message));
});

test('--hosts with wildcards and brace lists', () => {
  const s = new Selection({ roles, primaryRole: 'web', hostsFilter: '1.1.1.{2,3}' });
  assert.deepEqual(s.hosts, ['1.1.1.2', '1.1.1.3']);
  assert.deepEqual(s.roles.map((r) => [r.name, r.hosts]), [
    ['web', ['1.1.1.2']],
    ['workers', ['1.1.1.3']],
  ]);
  assert.throws(() => new Selection({ roles, primaryRole: 'web', hostsFilter: '9.*' }), /No --hosts match for 9\.\*/);
});

test('--primary: the primary role first host, or the first --roles role', () => {
  assert.deepEqual(new Selection({ roles, primaryRole: 'web', primary: true }).hosts, ['1.1.1.1']);
  assert.deepEqual(new Selection({ roles, primaryRole: 'web', primary: true, rolesFilter: 'workers' }).hosts, ['1.1.1.3']);
});

test('glob translation', () => {
  assert.equal(globToRegExp('web-*.example.com').test('web-1.example.com'), true);
  assert.equal(globToRegExp('web-?').test('web-10'), false);
  assert.equal(globToRegExp('vm[12]').test('vm2'), true);
  assert.equal(globToRegExp('vm[!12]').test('vm2'), false);
  assert.equal(globToRegExp('a.b').test('axb'), false);
});
