/** `wharf prune all|images|containers` (Kamal's `kamal prune`). */
import { Command } from 'commander';
import { withLock } from '../deploy/lock.js';
import { pruneAll, pruneContainers, pruneImages } from '../deploy/prune.js';
import { parseCount } from './app-command.js';
import { subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

export function pruneCommand(globals: Globals): Command {
  const prune = new Command('prune')
    .description('Prune old application images and containers')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'prune', subcommand: sub });
  prune.addCommand(
    addLockWaitOptions(subcommand('all', 'Prune unused images and stopped containers')).action(
      (opts: LockWaitFlags) =>
        withContext(globals, ctxFor('all'), (ctx, remote) =>
          withLock(ctx, remote, lockWaitFrom(opts), () => pruneAll(ctx, remote)),
        ),
    ),
  );
  prune.addCommand(
    addLockWaitOptions(subcommand('images', 'Prune unused images')).action((opts: LockWaitFlags) =>
      withContext(globals, ctxFor('images'), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () => pruneImages(ctx, remote)),
      ),
    ),
  );
  prune.addCommand(
    addLockWaitOptions(
      subcommand('containers', 'Prune all stopped containers, except the last n (default 5)').option(
        '--retain <n>',
        'Number of containers to retain (default: retain_containers from the config)',
        parseCount('--retain', 1),
      ),
    ).action((opts: LockWaitFlags & { retain?: number }) =>
      withContext(globals, ctxFor('containers'), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () => pruneContainers(ctx, remote, opts.retain)),
      ),
    ),
  );
  return prune;
}
