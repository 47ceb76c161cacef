/** `wharf lock acquire|release|status` (Kamal's `kamal lock`). */
import { Command } from 'commander';
import { Auditor } from '../commands/auditor.js';
import { acquireLock, lockHost, lockStatus, releaseLock } from '../deploy/lock.js';
import { subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

export const NO_LOCK = 'There is no deploy lock';

export function lockCommand(globals: Globals): Command {
  const lock = new Command('lock')
    .description('Manage the deploy lock')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'lock', subcommand: sub });
  lock.addCommand(
    subcommand('status', 'Report the lock status').action(() =>
      withContext(globals, ctxFor('status'), async (ctx, remote) => {
        ctx.reporter.result((await lockStatus(ctx, remote)) ?? NO_LOCK);
      }),
    ),
  );
  lock.addCommand(
    addLockWaitOptions(
      subcommand('acquire', 'Acquire the deploy lock').requiredOption(
        '-m, --message <message>',
        'A lock message',
      ),
    ).action((opts: LockWaitFlags & { message: string }) =>
      withContext(globals, ctxFor('acquire'), async (ctx, remote) => {
        await acquireLock(ctx, remote, opts.message, lockWaitFrom(opts));
        const host = await lockHost(ctx);
        await remote.run(
          host,
          new Auditor(await ctx.config(), await ctx.stamp()).record(
            `Acquired the deploy lock: ${opts.message}`,
          ),
          'write the audit log',
        );
        ctx.reporter.result('Acquired the deploy lock');
      }),
    ),
  );
  lock.addCommand(
    subcommand('release', 'Release the deploy lock').action(() =>
      withContext(globals, ctxFor('release'), async (ctx, remote) => {
        if ((await lockStatus(ctx, remote)) === undefined) {
          ctx.reporter.result(NO_LOCK);
          return;
        }
        const host = await lockHost(ctx);
        await remote.run(
          host,
          new Auditor(await ctx.config(), await ctx.stamp()).record('Released the deploy lock'),
          'write the audit log',
        );
        await releaseLock(ctx, remote);
        ctx.reporter.result('Released the deploy lock');
      }),
    ),
  );
  return lock;
}
