/**
 * Runs generated commands on hosts through the context's SSH pool: one
 * connection per host, failures turned into one sentence naming the host and
 * the step, and fan-out over hosts that waits for every host before failing.
 */
import { commandLine, type Command, type EnvCommand } from '../commands/base.js';
import type { Context } from '../runtime/context.js';
import { SshError } from '../ssh/errors.js';
import type { ExecResult, SshPool } from '../ssh/index.js';
import { firstLine, UserError } from '../util/errors.js';
import type { Readable } from 'node:stream';

export interface RunOptions {
  env?: Record<string, string>;
  stdin?: string | Buffer | Readable;
  timeoutMs?: number;
  /** Resolve with the result instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /**
   * Run even on a host whose connection dropped earlier in this command
   * (reconnecting). Only for steps that are safe whatever state the host was
   * left in, such as releasing the deploy lock.
   */
  afterDrop?: boolean;
}

/** The SSH connection drop somewhere in `error`'s cause chain, if that is what went wrong. */
export function connectionDrop(error: unknown): SshError | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (e instanceof SshError && e.kind === 'dropped') return e;
  }
  return undefined;
}

/** A remote step that failed on one host. */
export class StepError extends UserError {
  constructor(
    readonly host: string,
    readonly step: string,
    readonly result: ExecResult,
    detail: string,
  ) {
    super(`${capitalize(step)} failed on ${host}: ${detail}.`);
    this.name = 'StepError';
  }
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The most useful line of a failed command's output (docker prints "Error response from daemon: …"). */
export function failureDetail(result: ExecResult): string {
  const text = `${result.stderr}\n${result.stdout}`;
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const error = lines.find((l) => /error|denied|not found|no such|cannot|failed|refused/i.test(l));
  return (error ?? firstLine(text) ?? '').replace(/\.$/, '').slice(0, 300) || `exit status ${result.code}`;
}

export class Remote {
  /**
   * Hosts whose SSH connection dropped while a command ran there. What that
   * command did is unknown (a handoff to wharf-proxy may still complete on the
   * server), so wharf runs nothing more on such a host for the rest of this
   * command: acting on a stale picture (stopping the "new" container after the
   * proxy switched to it) could take the service down.
   */
  private readonly dropped = new Map<string, SshError>();

  constructor(
    readonly ctx: Context,
    readonly pool: SshPool,
  ) {}

  /** The drop that put `host` off limits, if any. */
  droppedOn(host: string): SshError | undefined {
    return this.dropped.get(host);
  }

  private guard(host: string, afterDrop: boolean | undefined): void {
    const drop = this.dropped.get(host);
    if (drop && !afterDrop) throw drop;
  }

  private noteDrop(host: string, error: unknown): never {
    if (error instanceof SshError && error.kind === 'dropped' && !this.dropped.has(host))
      this.dropped.set(host, error);
    throw error;
  }

  static async of(ctx: Context): Promise<Remote> {
    return new Remote(ctx, await ctx.pool());
  }

  async run(
    host: string,
    command: Command | EnvCommand | string,
    step: string,
    options: RunOptions = {},
  ): Promise<ExecResult> {
    const text =
      typeof command === 'string'
        ? command
        : Array.isArray(command)
          ? commandLine(command)
          : commandLine(command.command);
    const env = {
      ...(typeof command === 'object' && !Array.isArray(command) ? command.env : {}),
      ...options.env,
    };
    this.guard(host, options.afterDrop);
    const result = await this.pool
      .exec(host, text, {
        step,
        env: Object.keys(env).length > 0 ? env : undefined,
        stdin: options.stdin,
        timeoutMs: options.timeoutMs,
        onStdout: options.onStdout,
        onStderr: options.onStderr,
      })
      .catch((error: unknown) => this.noteDrop(host, error));
    if (result.code !== 0 && !options.allowFailure) {
      throw new StepError(host, step, result, this.ctx.redact(failureDetail(result)));
    }
    return result;
  }

  /** stdout of a command that must succeed, trimmed. */
  async capture(host: string, command: Command | string, step: string): Promise<string> {
    return (await this.run(host, command, step)).stdout.trim();
  }

  async upload(host: string, path: string, content: string, mode: number, step: string): Promise<void> {
    this.guard(host, false);
    await this.pool
      .upload(host, path, content, { mode, step })
      .catch((error: unknown) => this.noteDrop(host, error));
  }

  /**
   * Runs fn on every host in parallel and waits for all of them; then throws
   * the first failure (naming how many other hosts failed too).
   */
  async onHosts<T>(hosts: readonly string[], fn: (host: string) => Promise<T>): Promise<T[]> {
    const results = await Promise.allSettled(hosts.map((h) => fn(h)));
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) {
      const first = failures[0]!.reason as Error;
      if (failures.length > 1 && first instanceof UserError) {
        throw new UserError(
          `${first.message.replace(/\.$/, '')} (and ${failures.length - 1} more host${failures.length > 2 ? 's' : ''} failed).`,
          {
            cause: first,
          },
        );
      }
      throw first;
    }
    return results.map((r) => (r as PromiseFulfilledResult<T>).value);
  }
}
