/**
 * Runs one planned local command (no shell), streaming its merged output to a
 * callback line by line. Secret values reach the process only through its
 * environment or stdin, and are replaced by [REDACTED] in every line the
 * callback sees and in every error.
 */
import { spawn } from 'node:child_process';
import type { DockerClient } from '../docker/client.js';
import { UserError } from '../util/errors.js';
import { argv, displayText, type Command } from './words.js';

export interface RunOptions {
  /** The engine's client: its binary replaces `docker` and its DOCKER_HOST is set. */
  client?: DockerClient;
  cwd?: string;
  /** Extra environment (secret values go here, never on argv). */
  env?: Readonly<Record<string, string>>;
  /** Written to stdin, then stdin is closed (e.g. a registry password). */
  stdin?: string;
  /** Every output line (stdout and stderr merged, as Kamal's `2>&1`), redacted. */
  onLine?: (line: string) => void;
  /** Values never to show; env values and stdin are always added. */
  secrets?: readonly string[];
  timeoutMs?: number;
}

export interface RunResult {
  code: number;
  /** The last lines of output (redacted), for failure summaries. */
  tail: string[];
  /** All output (redacted). */
  output: string;
}

const TAIL_LINES = 200;

/** Replaces every occurrence of each secret (longest first) with [REDACTED]. */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const values = [...new Set(secrets.filter((s) => s.length >= 3))].sort((a, b) => b.length - a.length);
  if (values.length === 0) return (text) => text;
  return (text) => values.reduce((out, value) => out.split(value).join('[REDACTED]'), text);
}

export function runStreaming(cmd: Command, options: RunOptions = {}): Promise<RunResult> {
  const baseEnv: NodeJS.ProcessEnv = options.client ? options.client.env() : { ...process.env };
  const env: NodeJS.ProcessEnv = { ...baseEnv, ...cmd.env, ...options.env };
  const args = argv(cmd, env);
  if (args[0] === 'docker' && options.client) args[0] = options.client.bin;
  const secretValues = [
    ...(options.secrets ?? []),
    ...Object.values(options.env ?? {}),
    ...(options.stdin !== undefined ? [options.stdin, options.stdin.trim()] : []),
  ];
  const redact = redactor(secretValues);
  return new Promise((resolve, reject) => {
    const child = spawn(args[0]!, args.slice(1), { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const tail: string[] = [];
    const all: string[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    const emit = (line: string) => {
      const shown = redact(line);
      all.push(shown);
      tail.push(shown);
      if (tail.length > TAIL_LINES) tail.shift();
      options.onLine?.(shown);
    };
    const splitter = () => {
      let pending = '';
      return {
        push(chunk: Buffer) {
          pending += chunk.toString('utf8');
          const parts = pending.split(/\r?\n|\r(?!\n)/);
          pending = parts.pop() ?? '';
          for (const part of parts) emit(part);
        },
        flush() {
          if (pending !== '') emit(pending);
          pending = '';
        },
      };
    };
    const out = splitter();
    const err = splitter();
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (error: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      if (error.code === 'ENOENT') {
        reject(
          new UserError(
            `${args[0]} is not installed or not on PATH, so \`${redact(displayText(cmd)).slice(0, 80)}\` cannot run; install it and run again.`,
          ),
        );
      } else reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      out.flush();
      err.flush();
      resolve({ code: code ?? (signal ? 128 : 1), tail, output: all.join('\n') });
    });
    child.stdin!.on('error', () => {});
    child.stdin!.end(options.stdin ?? '');
  });
}
