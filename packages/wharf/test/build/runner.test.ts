/**
 * The local runner on real processes (node as the program), the failure
 * summaries on real docker output, and Kamal's value escaping.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { runStreaming, redactor } from '../../src/build/runner.js';
import { summarizeFailure, failureSentence } from '../../src/build/failure.js';
import { command, escapeShellValue, expandVariables, keyValue, words } from '../../src/build/words.js';

const node = (script: string) => command(words(process.execPath, '-e', script));

describe('runStreaming', () => {
  test('streams stdout and stderr lines, including a last line without newline', async () => {
    const lines: string[] = [];
    const result = await runStreaming(
      node('console.log("a"); console.error("b"); process.stdout.write("c")'),
      {
        onLine: (l) => lines.push(l),
      },
    );
    assert.equal(result.code, 0);
    assert.deepEqual([...lines].sort(), ['a', 'b', 'c']);
  });

  test('secrets reach the process only through env and stdin, and are redacted from its output', async () => {
    const secret = 'hunter2-very-secret';
    const cmd = node(
      'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{console.log("env="+process.env.TOKEN);console.log("stdin="+s.trim());console.log("argv="+process.argv.slice(1).join(","));process.exit(4)})',
    );
    const lines: string[] = [];
    const result = await runStreaming(cmd, {
      env: { TOKEN: secret },
      stdin: `${secret}\n`,
      onLine: (l) => lines.push(l),
    });
    assert.equal(result.code, 4);
    assert.deepEqual(lines, ['env=[REDACTED]', 'stdin=[REDACTED]', 'argv=']);
    assert.ok(!result.output.includes(secret));
  });

  test('the command env (e.g. DOCKER_BUILDKIT) is set for the process', async () => {
    const result = await runStreaming(
      command(words(process.execPath, '-e', 'console.log(process.env.DOCKER_BUILDKIT)'), {
        DOCKER_BUILDKIT: '0',
      }),
    );
    assert.equal(result.output, '0');
  });

  test('a missing program is one sentence', async () => {
    await assert.rejects(
      runStreaming(command(words('wharf-no-such-program-xyz', 'build'))),
      /^UserError: wharf-no-such-program-xyz is not installed or not on PATH/,
    );
  });

  test('cwd is honoured', async () => {
    const result = await runStreaming(node('console.log(process.cwd())'), { cwd: '/tmp' });
    assert.equal(result.output, '/tmp');
  });

  test('redactor replaces longest values first and ignores tiny ones', () => {
    const redact = redactor(['abc', 'abcdef', '1']);
    assert.equal(redact('x abcdef y abc 1'), 'x [REDACTED] y [REDACTED] 1');
  });
});

// Captured from docker 28.2.2 CLI on engine 20.10.24 (DOCKER_BUILDKIT=0).
const CLASSIC = [
  'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
  '            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0',
  '            environment-variable.',
  '',
  'Sending build context to Docker daemon  2.048kB',
  'Step 1/3 : FROM wharf/debian:bookworm',
  ' ---> 64f44c964f01',
  'Step 2/3 : RUN echo one',
  ' ---> Running in a21df57cc69d',
  'one',
  'Removing intermediate container a21df57cc69d',
  ' ---> 6fa9b849fc8b',
  'Step 3/3 : RUN echo failing-step >&2 && exit 3',
  ' ---> Running in 0bb33b9e0971',
  '\x1b[91mfailing-step',
  "\x1b[0mThe command '/bin/sh -c echo failing-step >&2 && exit 3' returned a non-zero code: 3",
];

// BuildKit's plain progress output for the same Dockerfile.
const BUILDKIT = [
  '#5 [2/3] RUN echo one',
  '#5 0.245 one',
  '#5 DONE 0.3s',
  '',
  '#6 [3/3] RUN echo failing-step >&2 && exit 3',
  '#6 0.301 failing-step',
  '#6 ERROR: process "/bin/sh -c echo failing-step >&2 && exit 3" did not complete successfully: exit code: 3',
  '------',
  ' > [3/3] RUN echo failing-step >&2 && exit 3:',
  '0.301 failing-step',
  '------',
  'Dockerfile:3',
  '--------------------',
  '   1 |     FROM wharf/debian:bookworm',
  '   2 |     RUN echo one',
  '   3 | >>> RUN echo failing-step >&2 && exit 3',
  '   4 |',
  '--------------------',
  'ERROR: failed to solve: process "/bin/sh -c echo failing-step >&2 && exit 3" did not complete successfully: exit code: 3',
];

describe('failure summaries', () => {
  test('classic builder: the step and the last line', () => {
    const summary = summarizeFailure(CLASSIC);
    assert.equal(summary.stepNumber, '3/3');
    assert.equal(summary.step, 'RUN echo failing-step >&2 && exit 3');
    assert.equal(
      summary.reason,
      "The command '/bin/sh -c echo failing-step >&2 && exit 3' returned a non-zero code: 3",
    );
    assert.equal(
      failureSentence('Building app:1', summary, 'fix the Dockerfile'),
      "Building app:1 failed at step 3/3 `RUN echo failing-step >&2 && exit 3`: The command '/bin/sh -c echo failing-step >&2 && exit 3' returned a non-zero code: 3; fix the Dockerfile.",
    );
  });

  test('BuildKit: the step, the Dockerfile line and the ERROR line', () => {
    const summary = summarizeFailure(BUILDKIT);
    assert.equal(summary.step, 'RUN echo failing-step >&2 && exit 3');
    assert.equal(summary.location, 'Dockerfile:3');
    assert.equal(
      summary.reason,
      'failed to solve: process "/bin/sh -c echo failing-step >&2 && exit 3" did not complete successfully: exit code: 3',
    );
    assert.match(
      failureSentence('Building x', summary, 'fix it'),
      /^Building x failed at Dockerfile:3 step 3\/3 `RUN echo/,
    );
  });

  test('no recognisable step: just the last meaningful line', () => {
    const summary = summarizeFailure([
      'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
      '            Install the buildx component to build images with BuildKit:',
      '            https://docs.docker.com/go/buildx/',
      '',
      'unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat /tmp/x/Nope: no such file or directory',
    ]);
    assert.equal(summary.step, undefined);
    assert.match(summary.reason, /^unable to prepare context/);
    assert.equal(
      failureSentence('Pushing x', { reason: '' }, 'check the registry'),
      'Pushing x failed; check the registry.',
    );
  });
});

describe("Kamal's value escaping", () => {
  test('escape_shell_value', () => {
    assert.equal(escapeShellValue('app'), '"app"');
    assert.equal(escapeShellValue('a"b'), '"a\\"b"');
    assert.equal(escapeShellValue('$HOME ${KEEP}'), '"\\$HOME ${KEEP}"');
    assert.equal(escapeShellValue('`x`'), '"\\`x\\`"');
    assert.equal(escapeShellValue('#{x}'), '"\\#{x}"');
    assert.equal(escapeShellValue('中文 ok'), '中文" ok"');
    assert.equal(escapeShellValue(''), '""');
  });

  test('the escaped rendering reads back, through sh, as the argv value', () => {
    // Exceptions (Kamal quirks wharf does not inherit, since its argv carries the real value):
    // Ruby's dump writes a tab as `\t` and `#{` as `\#{`, which sh keeps as backslash sequences.
    for (const value of ['plain', 'it\'s "quoted"', 'a\\b', '`cmd`', 'dollar $X', 'hash #x']) {
      const word = keyValue('k', value);
      const echoed = spawnSync('sh', ['-c', `printf '%s' ${word.text}`], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      }).stdout;
      assert.equal(echoed, word.value, value);
    }
  });

  test('variable expansion for --ssh values', () => {
    assert.equal(
      expandVariables('default=$SSH_AUTH_SOCK,k=${K}', { SSH_AUTH_SOCK: '/s', K: 'v' }),
      'default=/s,k=v',
    );
    assert.equal(expandVariables('x=$UNSET', {}), 'x=');
  });
});
