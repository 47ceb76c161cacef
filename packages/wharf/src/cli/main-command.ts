/** Kamal's top-level audit, details, remove and setup. */
import { Command } from 'commander';
import { AUTOMATIC_DEPLOY_LOCK_MESSAGE } from '../commands/lock.js';
import { appDetails } from '../deploy/app-ops.js';
import { deploy, formatSummary } from '../deploy/deploy.js';
import { acquireLock, releaseLock, withLock } from '../deploy/lock.js';
import { audit, removeEverything } from '../deploy/main-ops.js';
import { proxyDetails } from '../deploy/proxy-ops.js';
import { Remote } from '../deploy/remote.js';
import { serverBootstrap } from '../deploy/server-ops.js';
import { Context } from '../runtime/context.js';
import { confirm, printByHost, subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

/**
 * Where `setup` boots accessories (between server bootstrap and deploy, with
 * the lock held): every accessory, booted by deploy/accessory-ops.ts.
 */
export type SetupAccessories = (ctx: Context, remote: Remote) => Promise<void>;
export let bootAccessoriesForSetup: SetupAccessories = async (ctx, remote) =>
  (await import('../deploy/accessory-ops.js')).bootAllAccessories(ctx, remote);
export function setSetupAccessories(fn: SetupAccessories): void {
  bootAccessoriesForSetup = fn;
}

export function mainCommands(globals: Globals): Command[] {
  const auditCommand = subcommand('audit', 'Show audit log from servers').action(() =>
    withContext(globals, { command: 'audit' }, async (ctx, remote) =>
      printByHost(ctx, await audit(ctx, remote)),
    ),
  );
  const detailsCommand = subcommand('details', 'Show details about all containers').action(() =>
    withContext(globals, { command: 'details' }, async (ctx, remote) => {
      printByHost(ctx, await proxyDetails(ctx, remote), 'Proxy');
      printByHost(ctx, await appDetails(ctx, remote));
      const { accessoryDetails } = await import('../deploy/accessory-ops.js');
      for (const group of await accessoryDetails(ctx, remote, 'all'))
        printByHost(ctx, group.items, group.type);
    }),
  );
  const removeCommand = addLockWaitOptions(
    subcommand('remove', 'Remove proxy, app, accessories, and registry session from servers').option(
      '-y, --confirmed',
      'Proceed without confirmation question',
    ),
  ).action(async (opts: LockWaitFlags & { confirmed?: boolean }) => {
    if (
      !(await confirm(
        'This will remove all containers and images. Are you sure?',
        '`wharf remove`',
        opts.confirmed,
      ))
    )
      return;
    await withContext(globals, { command: 'remove' }, (ctx, remote) =>
      withLock(ctx, remote, lockWaitFrom(opts), () => removeEverything(ctx, remote)),
    );
  });
  const setupCommand = addLockWaitOptions(
    subcommand('setup', 'Set up the servers (Docker) and deploy the app')
      .option('-P, --skip-push', 'Skip the image build and push (pull the existing image)')
      .option('--no-cache', 'Build the image without the build cache')
      .option('--json', 'Print progress and the summary as JSON events (one per line)'),
  ).action(async (opts: LockWaitFlags & { skipPush?: boolean; cache?: boolean; json?: boolean }) => {
    const ctx = new Context({ flags: { ...globals(), json: opts.json } });
    ctx.command = 'setup';
    const remote = await Remote.of(ctx);
    let locked = false;
    try {
      if (!ctx.holdingLock) {
        await acquireLock(ctx, remote, AUTOMATIC_DEPLOY_LOCK_MESSAGE, lockWaitFrom(opts));
        locked = true;
      }
      await serverBootstrap(ctx, remote);
      await bootAccessoriesForSetup(ctx, remote);
      // deploy sees the held lock (re-entrant) and closes ctx when done; the post-deploy hook runs with the lock held, as in Kamal.
      const summary = await deploy(ctx, { skipPush: opts.skipPush, noCache: opts.cache === false });
      ctx.reporter.emit('summary', { ...summary });
      if (ctx.reporter.mode !== 'json') ctx.reporter.result(formatSummary(summary));
    } finally {
      await ctx.close();
      if (locked) {
        const release = new Context({ flags: { ...globals(), quiet: true } });
        try {
          await releaseLock(release, await Remote.of(release));
        } finally {
          await release.close();
        }
      }
    }
  });
  const upgradeCommand = addLockWaitOptions(
    subcommand('upgrade', 'Upgrade from Kamal 1.x to 2.0')
      .option('-y, --confirmed', 'Proceed without confirmation question')
      .option('--rolling', 'Upgrade one host at a time'),
  ).action(async (opts: LockWaitFlags & { confirmed?: boolean; rolling?: boolean }) => {
    if (
      !(await confirm(
        'This will replace Traefik with kamal-proxy and restart all accessories. Are you sure?',
        '`wharf upgrade`',
        opts.confirmed,
      ))
    )
      return;
    await withContext(globals, { command: 'upgrade' }, async (ctx, remote) => {
      const { upgrade } = await import('../deploy/upgrade-ops.js');
      await withLock(ctx, remote, lockWaitFrom(opts), async () => {
        await upgrade(ctx, remote, Boolean(opts.rolling));
      });
    });
  });
  return [auditCommand, detailsCommand, removeCommand, setupCommand, upgradeCommand];
}
