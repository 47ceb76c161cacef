/** `prune`: stopped app containers beyond retain_containers, then unused images of the service. */
import { Auditor } from '../commands/auditor.js';
import { combine, type Command } from '../commands/base.js';
import { PruneCommands } from '../commands/prune.js';
import type { Context } from '../runtime/context.js';
import type { Remote } from './remote.js';

type Part = 'containers' | 'images';

/** One round trip per app host: an audit line, then the prune commands (each runs even if one before failed). */
async function prune(ctx: Context, remote: Remote, parts: Part[], retain?: number): Promise<void> {
  const config = await ctx.config();
  const commands = new PruneCommands(config);
  const auditor = new Auditor(config, await ctx.stamp());
  const steps: Command[] = [];
  if (parts.includes('containers')) steps.push(commands.appContainers(retain ?? config.retainContainers));
  if (parts.includes('images')) steps.push(commands.danglingImages(), commands.taggedImages());
  const what = parts.join(' and ');
  const command = combine([auditor.record(`Pruned ${what}`), ...steps], ';');
  const hosts = (await ctx.selection()).appHosts;
  await remote.onHosts(hosts, (host) => remote.run(host, command, `prune old ${what}`));
}

export const pruneContainers = (ctx: Context, remote: Remote, retain?: number) =>
  prune(ctx, remote, ['containers'], retain);
export const pruneImages = (ctx: Context, remote: Remote) => prune(ctx, remote, ['images']);
/** Containers first, so the images they held become unused. */
export const pruneAll = (ctx: Context, remote: Remote) => prune(ctx, remote, ['containers', 'images']);
