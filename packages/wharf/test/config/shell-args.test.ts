import { test } from 'node:test';
import assert from 'node:assert/strict';
import { argumentize, escapeShellValue, optionize, present } from '../../src/config/shell-args.js';
import { envFileContent } from '../../src/config/env.js';

test('escapeShellValue matches Kamal::Utils.escape_shell_value', () => {
  assert.equal(escapeShellValue('plain'), '"plain"');
  assert.equal(escapeShellValue('say "hi"'), '"say \\"hi\\""');
  assert.equal(escapeShellValue('back\\slash'), '"back\\\\slash"');
  assert.equal(escapeShellValue('line\nbreak'), '"line\\nbreak"');
  assert.equal(escapeShellValue('`cmd`'), '"\\`cmd\\`"');
  assert.equal(escapeShellValue('$HOME and ${HOST_VAR}'), '"\\$HOME and ${HOST_VAR}"');
  assert.equal(escapeShellValue('#{x} #$y #@z #plain'), '"\\#{x} \\#\\$y \\#@z #plain"');
  assert.equal(escapeShellValue('1234 with "中文"'), '"1234 with \\""中文"\\""');
  assert.equal(escapeShellValue(5), '"5"');
  assert.equal(escapeShellValue(''), '""');
});

test('argumentize: pairs, bare keys, false and lists', () => {
  assert.deepEqual(
    argumentize('--label', { service: 'app', destination: undefined, empty: '', off: false }),
    ['--label', 'service="app"', '--label', 'destination', '--label', 'empty', '--label', 'off=false'],
  );
  assert.deepEqual(argumentize('--volume', ['/a:/b', '/c:/d']), ['--volume', '/a:/b', '--volume', '/c:/d']);
  assert.deepEqual(argumentize('--log-opt', 'max-size=10m'), ['--log-opt', 'max-size=10m']);
});

test('optionize: bare flags, repeated lists, and the = form', () => {
  assert.deepEqual(optionize({ 'cap-add': true, memory: '2g', 'add-host': ['a:1', 'b:2'], cpus: 0.5 }), [
    '--cap-add',
    '--memory',
    '"2g"',
    '--add-host',
    '"a:1"',
    '--add-host',
    '"b:2"',
    '--cpus',
    '"0.5"',
  ]);
  assert.deepEqual(optionize({ target: 'x:80', tls: true, 'buffer-responses': false }, { with: '=' }), [
    '--target="x:80"',
    '--tls',
    '--buffer-responses="false"',
  ]);
});

test('present follows Ruby: blank strings, empty lists and maps, nil and false are not present', () => {
  for (const v of [null, undefined, false, '', '  ', [], {}])
    assert.equal(present(v), false, JSON.stringify(v));
  for (const v of [0, 'x', [1], { a: 1 }, true]) assert.equal(present(v), true, JSON.stringify(v));
});

test('env files are written like Kamal::EnvFile', () => {
  assert.equal(envFileContent({}), '\n');
  assert.equal(
    envFileContent({
      A: 'plain',
      B: 'with "quotes" # and hash',
      C: 'multi\nline',
      D: '中文 ok',
      E: 'tab\there',
    }),
    'A=plain\nB=with "quotes" # and hash\nC=multi\\nline\nD=中文 ok\nE=tab\\there\n',
  );
});
