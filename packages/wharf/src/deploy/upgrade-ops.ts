/**
 * Kamal 1 → 2 and legacy proxy settings:
 * - `proxy boot_config set|get|reset` (deprecated in Kamal 2 in favour of
 *   proxy.run in deploy.yml; still there, so still here): the files
 *   `.kamal/proxy/{options,image,image_version,run_command}` on proxy hosts.
 * - `proxy upgrade` (hidden in Kamal): per group of hosts, Traefik and the old
 *   proxy container and image go, then proxy boot, app boot of the latest
 *   image, prune.
 * - `upgrade`: `proxy upgrade` and a reboot of every accessory (which puts
 *   them in the `kamal` network), all hosts at once or one host at a time.
 */
import { Auditor } from '../commands/auditor.js';
import { type BootConfigOptions, ProxyCommands } from '../commands/proxy.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { accessoryReboot, ALL_ACCESSORIES } from './accessory-ops.js';
import { bootApp } from './app-boot.js';
import { registryLogin } from './app-ops.js';
import { runConfiguredHook } from './hook-env.js';
import { bootProxy } from './proxy.js';
import { selectedProxyHosts } from './proxy-ops.js';
import { pruneAll } from './prune.js';
import type { Remote } from './remote.js';

/** Kamal's deprecation notice for boot_config. */
export const BOOT_CONFIG_DEPRECATION =
  'The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy/run instead';

/** `proxy boot_config set`: write each non-default setting's file, remove the others. */
export async function proxyBootConfigSet(
  ctx: Context,
  remote: Remote,
  options: BootConfigOptions,
): Promise<void> {
  const config = await ctx.config();
  await remote.onHosts(await selectedProxyHosts(ctx), (host) =>
    ctx.reporter.step(host, 'write the proxy boot config', async () => {
      const proxy = new ProxyCommands(config, host);
      await remote.run(host, proxy.ensureProxyDirectory(), 'create .kamal/proxy');
      for (const file of proxy.bootConfigFiles(options)) {
        if ('content' in file)
          await remote.upload(host, file.path, file.content, 0o644, `write ${file.path}`);
        else await remote.run(host, file.reset, `reset ${file.path}`, { allowFailure: true });
      }
    }),
  );
}

/** `proxy boot_config get`: `Host <host>: <options> <image>:<version> <run command>` per proxy host. */
export async function proxyBootConfigGet(ctx: Context, remote: Remote): Promise<string[]> {
  const config = await ctx.config();
  const hosts = await selectedProxyHosts(ctx);
  const lines = await remote.onHosts(hosts, async (host) => {
    const value = await remote.capture(
      host,
      new ProxyCommands(config, host).bootConfig(),
      'read the proxy boot config',
    );
    return `Host ${host}: ${value}`;
  });
  return lines;
}

/** `proxy boot_config reset`: remove the four files (defaults again). */
export async function proxyBootConfigReset(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  await remote.onHosts(await selectedProxyHosts(ctx), async (host) => {
    const proxy = new ProxyCommands(config, host);
    for (const reset of [
      proxy.resetBootOptions(),
      proxy.resetImage(),
      proxy.resetImageVersion(),
      proxy.resetRunCommand(),
    ])
      await remote.run(host, reset, 'reset the proxy boot config', { allowFailure: true });
  });
}

/** Groups of hosts: all at once, or one at a time with --rolling. */
export function upgradeGroups(hosts: readonly string[], rolling: boolean): string[][] {
  if (hosts.length === 0) return [];
  return rolling ? hosts.map((h) => [h]) : [[...hosts]];
}

/**
 * Runs fn with the command's host selection narrowed to `hosts` (Kamal's
 * with_specific_hosts), restoring it afterwards.
 */
export async function withSpecificHosts<T>(
  ctx: Context,
  hosts: readonly string[],
  fn: () => Promise<T>,
): Promise<T> {
  const state = ctx as unknown as { selectionValue?: unknown };
  const flags = ctx.flags;
  const saved = { hosts: flags.hosts, primary: flags.primary, selection: state.selectionValue };
  const selection = await ctx.selection();
  // Only hosts the command selected anyway; glob characters never appear in a host name here.
  flags.hosts = hosts.filter((h) => selection.hosts.includes(h)).join(',');
  flags.primary = false;
  state.selectionValue = undefined;
  try {
    return await fn();
  } finally {
    flags.hosts = saved.hosts;
    flags.primary = saved.primary;
    state.selectionValue = saved.selection;
  }
}

/**
 * `proxy upgrade` (Kamal 1 → 2): per group, with the proxy reboot hooks
 * around it, remove Traefik and the old proxy (container and image), then
 * boot the proxy, boot the latest app version and prune, on those hosts.
 */
export async function proxyUpgrade(ctx: Context, remote: Remote, rolling: boolean): Promise<void> {
  const config = await ctx.config();
  const audit = new Auditor(config, await ctx.stamp());
  const selection = await ctx.selection();
  config.version = config.latestTag;
  for (const group of upgradeGroups(selection.hosts, rolling)) {
    const list = group.join(',');
    ctx.reporter.info(`Upgrading proxy on ${list}...`);
    await runConfiguredHook(ctx, 'pre-proxy-reboot', { hosts: list });
    await registryLogin(ctx, remote, group);
    await remote.onHosts(group, (host) =>
      ctx.reporter.step(host, 'remove Traefik and the old proxy', async () => {
        const proxy = new ProxyCommands(config, host);
        await remote.run(host, audit.record('Rebooted proxy'), 'write the audit log');
        await remote.run(host, proxy.cleanupTraefik(), 'remove Traefik');
        await remote.run(host, proxy.stop(), 'stop the proxy', { allowFailure: true });
        await remote.run(host, proxy.removeContainer(), 'remove the proxy container');
        await remote.run(host, proxy.removeImage(), 'remove the proxy image');
      }),
    );
    await withSpecificHosts(ctx, group, async () => {
      await bootProxy(ctx, remote, group);
      if ((await ctx.selection()).appHosts.length > 0) {
        await bootApp(ctx, remote);
        await pruneAll(ctx, remote);
      }
    });
    await runConfiguredHook(ctx, 'post-proxy-reboot', { hosts: list });
    ctx.reporter.info(`Upgraded proxy on ${list}`);
  }
}

/**
 * `upgrade` (Kamal 1 → 2): `proxy upgrade` then a reboot of every accessory
 * (which recreates it in the `kamal` network); with rolling, host by host:
 * the proxy where the host runs it, the accessories where it has any.
 */
export async function upgrade(ctx: Context, remote: Remote, rolling: boolean): Promise<HostOutput[]> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const done: HostOutput[] = [];
  const accessoryHosts = new Set(config.accessories.flatMap((a) => a.hosts));
  const proxyHosts = new Set(await selectedProxyHosts(ctx));
  if (rolling) {
    for (const host of selection.hosts) {
      if (proxyHosts.has(host)) await withSpecificHosts(ctx, [host], () => proxyUpgrade(ctx, remote, false));
      if (accessoryHosts.has(host)) await accessoryReboot(ctx, remote, ALL_ACCESSORIES, { hosts: [host] });
      ctx.reporter.info(`Upgraded ${host}`);
      done.push({ host, output: 'upgraded' });
    }
    return done;
  }
  await proxyUpgrade(ctx, remote, false);
  if (config.accessories.length > 0) await accessoryReboot(ctx, remote, ALL_ACCESSORIES);
  ctx.reporter.info('Upgraded all hosts');
  return selection.hosts.map((host) => ({ host, output: 'upgraded' }));
}
