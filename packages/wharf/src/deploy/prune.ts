/** `prune`: stopped app containers beyond retain_containers, then unused images of the service. */
import { AppCommands } from '../commands/app.js';
import { Auditor } from '../commands/auditor.js';
import { combine, type Command } from '../commands/base.js';
import { PruneCommands } from '../commands/prune.js';
import type { Context } from '../runtime/context.js';
import type { Remote } from './remote.js';

type Part = 'containers' | 'images';

/**
 * The prune script: an audit line, then the containers (so that the images
 * they held become unused), then both image cleanups at once (untagged images
 * in the background while the tagged ones are removed: neither needs the
 * other's result, and Docker serialises the deletions). Each part runs even
 * if one before failed, as in Kamal.
 */
export function pruneScript(
  audit: Command,
  containers: Command | undefined,
  images: [Command, Command] | undefined,
): Command {
  const steps: Command[] = [audit];
  if (containers) steps.push(containers);
  if (images) steps.push([...images[0], '&', ...images[1], ';', 'wait']);
  return combine(steps, ';');
}

/**
 * The deploy's last round trip per host: tag the new version `latest` (which
 * keeps its image from the prune), then prune; a failed tag stops it there.
 */
export function tagThenPrune(tag: Command, prune: Command): Command {
  return combine([tag, ['{', ...prune, ';', '}']]);
}

/** One round trip per app host: an audit line, then the prune commands (after tagging latest, with tagLatest). */
async function prune(
  ctx: Context,
  remote: Remote,
  parts: Part[],
  options: { retain?: number; tagLatest?: boolean } = {},
): Promise<void> {
  const config = await ctx.config();
  const commands = new PruneCommands(config);
  const auditor = new Auditor(config, await ctx.stamp());
  const what = parts.join(' and ');
  const script = pruneScript(
    auditor.record(`Pruned ${what}`),
    parts.includes('containers')
      ? commands.appContainersAtOnce(options.retain ?? config.retainContainers)
      : undefined,
    parts.includes('images') ? [commands.danglingImages(), commands.taggedImagesAtOnce()] : undefined,
  );
  const command = options.tagLatest ? tagThenPrune(new AppCommands(config).tagLatestImage(), script) : script;
  const step = options.tagLatest ? `tag the latest image and prune old ${what}` : `prune old ${what}`;
  const hosts = (await ctx.selection()).appHosts;
  await remote.onHosts(hosts, (host) => remote.run(host, command, step));
}

export const pruneContainers = (ctx: Context, remote: Remote, retain?: number) =>
  prune(ctx, remote, ['containers'], { retain });
export const pruneImages = (ctx: Context, remote: Remote) => prune(ctx, remote, ['images']);
/** Containers first, so the images they held become unused. */
export const pruneAll = (ctx: Context, remote: Remote, options: { tagLatest?: boolean } = {}) =>
  prune(ctx, remote, ['containers', 'images'], options);
