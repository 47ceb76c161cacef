/**
 * `proxy boot`: the `kamal` network on every host, and wharf-proxy running in
 * the `kamal-proxy` container on every proxy host. A host whose proxy already
 * runs costs one round trip. Without `proxy.run` in the config and without
 * boot-config files on the host, wharf writes Kamal's boot-config image files
 * (`.kamal/proxy/image`, `image_version`) naming its own image, so Kamal's
 * command line starts wharf-proxy (and an unmodified Kamal would too).
 */
import { ProxyCommands, proxyVersionTooOld } from '../commands/proxy.js';
import { any, combine, type Command } from '../commands/base.js';
import { createNetwork } from '../commands/docker.js';
import type { Config } from '../config/index.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { defaultProxyImage, ensureProxyImage, WHARF_PROXY_REPOSITORY } from './proxy-image.js';
import { Remote } from './remote.js';
import { proxyProbe, type ProxyProbeTarget } from './host-state.js';

export interface ProxyState {
  running: boolean;
  exists: boolean;
  image: string;
  bootImageFile: boolean;
}

export function parseProxyState(stdout: string): ProxyState {
  const inspect = /^inspect=(\S*) ?(.*)$/m.exec(stdout);
  return {
    exists: Boolean(inspect?.[1]),
    running: inspect?.[1] === 'true',
    image: inspect?.[2]?.trim() ?? '',
    bootImageFile: /^bootimage=yes$/m.test(stdout),
  };
}

/** The image this host's proxy will run (for the image check), and whether it is wharf's own. */
function plannedImage(
  config: Config,
  host: string,
  state: ProxyState,
): { image: string; ours: boolean } | undefined {
  const run = config.proxyRun(host);
  if (run)
    return {
      image: run.image,
      ours:
        run.image.includes(`/${WHARF_PROXY_REPOSITORY}:`) ||
        run.image.startsWith(`${WHARF_PROXY_REPOSITORY}:`),
    };
  if (state.bootImageFile) return undefined; // the host's own boot config decides
  return { image: defaultProxyImage(config).image, ours: true };
}

/** The probe for `host` (the proxy's container name can differ per host). */
export function proxyProbeFor(config: Config, host: string): string {
  const target = proxyProbeTarget(config, host);
  return proxyProbe(target.containerName, target.imageFile);
}

/** The proxy container's name on `host` and Kamal's boot-config image file, for the probe. */
export function proxyProbeTarget(config: Config, host: string): ProxyProbeTarget {
  return {
    containerName: new ProxyCommands(config, host).containerName,
    imageFile: config.proxyBoot.imageFile,
  };
}

export { proxyProbe };

/**
 * Boots wharf-proxy where it does not run. `probed`: the hosts' proxy states
 * when the caller already read them (deploy reads them with the containers'
 * state in the same round trip); otherwise each host is probed here.
 */
export async function bootProxy(
  ctx: Context,
  remote: Remote,
  hostsInput?: readonly string[],
  probed?: ReadonlyMap<string, ProxyState>,
): Promise<void> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const hosts = hostsInput ?? selection.hosts;
  const proxyHosts = new Set(config.proxyHosts.filter((h) => hosts.includes(h)));
  const states = new Map<string, ProxyState>(probed ?? []);
  await remote.onHosts(
    hosts.filter((h) => !states.has(h)),
    async (host) => {
      const result = await remote.run(host, proxyProbeFor(config, host), 'check the proxy');
      states.set(host, parseProxyState(result.stdout));
    },
  );
  const toBoot = [...proxyHosts].filter((h) => !states.get(h)!.running);
  for (const host of proxyHosts) {
    const state = states.get(host)!;
    if (state.running && !state.image.includes(WHARF_PROXY_REPOSITORY)) {
      const version = state.image.split(':').pop() ?? '';
      if (/^v?\d/.test(version) && proxyVersionTooOld(version)) {
        throw new UserError(
          `kamal-proxy ${version} on ${host} is too old for wharf; run \`wharf proxy reboot\` to replace it.`,
        );
      }
    }
  }
  if (toBoot.length === 0) return;
  // Images wharf builds itself: make sure each is in the registry before the hosts pull it.
  const ours = new Set<string>();
  for (const host of toBoot) {
    const state = states.get(host)!;
    if (state.exists) continue;
    const planned = plannedImage(config, host, state);
    if (planned?.ours) ours.add(planned.image);
  }
  if (ours.size > 0) {
    const { requireEngine } = await import('../docker/engine.js');
    const engine = await requireEngine();
    for (const image of ours) {
      await ctx.reporter.step(undefined, `publish ${image}`, () =>
        ensureProxyImage(engine.client, image, (l) => ctx.reporter.info(`  ${l}`)),
      );
    }
  }
  await remote.onHosts(toBoot, (host) =>
    ctx.reporter.step(host, 'boot wharf-proxy', async () => {
      const state = states.get(host)!;
      const proxy = new ProxyCommands(config, host);
      const parts: Command[] = [proxy.ensureAppsConfigDirectory()];
      const planned = plannedImage(config, host, state);
      if (!state.exists && !config.proxyRun(host) && planned) {
        const { repository, version } = defaultProxyImage(config);
        parts.push(['mkdir', '-p', config.proxyBoot.hostDirectory]);
        parts.push(['echo', repository, '>', config.proxyBoot.imageFile]);
        parts.push(['echo', version, '>', config.proxyBoot.imageVersionFile]);
      }
      parts.push(any(proxy.start(), proxy.run()));
      await remote.run(host, combine(parts), 'boot wharf-proxy');
    }),
  );
}
