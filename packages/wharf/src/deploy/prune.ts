/** `prune`: stopped app containers beyond retain_containers, then unused images of the service. */
import { Auditor } from '../commands/auditor.js';
import { combine } from '../commands/base.js';
import { PruneCommands } from '../commands/prune.js';
import type { Context } from '../runtime/context.js';
import type { Remote } from './remote.js';

export async function pruneContainers(ctx: Context, remote: Remote, retain?: number): Promise<void> {
  const config = await ctx.config();
  const stamp = await ctx.stamp();
  const prune = new PruneCommands(config);
  const auditor = new Auditor(config, stamp);
  const hosts = (await ctx.selection()).appHosts;
  await remote.onHosts(hosts, (host) =>
    remote.run(host, combine([auditor.record('Pruned containers'), prune.appContainers(retain ?? config.retainContainers)]), 'prune old containers'),
  );
}

export async function pruneImages(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const stamp = await ctx.stamp();
  const prune = new PruneCommands(config);
  const auditor = new Auditor(config, stamp);
  const hosts = (await ctx.selection()).appHosts;
  await remote.onHosts(hosts, (host) =>
    remote.run(host, combine([auditor.record('Pruned images'), prune.danglingImages(), prune.taggedImages()], ';'), 'prune old images'),
  );
}

/** Containers first, so the images they held become unused. One round trip per host. */
export async function pruneAll(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const stamp = await ctx.stamp();
  const prune = new PruneCommands(config);
  const auditor = new Auditor(config, stamp);
  const hosts = (await ctx.selection()).appHosts;
  await remote.onHosts(hosts, (host) =>
    remote.run(
      host,
      combine([auditor.record('Pruned containers and images'), prune.appContainers(config.retainContainers), prune.danglingImages(), prune.taggedImages()], ';'),
      'prune old containers and images',
    ),
  );
}
