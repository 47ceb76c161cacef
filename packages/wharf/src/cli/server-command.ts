/** `wharf server exec|bootstrap` (Kamal's `kamal server`). */
import { Command } from 'commander';
import { withLock } from '../deploy/lock.js';
import { serverBootstrap, serverExec } from '../deploy/server-ops.js';
import { finish } from './app-command.js';
import { subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

export function serverCommand(globals: Globals): Command {
  const server = new Command('server')
    .description('Bootstrap servers with Docker, run commands on them')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'server', subcommand: sub });
  server.addCommand(
    subcommand('exec', 'Run a custom command on the servers')
      .argument('<cmd...>', 'the command and its arguments')
      .option('-i, --interactive', 'Run the command interactively (over ssh -t on the primary host)')
      .action((cmd: string[], opts: { interactive?: boolean }) =>
        withContext(globals, ctxFor('exec'), async (ctx, remote) =>
          finish(ctx, await serverExec(ctx, remote, cmd, Boolean(opts.interactive))),
        ),
      ),
  );
  server.addCommand(
    addLockWaitOptions(subcommand('bootstrap', 'Set up Docker to run wharf apps')).action(
      (opts: LockWaitFlags) =>
        withContext(globals, ctxFor('bootstrap'), (ctx, remote) =>
          withLock(ctx, remote, lockWaitFrom(opts), () => serverBootstrap(ctx, remote)),
        ),
    ),
  );
  return server;
}
