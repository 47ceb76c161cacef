import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDotenv, type DotenvContext } from '../../src/secrets/dotenv.js';

/** Commands run by a tiny interpreter: `echo ARGS` prints its arguments; the list records what ran. */
function context(env: NodeJS.ProcessEnv = {}, ran: string[] = []): DotenvContext {
  return {
    env,
    runCommand(command) {
      ran.push(command);
      const m = /^echo (.*)$/s.exec(command);
      if (!m) throw new Error(`unexpected command ${command}`);
      return m[1]!.replace(/^"(.*)"$/s, '$1').replace(/^'(.*)'$/s, '$1');
    },
  };
}

function parse(text: string, env: NodeJS.ProcessEnv = {}): Record<string, string> {
  return Object.fromEntries(parseDotenv(text, context(env)));
}

test('values: unquoted, quoted, spaces, comments and yaml style (dotenv gem cases)', () => {
  assert.deepEqual(parse('FOO=bar'), { FOO: 'bar' });
  assert.deepEqual(parse('FOO= bar'), { FOO: 'bar' });
  assert.deepEqual(parse('FOO =bar'), { FOO: 'bar' });
  assert.deepEqual(parse('  FOO=bar  '), { FOO: 'bar' });
  assert.deepEqual(parse('FOO=bar\\ bar'), { FOO: 'bar bar' });
  assert.deepEqual(parse('FOO="bar"  '), { FOO: 'bar' });
  assert.deepEqual(parse("FOO='bar'  "), { FOO: 'bar' });
  assert.deepEqual(parse('FOO="escaped\\"bar"'), { FOO: 'escaped"bar' });
  assert.deepEqual(parse('FOO='), { FOO: '' });
  assert.deepEqual(parse('OPTION_A: 1'), { OPTION_A: '1' });
  assert.deepEqual(parse('export OPTION_A=2'), { OPTION_A: '2' });
  assert.deepEqual(parse('OPTION_A=2\nexport OPTION_A'), { OPTION_A: '2' });
  assert.deepEqual(parse('FOO.BAR=foobar'), { 'FOO.BAR': 'foobar' });
  assert.deepEqual(parse('lol$wut'), {});
  assert.deepEqual(parse('\n \t  \nfoo=bar\n \nfizz=buzz'), { foo: 'bar', fizz: 'buzz' });
  assert.deepEqual(parse('foo=bar # this is foo'), { foo: 'bar' });
  assert.deepEqual(parse('foo="bar#baz" # comment'), { foo: 'bar#baz' });
  assert.deepEqual(parse("foo='ba#r'  "), { foo: 'ba#r' });
  assert.deepEqual(parse('# HELLO=world\n'), {});
  assert.deepEqual(parse('FOO=bar\rbaz=fbb'), { FOO: 'bar', baz: 'fbb' });
  assert.deepEqual(parse('FOO=bar\r\nbaz=fbb'), { FOO: 'bar', baz: 'fbb' });
  assert.deepEqual(parse('\uFEFFFOO=bom'), { FOO: 'bom' });
  assert.deepEqual(parse('DATABASE_PASSWORD=\nDATABASE_USERNAME=root'), {
    DATABASE_PASSWORD: '',
    DATABASE_USERNAME: 'root',
  });
});

test('multi-line quoted values and newline escapes', () => {
  assert.deepEqual(parse('export OPTION_B=\'line 1\nline 2\'\nOPTION_C="last"'), {
    OPTION_B: 'line 1\nline 2',
    OPTION_C: 'last',
  });
  assert.deepEqual(parse("X='one\nthis is \\'quoted\\'\nmore'"), { X: "one\nthis is \\'quoted\\'\nmore" });
  assert.deepEqual(parse('X="one\nthis is \\"quoted\\"\nmore"'), { X: 'one\nthis is "quoted"\nmore' });
  assert.deepEqual(parse('FOO="bar\\nbaz"'), { FOO: 'bar\\nbaz' });
  assert.deepEqual(parse('FOO="bar\\rbaz"'), { FOO: 'bar\\rbaz' });
  assert.deepEqual(parse('DOTENV_LINEBREAK_MODE=legacy\nFOO="bar\\nbaz\\rfizz"'), {
    DOTENV_LINEBREAK_MODE: 'legacy',
    FOO: 'bar\nbaz\rfizz',
  });
  assert.deepEqual(parse('FOO="bar\\nbaz"', { DOTENV_LINEBREAK_MODE: 'legacy' }), { FOO: 'bar\nbaz' });
});

test('variables: earlier lines, then the environment, escapes, single quotes', () => {
  assert.deepEqual(parse('FOO=test\nBAR=$FOO'), { FOO: 'test', BAR: 'test' });
  assert.deepEqual(parse('FOO=test\nBAR=${FOO}bar'), { FOO: 'test', BAR: 'testbar' });
  assert.deepEqual(parse('BAR=$FOO', { FOO: 'env' }), { BAR: 'env' });
  assert.deepEqual(parse('FOO=file\nBAR=${FOO}', { FOO: 'env' }), { FOO: 'file', BAR: 'file' });
  assert.deepEqual(parse('SECRET1=DEF', { SECRET1: 'ABC' }), { SECRET1: 'DEF' });
  assert.deepEqual(parse('BAR=$FOO'), { BAR: '' });
  assert.deepEqual(parse('FOO=test\nBAR="quote $FOO"'), { FOO: 'test', BAR: 'quote test' });
  assert.deepEqual(parse("BAR='quote $FOO'"), { BAR: 'quote $FOO' });
  assert.deepEqual(parse('FOO="foo\\$BAR"'), { FOO: 'foo$BAR' });
  assert.deepEqual(parse('FOO="foo\\${BAR}"'), { FOO: 'foo${BAR}' });
  assert.deepEqual(parse('FOO=test\nBAR="foo\\${FOO} ${FOO}"'), { FOO: 'test', BAR: 'foo${FOO} test' });
  assert.deepEqual(parse('FOO="bar\\$ \\$\\$"'), { FOO: 'bar$ $$' });
  assert.deepEqual(parse('FOO="bar $ "'), { FOO: 'bar $ ' });
});

test('export of a name never set is an error naming the file and the line', () => {
  assert.throws(
    () => parseDotenv('OPTION_A=2\nexport OH_NO_NOT_SET', context(), '.kamal/secrets'),
    (error: Error) =>
      error.name === 'UserError' && /"export OH_NO_NOT_SET" in \.kamal\/secrets/.test(error.message),
  );
});

test('command substitution: nested and escaped parentheses, variables inside, escaped commands', () => {
  assert.deepEqual(parse('echo=$(echo hello)'), { echo: 'hello' });
  const ran: string[] = [];
  assert.deepEqual(Object.fromEntries(parseDotenv('X=$(echo (a (b)) c)', context({}, ran))), {
    X: '(a (b)) c',
  });
  assert.deepEqual(ran, ['echo (a (b)) c']);
  // The gem drops single backslashes before substituting, so a file needs \\) to keep one.
  assert.deepEqual(parse('KEY1=$(echo pass\\\\)word)'), { KEY1: 'pass\\)word' });
  assert.deepEqual(parse('KEY1=$(echo pass\\)word)'), { KEY1: 'password)' });
  assert.deepEqual(parse('echo=escaped-\\$(echo hello)'), { echo: 'escaped-$(echo hello)' });
  assert.deepEqual(parse("FOO='passwo(rd'\nBAR=$(echo '$FOO')"), { FOO: 'passwo(rd', BAR: 'passwo(rd' });
  assert.deepEqual(parse('FOO=$(echo bar)\nBAR=$(echo $FOO)'), { FOO: 'bar', BAR: 'bar' });
  assert.deepEqual(parse('VAR1=var1\ninterp=$(echo "VAR1 is $VAR1")'), {
    VAR1: 'var1',
    interp: 'VAR1 is var1',
  });
  assert.deepEqual(parse('A=$() and $(unclosed'), { A: '$() and $(unclosed' });
});

test('command output is not expanded again (a password with $ survives)', () => {
  assert.deepEqual(parse("PASSWORD=$(echo 'pa\\$word')", { word: 'X' }), { PASSWORD: 'pa$word' });
  const ctx: DotenvContext = { env: { word: 'X' }, runCommand: () => 'pa$word' };
  assert.deepEqual(Object.fromEntries(parseDotenv('PASSWORD=$(cat file)', ctx)), { PASSWORD: 'pa$word' });
});

test('single-quoted values run no commands', () => {
  const ran: string[] = [];
  assert.deepEqual(Object.fromEntries(parseDotenv("X='$(echo no)'", context({}, ran))), { X: '$(echo no)' });
  assert.deepEqual(ran, []);
});
