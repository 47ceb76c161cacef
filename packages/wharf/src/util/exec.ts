import { spawn, type SpawnOptions } from 'node:child_process';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  input?: string | Buffer | NodeJS.ReadableStream;
  cwd?: string;
  timeoutMs?: number;
}

/**
 * Runs a local program (no shell) and collects its output. Never throws for a
 * non-zero exit: callers decide what a failure means. Throws only when the
 * program cannot be started at all (ENOENT and the like).
 */
export function execFile(
  file: string,
  args: readonly string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const spawnOptions: SpawnOptions = {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    };
    const child = spawn(file, args, spawnOptions);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (options.timeoutMs !== undefined) {
      timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    }
    child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    const input = options.input;
    if (input === undefined) {
      child.stdin!.end();
    } else if (typeof input === 'string' || Buffer.isBuffer(input)) {
      child.stdin!.end(input);
    } else {
      input.pipe(child.stdin!);
    }
  });
}

/** True when `file` can be started (found on PATH or as a path). */
export async function canRun(file: string, args: readonly string[] = ['--version']): Promise<boolean> {
  try {
    await execFile(file, args, { timeoutMs: 10_000 });
    return true;
  } catch {
    return false;
  }
}
