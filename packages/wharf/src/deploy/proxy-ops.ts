/**
 * The `proxy` subcommands other than boot (Kamal's Cli::Proxy): reboot (one
 * group of hosts at a time, with the pre/post-proxy-reboot hooks), start,
 * stop, restart, details, logs and remove. Routes survive a reboot: the proxy
 * keeps its state in the kamal-proxy-config volume, which a reboot keeps.
 */
import { Auditor } from '../commands/auditor.js';
import { combine } from '../commands/base.js';
import { ProxyCommands } from '../commands/proxy.js';
import { ServerCommands } from '../commands/server.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { defaultLogLines, type LogsOptions } from './app-ops.js';
import { runConfiguredHook } from './hook-env.js';
import { runInTerminal } from './local-terminal.js';
import { bootProxy } from './proxy.js';
import type { Remote } from './remote.js';

/** The selected hosts that run the proxy. */
export async function selectedProxyHosts(ctx: Context): Promise<string[]> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  return config.proxyHosts.filter((h) => selection.hosts.includes(h));
}

/** Reboot groups: every host at once, or one at a time with --rolling. */
export function rebootGroups(hosts: readonly string[], rolling: boolean): string[][] {
  if (hosts.length === 0) return [];
  return rolling ? hosts.map((h) => [h]) : [[...hosts]];
}

async function auditor(ctx: Context): Promise<Auditor> {
  return new Auditor(await ctx.config(), await ctx.stamp());
}

export async function proxyReboot(ctx: Context, remote: Remote, rolling: boolean): Promise<void> {
  const config = await ctx.config();
  const audit = await auditor(ctx);
  for (const group of rebootGroups(await selectedProxyHosts(ctx), rolling)) {
    await runConfiguredHook(ctx, 'pre-proxy-reboot', { hosts: group.join(',') });
    await remote.onHosts(group, (host) =>
      ctx.reporter.step(host, 'stop and remove wharf-proxy', async () => {
        const proxy = new ProxyCommands(config, host);
        await remote.run(host, audit.record('Rebooted proxy'), 'write the audit log');
        await remote.run(host, proxy.stop(), 'stop wharf-proxy', { allowFailure: true });
        await remote.run(host, proxy.removeContainer(), 'remove the wharf-proxy container');
        // A container from another image (kamal-proxy's label is what removeContainer matches) goes by name.
        await remote.run(
          host,
          `docker container rm ${proxy.containerName} 2>/dev/null || true`,
          'remove the wharf-proxy container',
        );
      }),
    );
    await bootProxy(ctx, remote, group);
    await remote.onHosts(group, (host) => waitForProxy(ctx, remote, host));
    await runConfiguredHook(ctx, 'post-proxy-reboot', { hosts: group.join(',') });
  }
}

/** Waits until the rebooted proxy answers on its socket (routes restored), so a rolling reboot moves on only then. */
async function waitForProxy(ctx: Context, remote: Remote, host: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await remote.run(
      host,
      'docker exec kamal-proxy kamal-proxy list',
      'check that wharf-proxy answers',
      { allowFailure: true },
    );
    if (result.code === 0) return;
    if (Date.now() >= deadline) {
      throw new UserError(
        `wharf-proxy on ${host} did not answer within ${timeoutMs / 1000} s after the reboot; run \`wharf proxy logs -h ${host}\` to see why.`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function onProxyHosts(
  ctx: Context,
  remote: Remote,
  verb: string,
  line: string,
  make: (proxy: ProxyCommands) => string[],
): Promise<void> {
  const config = await ctx.config();
  const audit = await auditor(ctx);
  const hosts = await selectedProxyHosts(ctx);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `${verb} wharf-proxy`, () =>
      remote.run(
        host,
        combine([audit.record(line), make(new ProxyCommands(config, host))]),
        `${verb} wharf-proxy`,
      ),
    ),
  );
}

export async function proxyStart(ctx: Context, remote: Remote): Promise<void> {
  await onProxyHosts(ctx, remote, 'start', 'Started Proxy', (p) => p.start());
  await remote.onHosts(await selectedProxyHosts(ctx), (host) => waitForProxy(ctx, remote, host));
}

export function proxyStop(ctx: Context, remote: Remote): Promise<void> {
  return onProxyHosts(ctx, remote, 'stop', 'Stopped Proxy', (p) => p.stop());
}

export async function proxyDetails(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  const config = await ctx.config();
  const hosts = await selectedProxyHosts(ctx);
  return remote.onHosts(hosts, async (host) => ({
    host,
    output: await remote.capture(host, new ProxyCommands(config, host).info(), 'list the proxy container'),
  }));
}

export async function proxyLogs(
  ctx: Context,
  remote: Remote,
  options: LogsOptions,
): Promise<HostOutput[] | number> {
  const config = await ctx.config();
  const timestamps = !options.skipTimestamps;
  if (options.follow) {
    const host = config.primaryHost;
    if (!host)
      throw new UserError(
        'There is no primary host to follow the proxy logs on; check servers in the config.',
      );
    ctx.reporter.info(`Following logs on ${host}...`);
    return runInTerminal(
      new ProxyCommands(config, host).followLogs({
        timestamps,
        grep: options.grep,
        grepOptions: options.grepOptions,
      }),
    );
  }
  const lines = defaultLogLines(options);
  const hosts = await selectedProxyHosts(ctx);
  return remote.onHosts(hosts, async (host) => {
    const result = await remote.run(
      host,
      new ProxyCommands(config, host).logs({
        timestamps,
        since: options.since,
        lines,
        grep: options.grep,
        grepOptions: options.grepOptions,
      }),
      'read the proxy logs',
      { allowFailure: true },
    );
    return { host, output: result.code === 0 && result.stdout.trim() ? result.stdout : 'Nothing found' };
  });
}

/** Proxy hosts where other apps are still installed (.kamal/apps is not empty). */
export async function hostsWithApps(
  ctx: Context,
  remote: Remote,
  hosts: readonly string[],
): Promise<string[]> {
  const server = new ServerCommands(await ctx.config());
  const counts = await remote.onHosts(hosts, async (host) => {
    const result = await remote.run(host, server.appDirectoryCount(), 'count the apps', {
      allowFailure: true,
    });
    return { host, count: Number.parseInt(result.stdout.trim(), 10) || 0 };
  });
  return counts.filter((c) => c.count > 0).map((c) => c.host);
}

/**
 * `proxy remove`: stop, remove the container and image and `.kamal/proxy`;
 * not on hosts where other apps are installed unless forced. Returns false
 * when it did nothing for that reason.
 */
export async function proxyRemove(ctx: Context, remote: Remote, force: boolean): Promise<boolean> {
  const config = await ctx.config();
  const hosts = await selectedProxyHosts(ctx);
  const busy = await hostsWithApps(ctx, remote, hosts);
  if (busy.length > 0) {
    if (!force) {
      ctx.reporter.warn(
        `not removing the proxy, as other apps are installed on ${busy.join(', ')}; ignore this check with \`wharf proxy remove --force\``,
      );
      return false;
    }
    ctx.reporter.info(
      `Forcing, so removing the proxy, even though other apps are installed on ${busy.join(', ')}`,
    );
  }
  const audit = await auditor(ctx);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, 'remove wharf-proxy', async () => {
      const proxy = new ProxyCommands(config, host);
      // wharf-proxy's image has no kamal-proxy label, so its image goes by the name the container ran.
      const image = (
        await remote.run(
          host,
          `docker inspect --format '{{.Config.Image}}' ${proxy.containerName}`,
          'find the proxy image',
          { allowFailure: true },
        )
      ).stdout.trim();
      await remote.run(host, combine([audit.record('Removed proxy'), proxy.stop()]), 'stop wharf-proxy', {
        allowFailure: true,
      });
      await remote.run(host, proxy.removeContainer(), 'remove the wharf-proxy container');
      await remote.run(
        host,
        `docker container rm ${proxy.containerName} 2>/dev/null || true`,
        'remove the wharf-proxy container',
      );
      await remote.run(host, proxy.removeImage(), 'remove the wharf-proxy image', { allowFailure: true });
      if (image)
        await remote.run(host, `docker image rm ${image}`, 'remove the wharf-proxy image', {
          allowFailure: true,
        });
      await remote.run(host, proxy.removeProxyDirectory(), 'remove .kamal/proxy', { allowFailure: true });
    }),
  );
  return true;
}
