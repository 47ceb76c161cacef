import { spawnSync } from 'node:child_process';
import { UserError } from '../util/errors.js';

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Where the program's stderr goes. `inherit` (the default) lets password
   * managers prompt and explain themselves on the terminal, as Kamal's
   * backticks do; `ignore` matches Kamal's `2> /dev/null` probes; `pipe`
   * captures it into the result.
   */
  stderr?: 'inherit' | 'ignore' | 'pipe';
}

export interface RunResult {
  /** Exit status; 127 when the program could not be started. */
  status: number;
  stdout: string;
  /** Only filled with `stderr: 'pipe'`. */
  stderr: string;
  /** True when the program was not found (or not executable). */
  notFound: boolean;
}

/**
 * Runs a local program to completion and returns what it printed on stdout.
 * Secrets are loaded once, synchronously, before anything needs them (as in
 * Kamal), so the runner is synchronous too. stdin stays attached to the
 * terminal so sign-in prompts work.
 */
export type CommandRunner = (file: string, args: readonly string[], options?: RunOptions) => RunResult;

const MAX_OUTPUT = 256 * 1024 * 1024;

export const spawnRunner: CommandRunner = (file, args, options = {}) => {
  const result = spawnSync(file, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['inherit', 'pipe', options.stderr ?? 'inherit'],
    encoding: 'utf8',
    maxBuffer: MAX_OUTPUT,
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
      return { status: 127, stdout: '', stderr: '', notFound: true };
    }
    throw new UserError(
      `Could not run ${file} (${code ?? result.error.message}); check that it is installed and runnable.`,
    );
  }
  const status = result.status ?? (result.signal ? 128 : 1);
  return { status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', notFound: false };
};

/** Ruby's `String#chomp`: drops one trailing \r\n, \n or \r. */
export function chomp(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n') || text.endsWith('\r')) return text.slice(0, -1);
  return text;
}
