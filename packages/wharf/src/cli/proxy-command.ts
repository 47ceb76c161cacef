/** `wharf proxy …` (Kamal's `kamal proxy`). */
import { Command, Option } from 'commander';
import { withLock } from '../deploy/lock.js';
import { bootProxy } from '../deploy/proxy.js';
import {
  proxyDetails,
  proxyLogs,
  proxyReboot,
  proxyRemove,
  proxyStart,
  proxyStop,
} from '../deploy/proxy-ops.js';
import type { LogsOptions } from '../deploy/app-ops.js';
import { finish, parseCount } from './app-command.js';
import { confirm, printByHost, subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';
import { UserError } from '../util/errors.js';
import type { BootConfigOptions } from '../commands/proxy.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

export function proxyCommand(globals: Globals): Command {
  const proxy = new Command('proxy')
    .description('Manage wharf-proxy (kamal-proxy)')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'proxy', subcommand: sub });
  const locked = (sub: string, description: string, run: Parameters<typeof withContext<void>>[2]) =>
    addLockWaitOptions(subcommand(sub, description)).action((opts: LockWaitFlags) =>
      withContext(globals, ctxFor(sub), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () => run(ctx, remote)),
      ),
    );

  proxy.addCommand(locked('boot', 'Boot the proxy on the servers', (ctx, remote) => bootProxy(ctx, remote)));
  proxy.addCommand(
    addLockWaitOptions(
      subcommand(
        'reboot',
        'Reboot the proxy on the servers (stop container, remove container, start new container)',
      )
        .option('--rolling', 'Reboot the proxy on the hosts one at a time')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(async (opts: LockWaitFlags & { rolling?: boolean; confirmed?: boolean }) => {
      if (
        !(await confirm(
          'This will cause a brief outage on each host. Are you sure?',
          '`wharf proxy reboot`',
          opts.confirmed,
        ))
      )
        return;
      await withContext(globals, ctxFor('reboot'), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () => proxyReboot(ctx, remote, Boolean(opts.rolling))),
      );
    }),
  );
  proxy.addCommand(locked('start', 'Start the existing proxy container on the servers', proxyStart));
  proxy.addCommand(locked('stop', 'Stop the existing proxy container on the servers', proxyStop));
  proxy.addCommand(
    locked('restart', 'Restart the existing proxy container on the servers', async (ctx, remote) => {
      await proxyStop(ctx, remote);
      await proxyStart(ctx, remote);
    }),
  );
  proxy.addCommand(
    subcommand('details', 'Show details about the proxy container from the servers').action(() =>
      withContext(globals, ctxFor('details'), async (ctx, remote) =>
        printByHost(ctx, await proxyDetails(ctx, remote), 'Proxy'),
      ),
    ),
  );
  proxy.addCommand(
    subcommand('logs', 'Show log lines from the proxy on the servers')
      .option(
        '-s, --since <time>',
        'Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m for 42 minutes)',
      )
      .option('-n, --lines <n>', 'Number of lines to show from each server', parseCount('--lines'))
      .option(
        '-g, --grep <pattern>',
        'Show lines with grep match only (use this to fetch specific requests by id)',
      )
      .option('--grep-options <options>', 'Additional options supplied to grep')
      .option('-f, --follow', 'Follow the logs on the primary server (or the specific host set by --hosts)')
      .option('-T, --skip-timestamps', 'Skip appending timestamps to logging output')
      .action((opts: LogsOptions) =>
        withContext(globals, ctxFor('logs'), async (ctx, remote) =>
          finish(ctx, await proxyLogs(ctx, remote, opts), 'Proxy'),
        ),
      ),
  );
  proxy.addCommand(
    addLockWaitOptions(
      subcommand('remove', 'Remove proxy container and image from the servers').option(
        '--force',
        'Force removing the proxy even when other apps are installed',
      ),
    ).action((opts: LockWaitFlags & { force?: boolean }) =>
      withContext(globals, ctxFor('remove'), (ctx, remote) =>
        withLock(
          ctx,
          remote,
          lockWaitFrom(opts),
          async () => void (await proxyRemove(ctx, remote, Boolean(opts.force))),
        ),
      ),
    ),
  );
  proxy.addCommand(
    subcommand('boot_config', 'Manage kamal-proxy boot configuration')
      .argument('<set|get|reset>', 'set: write the settings; get: show them; reset: back to the defaults')
      .option('--publish', 'Publish the proxy ports on the host (default)')
      .option('--no-publish', "Don't publish the proxy ports on the host")
      .option(
        '--publish-host-ip <ip>',
        'Host IP address to bind HTTP/HTTPS traffic to (repeatable; default: all interfaces)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .addOption(
        new Option('--http-port <port>', 'HTTP port to publish on the host')
          .default(80)
          .argParser(parseCount('--http-port', 1)),
      )
      .addOption(
        new Option('--https-port <port>', 'HTTPS port to publish on the host')
          .default(443)
          .argParser(parseCount('--https-port', 1)),
      )
      .option('--log-max-size <size>', 'Max size of proxy logs', '10m')
      .option('--registry <registry>', 'Registry to use for the proxy image')
      .option('--repository <repository>', 'Repository for the proxy image')
      .option('--image-version <version>', 'Version of the proxy to run')
      .addOption(
        new Option('--metrics-port <port>', 'Port to report prometheus metrics on').argParser(
          parseCount('--metrics-port', 1),
        ),
      )
      .option('--debug', 'Whether to run the proxy in debug mode')
      .option(
        '--docker-options <option=value...>',
        'Docker options to pass to the proxy container (each as option=value)',
      )
      .action(async (sub: string, opts: BootConfigFlags) => {
        if (!['set', 'get', 'reset'].includes(sub))
          throw new UserError(`Unknown boot_config subcommand ${sub}; use set, get or reset.`);
        await withContext(globals, ctxFor('boot_config'), async (ctx, remote) => {
          const ops = await import('../deploy/upgrade-ops.js');
          ctx.reporter.warn(ops.BOOT_CONFIG_DEPRECATION);
          if (sub === 'set')
            await ops.proxyBootConfigSet(ctx, remote, {
              publish: opts.publish,
              publishHostIps: opts.publishHostIp,
              httpPort: opts.httpPort,
              httpsPort: opts.httpsPort,
              logMaxSize: opts.logMaxSize,
              registry: opts.registry,
              repository: opts.repository,
              imageVersion: opts.imageVersion,
              metricsPort: opts.metricsPort,
              debug: opts.debug,
              dockerOptions: opts.dockerOptions,
            });
          else if (sub === 'get') {
            const lines = await ops.proxyBootConfigGet(ctx, remote);
            if (lines.length > 0) ctx.reporter.result(ctx.redact(lines.join('\n')));
          } else await ops.proxyBootConfigReset(ctx, remote);
        });
      }),
  );
  proxy.addCommand(
    addLockWaitOptions(
      subcommand(
        'upgrade',
        'Upgrade to kamal-proxy on servers (stop container, remove container, start new container, reboot app)',
      )
        .option('--rolling', 'Reboot proxy on hosts in sequence, rather than in parallel')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(async (opts: LockWaitFlags & { rolling?: boolean; confirmed?: boolean }) => {
      if (
        !(await confirm(
          'This will cause a brief outage on each host. Are you sure?',
          '`wharf proxy upgrade`',
          opts.confirmed,
        ))
      )
        return;
      await withContext(globals, ctxFor('upgrade'), async (ctx, remote) => {
        const { proxyUpgrade } = await import('../deploy/upgrade-ops.js');
        await withLock(ctx, remote, lockWaitFrom(opts), () =>
          proxyUpgrade(ctx, remote, Boolean(opts.rolling)),
        );
      });
    }),
    { hidden: true },
  );
  return proxy;
}

/** commander's names for `boot_config set`'s options: Kamal's repeatable `--publish-host-ip`. */
type BootConfigFlags = Omit<BootConfigOptions, 'publishHostIps'> & { publishHostIp?: string[] };
