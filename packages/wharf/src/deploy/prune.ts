/** `prune`: stopped app containers beyond retain_containers, then unused images of the service. */
import { AppCommands } from '../commands/app.js';
import { Auditor } from '../commands/auditor.js';
import { combine, commandLine, type Command } from '../commands/base.js';
import type { Config } from '../config/index.js';
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
  const auditor = new Auditor(config, await ctx.stamp());
  const script = pruneListedOnce(
    config,
    commandLine(auditor.record('Pruned containers and images')),
    pruneRetain(config.retainContainers, stopping),
  );
  await remote.run(host, script, 'prune old containers and images');
}

/**
 * The prune with one container listing instead of two: `docker ps -a` of the
 * service once (id, state, image), from which the shell takes the stopped
 * containers beyond `keep` (newest first, as `docker ps` lists them) to
 * remove, and, once they are gone, the images the remaining containers use,
 * which the tag removal keeps (with `latest` and `<none>`), as Kamal's
 * `docker container ls -a` after the removal would. If `docker rm` fails, no
 * container counts as removed (their images stay). Untagged images go in the
 * background meanwhile. Every part runs whatever failed before, as in Kamal.
 */
export function pruneListedOnce(config: Config, audit: string, keep: number): string {
  const filter = `--filter label=service=${config.service}`;
  const stopped = `$2 == "created" || $2 == "exited" || $2 == "dead" { print $1 }`;
  const used = `NF && index(old, " " $1 " ") == 0 { printf "%s\\\\|", $3 }`;
  return shellSequence([
    audit,
    `wharf_ps=$(docker ps -a ${filter} --format '{{.ID}} {{.State}} {{.Image}}')`,
    `wharf_old=$(printf '%s\\n' "$wharf_ps" | awk '${stopped}' | tail -n +${keep + 1})`,
    `[ -z "$wharf_old" ] || docker rm $wharf_old || wharf_old=`,
    `${commandLine(new PruneCommands(config).danglingImages())} &`,
    `wharf_used=$(printf '%s\\n' "$wharf_ps" | awk -v old=" $(echo $wharf_old) " '${used}')`,
    `wharf_tags=$(docker image ls ${filter} --format '{{.ID}} {{.Repository}}:{{.Tag}}' | grep -v -w "\${wharf_used}${config.latestImage}\\|${config.repository}:<none>" | cut -d ' ' -f 2)`,
    `[ -z "$wharf_tags" ] || docker rmi $wharf_tags`,
    'wait',
  ]);
}

/** Shell commands run one after another; one that ends in `&` runs in the background and needs no `;` after it. */
function shellSequence(parts: readonly string[]): string {
  return parts.map((part, i) => (i === 0 ? '' : parts[i - 1]!.endsWith(' &') ? ' ' : ' ; ') + part).join('');
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
