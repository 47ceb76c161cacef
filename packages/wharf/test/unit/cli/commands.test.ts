/** Pure pieces of the CLI commands: host grouping, confirmation answers, aliases, log defaults, option checks. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandAlias, globalFlagArgs } from '../../../src/cli/alias.js';
import { formatByHost, isYes } from '../../../src/cli/command-support.js';
import { parseCount, parseEnvOption } from '../../../src/cli/app-command.js';
import { checkExecOptions, defaultLogLines } from '../../../src/deploy/app-ops.js';
import { rebootGroups } from '../../../src/deploy/proxy-ops.js';
import { UserError } from '../../../src/util/errors.js';

test('formatByHost prints Kamal\'s "<Type> Host:" header, the output and a blank line between hosts', () => {
  const items = [
    { host: 'a', output: 'one\n' },
    { host: 'b', output: 'two' },
  ];
  assert.equal(formatByHost(items), 'App Host: a\none\n\nApp Host: b\ntwo\n');
  assert.equal(formatByHost(items, 'Proxy'), 'Proxy Host: a\none\n\nProxy Host: b\ntwo\n');
  assert.equal(formatByHost(items, 'App', true), 'one\n\ntwo\n');
  assert.equal(formatByHost([]), '');
});

test('isYes accepts y and yes in any case only', () => {
  for (const yes of ['y', 'Y', 'yes', ' YES \n']) assert.equal(isYes(yes), true, yes);
  for (const no of ['', 'n', 'no', 'yep', 'sure']) assert.equal(isYes(no), false, no);
});

test('expandAlias replaces the alias word with its shell-split words and keeps the rest', () => {
  assert.deepEqual(expandAlias(['console'], 'console', 'app exec -i --reuse "bin/rails console"'), [
    'app',
    'exec',
    '-i',
    '--reuse',
    'bin/rails console',
  ]);
  assert.deepEqual(expandAlias(['-q', 'who', '--extra'], 'who', 'server exec whoami'), [
    '-q',
    'server',
    'exec',
    'whoami',
    '--extra',
  ]);
  assert.deepEqual(expandAlias(['x'], 'x', "server exec 'echo  two'"), ['server', 'exec', 'echo  two']);
  assert.throws(
    () => expandAlias(['x'], 'x', '"unclosed'),
    (e: unknown) => e instanceof UserError && /alias x .* fix its quotes/.test(e.message),
  );
  assert.throws(() => expandAlias(['x'], 'x', '   '), /alias x in the config is empty/);
});

test('globalFlagArgs turns the parsed global flags back into words', () => {
  assert.deepEqual(globalFlagArgs({}), []);
  assert.deepEqual(
    globalFlagArgs({
      verbose: true,
      quiet: true,
      version: 'v1',
      primary: true,
      hosts: 'a,b',
      roles: 'web',
      configFile: 'c.yml',
      destination: 'staging',
      skipHooks: true,
      strict: true,
    }),
    [
      '--verbose',
      '--quiet',
      '--version',
      'v1',
      '--primary',
      '--hosts',
      'a,b',
      '--roles',
      'web',
      '--config-file',
      'c.yml',
      '--destination',
      'staging',
      '--skip-hooks',
      '--strict',
    ],
  );
});

test('defaultLogLines: 100 lines, 10 when following, none when --since or --grep narrows, -n wins', () => {
  assert.equal(defaultLogLines({}), 100);
  assert.equal(defaultLogLines({ follow: true }), 10);
  assert.equal(defaultLogLines({ since: '5m' }), undefined);
  assert.equal(defaultLogLines({ grep: 'x', follow: true }), undefined);
  assert.equal(defaultLogLines({ lines: 7, grep: 'x' }), 7);
});

test('checkExecOptions refuses --detach with -i or --reuse', () => {
  assert.doesNotThrow(() => checkExecOptions({ detach: true }));
  assert.doesNotThrow(() => checkExecOptions({ interactive: true, reuse: true }));
  assert.throws(
    () => checkExecOptions({ detach: true, reuse: true }),
    /--detach cannot be combined with --reuse;/,
  );
  assert.throws(
    () => checkExecOptions({ detach: true, interactive: true, reuse: true }),
    /--interactive or --reuse/,
  );
});

test('rebootGroups: all hosts at once, or one at a time with --rolling', () => {
  assert.deepEqual(rebootGroups(['a', 'b', 'c'], false), [['a', 'b', 'c']]);
  assert.deepEqual(rebootGroups(['a', 'b'], true), [['a'], ['b']]);
  assert.deepEqual(rebootGroups([], true), []);
});

test('parseEnvOption collects KEY=VALUE pairs (values may hold =); parseCount checks whole numbers', () => {
  assert.deepEqual(parseEnvOption('B=x=y', parseEnvOption('A=1')), { A: '1', B: 'x=y' });
  assert.throws(() => parseEnvOption('NOVALUE'), /--env NOVALUE is not KEY=VALUE/);
  assert.throws(() => parseEnvOption('=v'), UserError);
  assert.equal(parseCount('--lines')('0'), 0);
  assert.equal(parseCount('--retain', 1)('3'), 3);
  assert.throws(
    () => parseCount('--retain', 1)('0'),
    /--retain must be a whole number of at least 1, not 0\./,
  );
  assert.throws(() => parseCount('--lines')('2.5'), /--lines must be a whole number, not 2\.5\./);
});
