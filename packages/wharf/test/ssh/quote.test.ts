import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { commandText, shellJoin, shellQuote, shellRaw } from '../../src/ssh/quote.js';

/** Runs `printf '%s\0' <quoted args>` in a real shell and splits what it printed. */
function roundTrip(shell: string, args: string[]): string[] {
  const script = `printf '%s\\0' ${args.map(shellQuote).join(' ')}`;
  const result = spawnSync(shell, ['-c', script], { encoding: 'utf8' });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split('\0').slice(0, -1);
}

const NASTY = [
  '',
  ' ',
  'plain',
  'with space',
  "it's",
  "''",
  '"double"',
  '$HOME',
  '${HOME}',
  '$(id)',
  '`id`',
  'a\\b',
  '\\',
  'tab\there',
  'new\nline',
  'trailing\n',
  '*',
  '?',
  '[abc]',
  '~',
  '~root',
  '#comment',
  'a#b',
  ';',
  '&&',
  '|',
  '>',
  '<',
  '!',
  '!!',
  '{a,b}',
  'x=1',
  '-n',
  '--flag=value with space',
  'ünïcødé ✓',
  'emoji 🚢',
  'mixed \'single\' and "double" and $vars and `ticks`',
  '%s %d',
  'KEY=value;rm -rf /',
];

describe('shellQuote', () => {
  test('leaves safe words bare and quotes everything else', () => {
    assert.equal(shellQuote('docker'), 'docker');
    assert.equal(shellQuote('--name=app-web-123'), '--name=app-web-123');
    assert.equal(shellQuote('localhost:5000/app:abc'), 'localhost:5000/app:abc');
    assert.equal(shellQuote('user@host'), 'user@host');
    assert.equal(shellQuote(''), "''");
    assert.equal(shellQuote('a b'), "'a b'");
    assert.equal(shellQuote("it's"), "'it'\\''s'");
    assert.equal(shellQuote('~'), "'~'");
    assert.equal(shellQuote('$X'), "'$X'");
  });

  for (const shell of ['/bin/sh', '/bin/bash']) {
    test(`every nasty argument reaches ${shell} unchanged`, () => {
      assert.deepEqual(roundTrip(shell, NASTY), NASTY);
    });
  }

  test('every printable ASCII character, alone and in pairs, survives the shell', () => {
    const chars = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    const words = [...chars, ...chars.map((c) => `${c}${c}x${c}`)];
    assert.deepEqual(roundTrip('/bin/sh', words), words);
  });

  test('refuses a NUL byte, which no argument can carry', () => {
    assert.throws(() => shellQuote('a\0b'), /NUL/);
  });
});

describe('shellJoin and commandText', () => {
  test('quotes literal words and passes raw shell syntax through', () => {
    assert.equal(
      shellJoin(['docker', 'logs', 'app web', shellRaw('2>&1'), shellRaw('|'), 'grep', 'a b']),
      "docker logs 'app web' 2>&1 | grep 'a b'",
    );
  });

  test('a string command is used as written, an argv array is joined', () => {
    assert.equal(commandText('echo $HOME'), 'echo $HOME');
    assert.equal(commandText(['echo', '$HOME']), "echo '$HOME'");
  });

  test('a joined argv runs as exactly those arguments', () => {
    const argv = ['printf', '%s|', 'a b', "c'd", '$e', ''];
    const result = spawnSync('/bin/sh', ['-c', shellJoin(argv)], { encoding: 'utf8' });
    assert.equal(result.stdout, "a b|c'd|$e||");
  });
});
