import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { batchScript, batchTail, splitBatchOutput } from '../../src/ssh/batch.js';
import { shellRaw } from '../../src/ssh/quote.js';

function run(script: string) {
  const result = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

describe('command batches (one round trip)', () => {
  const nonce = '0123456789abcdef';

  test('each command gets its own exit code, stdout and stderr', () => {
    const commands = [
      ['echo', 'one'],
      'echo two; echo err-two >&2',
      ['sh', '-c', 'printf "no newline"'],
      ['true'],
    ];
    const raw = run(batchScript(commands, nonce));
    assert.equal(raw.code, 0);
    assert.deepEqual(splitBatchOutput(raw.stdout, raw.stderr, nonce), [
      { code: 0, stdout: 'one\n', stderr: '' },
      { code: 0, stdout: 'two\n', stderr: 'err-two\n' },
      { code: 0, stdout: 'no newline', stderr: '' },
      { code: 0, stdout: '', stderr: '' },
    ]);
  });

  test('stops at the first failure by default, and the batch exits with its code', () => {
    const raw = run(batchScript([['echo', 'a'], 'echo bad >&2; exit 3', ['echo', 'never']], nonce));
    assert.equal(raw.code, 3);
    assert.deepEqual(splitBatchOutput(raw.stdout, raw.stderr, nonce), [
      { code: 0, stdout: 'a\n', stderr: '' },
      { code: 3, stdout: '', stderr: 'bad\n' },
    ]);
  });

  test('with stopOnError false every command runs', () => {
    const raw = run(batchScript(['exit 2', ['echo', 'still'], [shellRaw('false')]], nonce, false));
    assert.deepEqual(
      splitBatchOutput(raw.stdout, raw.stderr, nonce).map((r) => [r.code, r.stdout]),
      [
        [2, ''],
        [0, 'still\n'],
        [1, ''],
      ],
    );
  });

  test('one command cannot change the shell of the next (cd, exit, variables)', () => {
    const raw = run(batchScript(['cd /; X=1', 'pwd >/dev/null; echo "x=$X"'], nonce));
    assert.equal(splitBatchOutput(raw.stdout, raw.stderr, nonce)[1]!.stdout, 'x=\n');
  });

  test('a command ending in a comment or a trailing & still ends where it should', () => {
    const raw = run(batchScript(['echo a # comment', 'echo b'], nonce));
    assert.deepEqual(
      splitBatchOutput(raw.stdout, raw.stderr, nonce).map((r) => r.stdout),
      ['a\n', 'b\n'],
    );
  });

  test('output after the last marker is what an unfinished command printed', () => {
    const raw = run(`${batchScript(['echo a'], nonce)}; echo partial; kill -9 $$`);
    assert.equal(batchTail(raw.stdout, nonce), 'partial\n');
    assert.equal(batchTail('no markers at all', nonce), 'no markers at all');
  });
});
