// The combinators behind every command, and quoting checked by a real /bin/sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  any,
  append,
  chain,
  combine,
  commandLine,
  doubleQuoted,
  iso8601,
  pipe,
  runOverSsh,
  shell,
  singleQuoted,
  substitute,
  write,
  xargs,
} from '../../src/commands/index.js';
import { load } from './support.js';

const sh = (text: string) => execFileSync('/bin/sh', ['-c', text], { encoding: 'utf8' });

test('combine joins with the operator and skips missing parts', () => {
  assert.deepEqual(combine([['a', '1'], undefined, ['b'], false, 'c d']), ['a', '1', '&&', 'b', '&&', 'c d']);
  assert.deepEqual(chain(['a'], ['b']), ['a', ';', 'b']);
  assert.deepEqual(pipe(['a'], ['b']), ['a', '|', 'b']);
  assert.deepEqual(any(['a'], ['b']), ['a', '||', 'b']);
  assert.deepEqual(append(['echo', 'x'], 'f'), ['echo', 'x', '>>', 'f']);
  assert.deepEqual(write(['echo', 'x'], 'f'), ['echo', 'x', '>', 'f']);
  assert.deepEqual(combine([]), []);
  assert.equal(substitute(['cat', 'f']), '$(cat f)');
  assert.deepEqual(xargs(['docker', 'stop']), ['xargs', 'docker', 'stop']);
});

test('single and double quoting read back exactly through sh', () => {
  for (const text of ["it's", 'a "b" $HOME `id` \\ end', "''", '', 'ü ✓', "x'\"'y"]) {
    assert.equal(sh(`printf %s ${singleQuoted(text)}`), text);
    assert.equal(sh(`printf %s ${doubleQuoted(text)}`), text);
  }
});

test('shell() wraps a command with quotes of its own, and sh runs it as written', () => {
  const inner = ['printf', "'%s|'", "'a b'", '"c\'d"'];
  const wrapped = shell(inner);
  assert.equal(commandLine(wrapped), `sh -c 'printf '\\''%s|'\\'' '\\''a b'\\'' "c'\\''d"'`);
  assert.equal(sh(commandLine(wrapped)), "a b|c'd|");
});

test('runOverSsh quotes the remote command so the remote shell receives it unchanged', async () => {
  const config = await load({
    service: 'app',
    image: 'dhh/app',
    registry: { username: 'u', password: 'p' },
    servers: ['1.1.1.1'],
    builder: { arch: 'amd64' },
  });
  const remote = shell(['echo', "'it''s'", '$HOME']);
  const local = commandLine(runOverSsh(config, remote, '1.1.1.1'));
  // The last word is what ssh sends; a shell reading it gets the remote command text back.
  const lastWord = local.slice(local.indexOf(' -p 22 ') + 7);
  assert.equal(sh(`printf %s ${lastWord}`), commandLine(remote));
});

test('iso8601 drops milliseconds like Ruby', () => {
  assert.equal(iso8601(new Date('2026-01-02T03:04:05.678Z')), '2026-01-02T03:04:05Z');
});
