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

/**
 * The deploy's prune on one host, run while that host boots (from the moment
 * its first new container runs, during the health-checked handoff), so it is
 * off the deploy's critical path. `stopping` old containers are still running
 * then and stop after it, so it keeps that many fewer stopped containers: once
 * they stopped, retain_containers are left, as after Kamal's prune (at least
 * one is kept whatever `stopping` is). Images: the same as after the boot,
 * since the old containers (running now, stopped then) hold theirs either way
 * and the new version's container holds the new image.
 */
export async function pruneDuringBoot(
  ctx: Context,
  remote: Remote,
  host: string,
  stopping: number,
): Promise<void> {
  const config = await ctx.config();
  const commands = new PruneCommands(config);
  const auditor = new Auditor(config, await ctx.stamp());
  const script = pruneScript(
    auditor.record('Pruned containers and images'),
    commands.appContainersAtOnce(pruneRetain(config.retainContainers, stopping)),
    [commands.danglingImages(), commands.taggedImagesAtOnce()],
  );
  await remote.run(host, script, 'prune old containers and images');
}

/** How many stopped containers to keep now so that `retain` are left once `stopping` more stopped (at least 1). */
export function pruneRetain(retain: number, stopping: number): number {
  return Math.max(1, retain - Math.max(0, stopping));
}

export const pruneContainers = (ctx: Context, remote: Remote, retain?: number) =>
  prune(ctx, remote, ['containers'], { retain });
export const pruneImages = (ctx: Context, remote: Remote) => prune(ctx, remote, ['images']);
/** Containers first, so the images they held become unused. */
export const pruneAll = (ctx: Context, remote: Remote, options: { tagLatest?: boolean } = {}) =>
  prune(ctx, remote, ['containers', 'images'], options);
