/** Runs a Kamal hook with the invocation's tags (KAMAL_* and WHARF_*), as Kamal's run_hook does. */
import { resolve } from 'node:path';
import { Tags, type TagValue } from '../commands/tags.js';
import type { Context } from '../runtime/context.js';
import { hookPath, runHook } from '../runtime/hooks.js';

/** Hooks that Kamal gives the secrets to. */
const HOOKS_WITH_SECRETS = new Set(['pre-connect', 'pre-deploy', 'post-deploy']);

/** Whether runConfiguredHook would run the hook `name` (it exists and hooks are not skipped). */
export async function hookConfigured(ctx: Context, name: string): Promise<boolean> {
  if (ctx.flags.skipHooks) return false;
  const config = await ctx.config();
  return Boolean(hookPath(resolve(config.cwd, config.hooksPath), name));
}

export async function runConfiguredHook(
  ctx: Context,
  name: string,
  details: Record<string, TagValue> = {},
): Promise<boolean> {
  if (ctx.flags.skipHooks) return false;
  const config = await ctx.config();
  if (!hookPath(resolve(config.cwd, config.hooksPath), name)) return false;
  const stamp = await ctx.stamp();
  const selection = await ctx.selection();
  const tags = Tags.fromConfig(config, stamp, {
    hosts: selection.hosts.join(','),
    roles: ctx.flags.roles ? selection.roles.map((r) => r.name).join(',') : undefined,
    lock: String(ctx.holdingLock),
    command: ctx.command,
    subcommand: ctx.subcommand,
    ...details,
  });
  const output = config.hooksOutputFor(name);
  const stream = ctx.reporter.mode === 'verbose' || (ctx.reporter.mode === 'normal' && output === 'verbose');
  const secrets = HOOKS_WITH_SECRETS.has(name) ? (await ctx.secrets()).toEnv() : undefined;
  return ctx.reporter.step(undefined, `hook ${name}`, () =>
    runHook({
      name,
      hooksDir: resolve(config.cwd, config.hooksPath),
      cwd: config.cwd,
      env: tags.env('KAMAL'),
      secrets,
      stream,
      redact: (t) => ctx.redact(t),
      write: (t) => process.stderr.write(t),
    }),
  );
}
