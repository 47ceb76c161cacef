import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shellEscape, shellSplit } from '../../src/secrets/shellwords.js';

test('shellEscape matches Ruby Shellwords.escape', () => {
  assert.equal(shellEscape(''), "''");
  assert.equal(shellEscape('plain-word_1.2,3:4+5/6@7'), 'plain-word_1.2,3:4+5/6@7');
  assert.equal(shellEscape('{"a":"b c"}'), '\\{\\"a\\":\\"b\\ c\\"\\}');
  assert.equal(shellEscape("it's $HOME (x)"), "it\\'s\\ \\$HOME\\ \\(x\\)");
  assert.equal(shellEscape('a\nb'), "a'\n'b");
  assert.equal(shellEscape('中文'), '\\中\\文');
});

test('shellSplit matches Ruby Shellwords.split', () => {
  assert.deepEqual(shellSplit('  kamal secrets extract  KEY  '), ['kamal', 'secrets', 'extract', 'KEY']);
  assert.deepEqual(shellSplit(`a 'b c' "d \\"e\\" \\x" f\\ g`), ['a', 'b c', 'd "e" \\x', 'f g']);
  assert.deepEqual(shellSplit(`x'y'"z"`), ['xyz']);
  assert.deepEqual(shellSplit(''), []);
  assert.deepEqual(shellSplit(`''`), ['']);
  assert.throws(() => shellSplit(`a 'b`), /Unmatched single quote/);
  assert.throws(() => shellSplit(`a "b`), /Unmatched double quote/);
});

test('shellSplit undoes shellEscape for any text', () => {
  const samples = [
    '{"K1":"pass)word","K2":"a b\\c"}',
    'quote \' and " and `tick` $VAR',
    '中文 (x) [y] {z}',
    'tab\there',
    'line1\nline2',
    '',
  ];
  for (const sample of samples)
    assert.deepEqual(shellSplit(`extract NAME ${shellEscape(sample)}`), ['extract', 'NAME', sample]);
});
