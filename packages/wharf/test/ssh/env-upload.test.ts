import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { envPreamble, ENV_PREAMBLE_FAILED } from '../../src/ssh/env-stdin.js';
import { formatMode, uploadCommand } from '../../src/ssh/upload.js';
import { withRemoteTimeout } from '../../src/ssh/pool.js';

function sh(script: string, input: Buffer | string, shell = '/bin/sh') {
  const result = spawnSync(shell, ['-c', script], { input, encoding: 'utf8' });
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

describe('envPreamble', () => {
  test('no env means no preamble and no stdin bytes', () => {
    const p = envPreamble(undefined);
    assert.equal(p.script, '');
    assert.equal(p.stdinHead.length, 0);
  });

  for (const shell of ['/bin/sh', '/bin/bash']) {
    test(`values reach the command through stdin in ${shell}, and the command still reads its own stdin`, () => {
      const env = {
        PLAIN: 'value',
        SPACES: '  leading and trailing  ',
        QUOTES: `it's "quoted" $NOT_EXPANDED \`nor this\``,
        BACKSLASH: 'a\\nb\\\\c\\',
        MULTI: '-----BEGIN KEY-----\nline two\n\nafter blank\n',
        EMPTY: '',
      };
      const p = envPreamble(env);
      const script = `${p.script}printf '%s\\0' "$PLAIN" "$SPACES" "$QUOTES" "$BACKSLASH" "$MULTI" "$EMPTY"; env | grep -c '^PLAIN=value$'; cat`;
      const result = sh(script, Buffer.concat([p.stdinHead, Buffer.from('the command stdin\n')]), shell);
      assert.equal(result.code, 0, result.stderr);
      const [values, rest] = [
        result.stdout.split('\0').slice(0, 6),
        result.stdout.split('\0').slice(6).join('\0'),
      ];
      assert.deepEqual(values, Object.values(env));
      assert.equal(rest, '1\nthe command stdin\n');
    });
  }

  test('values never appear in the script itself', () => {
    const p = envPreamble({ TOKEN: 's3cr3t-value' });
    assert.ok(!p.script.includes('s3cr3t'));
    assert.ok(p.stdinHead.toString().includes('s3cr3t-value'));
  });

  test('the command does not run when stdin ends before the values', () => {
    const p = envPreamble({ A: 'x' });
    const result = sh(`${p.script}echo ran`, '');
    assert.equal(result.code, ENV_PREAMBLE_FAILED);
    assert.equal(result.stdout, '');
  });

  test('rejects names that are not variables and NUL bytes', () => {
    assert.throws(() => envPreamble({ 'A-B': 'x' }), /not a valid environment variable name/);
    assert.throws(() => envPreamble({ '1A': 'x' }), /not a valid/);
    assert.throws(() => envPreamble({ A: 'x\0y' }), /NUL/);
  });
});

describe('uploadCommand', () => {
  test('writes the file with the mode, creating the directory, and leaves no temporary file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upload-'));
    const path = join(dir, 'nested dir', "it's", 'secret.env');
    const result = sh(uploadCommand(path, { mode: 0o600 }), 'KEY=value\n');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(path, 'utf8'), 'KEY=value\n');
    assert.equal(statSync(path).mode & 0o7777, 0o600);
    assert.deepEqual(readdirSync(join(dir, 'nested dir', "it's")), ['secret.env']);
  });

  test('replaces an existing file and applies the owner', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upload-'));
    const path = join(dir, 'f');
    sh(uploadCommand(path), 'old');
    const owner = `${process.getuid!()}:${process.getgid!()}`;
    const result = sh(uploadCommand(path, { mode: 0o640, owner }), 'new');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(readFileSync(path, 'utf8'), 'new');
    assert.equal(statSync(path).mode & 0o7777, 0o640);
    assert.equal(statSync(path).uid, process.getuid!());
  });

  test('a failure leaves the old file and no temporary file, with a non-zero exit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upload-'));
    const path = join(dir, 'f');
    sh(uploadCommand(path), 'old');
    const result = sh(uploadCommand(path, { owner: 'no-such-user-wharf' }), 'new');
    assert.notEqual(result.code, 0);
    assert.equal(readFileSync(path, 'utf8'), 'old');
    assert.deepEqual(readdirSync(dir), ['f']);
  });

  test('a directory that cannot be created fails cleanly', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upload-'));
    const blocker = join(dir, 'file');
    sh(uploadCommand(blocker), 'x');
    const result = sh(uploadCommand(join(blocker, 'sub', 'f')), 'y');
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /mkdir/);
  });

  test('rejects bad modes, owners and paths', () => {
    assert.equal(formatMode(0o600), '0600');
    assert.equal(formatMode(0o4755), '4755');
    assert.throws(() => formatMode(0o10000));
    assert.throws(() => uploadCommand('/x', { owner: 'a;b' }), /owner/);
    assert.throws(() => uploadCommand('/dir/'), /must name a file/);
  });

  test('the mode applies even when the target directory is only writable by its owner', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-upload-'));
    mkdirSync(join(dir, 'd'));
    chmodSync(join(dir, 'd'), 0o700);
    const result = sh(uploadCommand(join(dir, 'd', 'x'), { mode: 0o755 }), '#!/bin/sh\n');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(statSync(join(dir, 'd', 'x')).mode & 0o7777, 0o755);
  });
});

describe('withRemoteTimeout', () => {
  test('no timeout leaves the script alone', () => {
    assert.equal(withRemoteTimeout('echo hi', undefined), 'echo hi');
  });

  test('the wrapped script runs in the login shell with stdin and env values intact', () => {
    const p = envPreamble({ A: 'from env' });
    const script = withRemoteTimeout(`${p.script}echo "$A"; cat`, 5000);
    const result = spawnSync('/bin/sh', ['-c', script], {
      input: Buffer.concat([p.stdinHead, Buffer.from('stdin\n')]),
      encoding: 'utf8',
      env: { ...process.env, SHELL: '/bin/bash' },
    });
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'from env\nstdin\n');
  });

  test('the server-side timeout ends a command that runs too long (exit 124)', () => {
    const result = spawnSync('/bin/sh', ['-c', withRemoteTimeout('sleep 30', 10)], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.status, 124);
  });
});
