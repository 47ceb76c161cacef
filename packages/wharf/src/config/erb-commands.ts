/** Runs the shell commands of ERB `%x(...)` and backticks, as Ruby would, but failing loudly. */
import { spawnSync } from 'node:child_process';

export function shellCommandRunner(cwd: string, env: Record<string, string | undefined>, timeoutMs: number) {
  return (command: string): string => {
    const r = spawnSync('/bin/sh', ['-c', command], {
      cwd,
      env: env as NodeJS.ProcessEnv,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    if (r.error) {
      throw new Error(
        (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT'
          ? `it ran longer than ${Math.round(timeoutMs / 1000)} s`
          : r.error.message,
      );
    }
    if (r.status !== 0) {
      const why = (r.stderr ?? '')
        .split('\n')
        .find((l) => l.trim() !== '')
        ?.trim();
      throw new Error(
        `it exited with status ${r.status ?? r.signal}${why ? ` (${why.replace(/\.$/, '')})` : ''}`,
      );
    }
    return r.stdout ?? '';
  };
}
