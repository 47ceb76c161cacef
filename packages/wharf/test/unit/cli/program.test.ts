/** The lazily loaded command line: stand-ins match the real commands, the command word is found, nothing heavy loads for help. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, CommanderError, Help } from 'commander';
import { buildProgram, commandWord, COMMANDS, runCli, valueFlags } from '../../../src/cli/program.js';

const bin = join(dirname(fileURLToPath(import.meta.url)), '../../../src/bin.js');

test('every top-level entry has the help line and description of the command its module builds', async () => {
  const help = new Help();
  for (const entry of COMMANDS) {
    const real = await entry.load(() => ({}));
    assert.equal(real.name(), entry.name);
    assert.equal(help.subcommandTerm(real), entry.term, `term of ${entry.name}`);
    assert.equal(real.description(), entry.description, `description of ${entry.name}`);
  }
  assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length, 'names are unique');
});

test('wharf --help lists the same lines whether commands are loaded or not', async () => {
  const render = async (load?: string) => {
    const program = await buildProgram([], { load });
    return program.helpInformation();
  };
  const lazy = await render();
  for (const entry of COMMANDS) assert.equal(await render(entry.name), lazy, `with ${entry.name} loaded`);
  assert.match(lazy, /^ {2}rollback \[options\] \[version\] +Roll back to VERSION/m);
});

test('commandWord skips the global options and their values', async () => {
  const withValue = valueFlags(await buildProgram([]));
  assert.deepEqual([...withValue].sort(), [
    '--config-file',
    '--destination',
    '--hosts',
    '--roles',
    '--version',
    '-c',
    '-d',
    '-h',
    '-r',
  ]);
  const word = (args: string[]) => commandWord(args, withValue);
  assert.equal(word(['app', 'exec', 'ls']), 'app');
  assert.equal(word(['-c', 'x.yml', '-d', 'staging', 'deploy']), 'deploy');
  assert.equal(word(['--version', 'abc', '--hosts=a,b', 'rollback']), 'rollback');
  assert.equal(word(['-vqh', 'host1', 'proxy', 'logs']), 'proxy');
  assert.equal(word(['-chost.yml', 'lock', 'status']), 'lock');
  assert.equal(word(['--strict', '-H', 'upgrade']), 'upgrade');
  assert.equal(word(['-v', 'help', 'app']), 'app');
  assert.equal(word(['help']), undefined);
  assert.equal(word(['--', 'build']), 'build');
  assert.equal(word(['-q']), undefined);
  assert.equal(word([]), undefined);
});

test('a command parsed through its stand-in is loaded and run with the same words', async () => {
  // Built for no command, then given `docs proxy`: the stand-in reloads with docs, which prints that section.
  const program = await buildProgram([]);
  program.exitOverride();
  let out = '';
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  try {
    await program.parseAsync(['docs', 'proxy'], { from: 'user' });
  } finally {
    process.stdout.write = write;
  }
  const direct = spawnSync(process.execPath, [bin, 'docs', 'proxy'], { encoding: 'utf8' });
  assert.equal(direct.status, 0, direct.stderr);
  assert.ok(out.length > 100, 'docs printed');
  assert.equal(out, direct.stdout);
});

test('runCli loads only the named command', async () => {
  const program = await buildProgram(['lock', 'status']);
  const lock = program.commands.find((c: Command) => c.name() === 'lock')!;
  const app = program.commands.find((c: Command) => c.name() === 'app')!;
  assert.ok(lock.commands.length > 0, 'lock has its subcommands');
  assert.equal(app.commands.length, 0, 'app is a stand-in');
  // --version without a value is a usage error (Kamal's --version is the app version to act on).
  const write = process.stderr.write;
  let err = '';
  process.stderr.write = ((chunk: string) => ((err += chunk), true)) as typeof process.stderr.write;
  try {
    await assert.rejects(runCli(['--version']), (error: unknown) => error instanceof CommanderError);
  } finally {
    process.stderr.write = write;
  }
  assert.match(err, /option '--version <version>' argument missing/);
});

test('wharf --help imports commander and the CLI entry only (no config, zod, ssh2 or deploy code)', () => {
  const hook = `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module';
     register('data:text/javascript,' + encodeURIComponent('export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write("MODULE " + r.url + "\\\\n"); return r; }'));`,
  )}`;
  const r = spawnSync(process.execPath, ['--import', hook, bin, '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const modules = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('MODULE file:'))
    .map((l) => l.replace(/^MODULE file:\/\/.*?\/(node_modules|dist)\//, '$1/'));
  const ours = modules.filter((m) => m.startsWith('dist/')).sort();
  assert.deepEqual(
    [...new Set(ours)],
    ['dist/src/bin.js', 'dist/src/cli/program.js', 'dist/src/util/errors.js', 'dist/src/version.js'],
  );
  assert.ok(!modules.some((m) => /node_modules\/(zod|yaml|ssh2)\//.test(m)), modules.join('\n'));
});
