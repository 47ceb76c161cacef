/**
 * What every remote command of the CLI shares: a Context built from the
 * global flags with Kamal's command/subcommand names, closed afterwards; the
 * `App Host: …` grouping of per-host output; and the confirmation prompt.
 */
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import type { Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import type { GlobalFlags } from './program.js';

export type Globals = () => GlobalFlags;

export interface ContextRequest {
  command: string;
  subcommand?: string;
  json?: boolean;
  /** Overrides --version (e.g. `latest` for app boot and exec). */
  version?: string;
  /** False for commands that only work on this machine (no pre-connect hook). */
  connects?: boolean;
}

/** Builds the Context for one command, runs fn with it and a Remote, and always closes the SSH pool. */
export async function withContext<T>(
  globals: Globals,
  request: ContextRequest,
  fn: (ctx: Context, remote: Remote) => Promise<T>,
): Promise<T> {
  const flags = { ...globals(), json: request.json };
  if (request.version !== undefined) flags.version = request.version;
  // Loaded when a command runs, not when its options or help are built.
  const [{ Context }, { Remote }, { runConfiguredHook }] = await Promise.all([
    import('../runtime/context.js'),
    import('../deploy/remote.js'),
    import('../deploy/hook-env.js'),
  ]);
  const ctx = new Context({ flags });
  ctx.command = request.command;
  ctx.subcommand = request.subcommand;
  try {
    // Kamal runs the pre-connect hook before a command's first SSH connection.
    if (request.connects !== false) await runConfiguredHook(ctx, 'pre-connect');
    const remote = await Remote.of(ctx);
    return await fn(ctx, remote);
  } finally {
    await ctx.close();
  }
}

/** A subcommand with Kamal's --help only (as the rest of the CLI). */
export function subcommand(name: string, description: string): Command {
  return new Command(name).description(description).helpOption('--help', 'Show help for this command');
}

export interface HostOutput {
  host: string;
  output: string;
}

/**
 * Kamal's puts_by_host: `<Type> Host: <host>` (left out with -q), the output,
 * then a blank line; hosts in the order given.
 */
export function formatByHost(items: readonly HostOutput[], type = 'App', quiet = false): string {
  return items
    .map((item) => `${quiet ? '' : `${type} Host: ${item.host}\n`}${item.output.replace(/\n+$/, '')}\n`)
    .join('\n');
}

export function printByHost(ctx: Context, items: readonly HostOutput[], type = 'App'): void {
  if (ctx.reporter.mode === 'json') {
    for (const item of items)
      ctx.reporter.emit('output', {
        type: type.toLowerCase(),
        host: item.host,
        output: ctx.redact(item.output),
      });
    return;
  }
  if (items.length === 0) return;
  ctx.reporter.result(ctx.redact(formatByHost(items, type, ctx.reporter.mode === 'quiet')));
}

/** True for `y`/`yes` (any case), as Thor's yes?. */
export function isYes(answer: string): boolean {
  return /^(y|yes)$/i.test(answer.trim());
}

/**
 * Asks `question [y/N]` on a terminal. Without a terminal (CI, pipes) it
 * refuses with one sentence telling to pass -y; nothing has been changed then.
 */
export async function confirm(
  question: string,
  what: string,
  confirmed: boolean | undefined,
): Promise<boolean> {
  if (confirmed) return true;
  if (!process.stdin.isTTY) {
    throw new UserError(
      `${what} needs confirmation and this shell is not interactive, so nothing was changed; pass -y (--confirmed) to go ahead.`,
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return isYes(await rl.question(`${question} [y/N] `));
  } finally {
    rl.close();
  }
}
