/**
 * Environment for a remote command without putting values in its command
 * line: sshd only accepts a few variables through SSH `env` requests, and a
 * `K=v cmd` prefix would show secrets in the server's process listing. So the
 * values travel first on the channel's stdin, one line each, and a preamble
 * reads them with the shell's `read` builtin (which reads a pipe byte by byte,
 * so the command's own stdin that follows is left untouched).
 */
import { isEnvName } from './quote.js';

export interface EnvPreamble {
  /** Shell text to put before the command (ends with a newline), or '' when there is no env. */
  script: string;
  /** Bytes to write to stdin before the caller's own stdin. */
  stdinHead: Buffer;
}

/** Exit status of the preamble when stdin ends before every value was read. */
export const ENV_PREAMBLE_FAILED = 97;

export function envPreamble(env: Readonly<Record<string, string>> | undefined): EnvPreamble {
  const entries = Object.entries(env ?? {});
  if (entries.length === 0) return { script: '', stdinHead: Buffer.alloc(0) };
  const reads: string[] = [];
  const decodes: string[] = [];
  const lines: string[] = [];
  for (const [name, value] of entries) {
    if (!isEnvName(name)) throw new Error(`"${name}" is not a valid environment variable name`);
    if (value.includes('\0')) throw new Error(`environment variable ${name} cannot contain a NUL byte`);
    reads.push(`IFS= read -r ${name}`);
    if (value.includes('\n')) {
      // Multi-line values go escaped (\\ and \n) and are decoded by printf %b; the
      // trailing x keeps $(…) from eating trailing newlines.
      lines.push(value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n'));
      decodes.push(`${name}=$(printf '%bx' "$${name}") && ${name}=\${${name}%x}`);
    } else {
      lines.push(value);
    }
  }
  const names = entries.map(([name]) => name).join(' ');
  const steps = [...reads, ...decodes, `export ${names}`].join(' && ');
  return {
    script: `${steps} || exit ${ENV_PREAMBLE_FAILED}\n`,
    stdinHead: Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'),
  };
}
