/** `wharf registry …` (Kamal's `kamal registry`). */
import { Command } from 'commander';
import { refuseLocal, registryRemove, registrySetup, type RegistryFlags } from '../deploy/registry-ops.js';
import { subcommand, withContext, type Globals } from './command-support.js';

export function registryCommand(globals: Globals): Command {
  const registry = new Command('registry')
    .description('Set up the registry, log in and out')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'registry', subcommand: sub });
  const withSkips = (command: Command) =>
    command
      .option('-L, --skip-local', 'Skip local login or the local registry')
      .option('-R, --skip-remote', 'Skip remote login');

  registry.addCommand(
    withSkips(
      subcommand(
        'setup',
        'Set up the local registry, or log in to the remote registry locally and on the servers',
      ),
    ).action((opts: RegistryFlags) =>
      withContext(globals, ctxFor('setup'), (ctx, remote) => registrySetup(ctx, remote, opts)),
    ),
  );
  registry.addCommand(
    withSkips(
      subcommand(
        'remove',
        'Remove the local registry, or log out of the remote registry locally and on the servers',
      ),
    ).action((opts: RegistryFlags) =>
      withContext(globals, ctxFor('remove'), (ctx, remote) => registryRemove(ctx, remote, opts)),
    ),
  );
  registry.addCommand(
    withSkips(subcommand('login', 'Log in to the remote registry locally and on the servers')).action(
      (opts: RegistryFlags) =>
        withContext(globals, ctxFor('login'), async (ctx, remote) => {
          await refuseLocal(ctx, 'login');
          await registrySetup(ctx, remote, opts);
        }),
    ),
  );
  registry.addCommand(
    withSkips(subcommand('logout', 'Log out of the remote registry locally and on the servers')).action(
      (opts: RegistryFlags) =>
        withContext(globals, ctxFor('logout'), async (ctx, remote) => {
          await refuseLocal(ctx, 'logout');
          await registryRemove(ctx, remote, opts);
        }),
    ),
  );
  return registry;
}
