/**
 * `server exec` and `server bootstrap` (Kamal's Cli::Server): a shell
 * command on every selected host (audited), or interactively on the primary
 * host over `ssh -t`; Docker installed where it is missing and the SSH user
 * may install it, then the docker-setup hook.
 */
import { Auditor } from '../commands/auditor.js';
import { runOverSsh } from '../commands/base.js';
import * as dockerCommands from '../commands/docker.js';
import { ServerCommands } from '../commands/server.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { runConfiguredHook } from './hook-env.js';
import { runInTerminal } from './local-terminal.js';
import type { Remote } from './remote.js';

export async function serverExec(
  ctx: Context,
  remote: Remote,
  command: string[],
  interactive: boolean,
): Promise<HostOutput[] | number> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const cmd = command.join(' ');
  if (!cmd.trim()) throw new UserError('Give the command to run, e.g. `wharf server exec date`.');
  if (interactive) {
    const host = selection.primaryHost ?? selection.hosts[0];
    if (!host)
      throw new UserError('No host is selected to run the command on; check servers and the -h/-r filters.');
    ctx.reporter.info(`Running '${cmd}' on ${host} interactively...`);
    return runInTerminal(runOverSsh(config, cmd, host));
  }
  const hosts = selection.hosts;
  ctx.reporter.info(`Running '${cmd}' on ${hosts.join(', ')}...`);
  const stamp = await ctx.stamp();
  return remote.onHosts(hosts, async (host) => {
    await remote.run(
      host,
      new Auditor(config, stamp).record(`Executed cmd '${cmd}' on ${host}`),
      'write the audit log',
    );
    const result = await remote.run(host, cmd, `run '${cmd}'`);
    return { host, output: `${result.stdout}${result.stderr && !result.stdout ? result.stderr : ''}` };
  });
}

/** Installs Docker where it is missing (as root, or with passwordless sudo), then runs the docker-setup hook. */
export async function serverBootstrap(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const hosts = (await ctx.selection()).hosts;
  const missing: string[] = [];
  const server = new ServerCommands(config);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, 'check Docker', async () => {
      const installed = await remote.run(host, dockerCommands.installed(), 'check for Docker', {
        allowFailure: true,
      });
      if (installed.code !== 0) {
        const superuser = await remote.run(host, dockerCommands.superuser(), 'check for root or sudo', {
          allowFailure: true,
        });
        if (superuser.code !== 0) {
          missing.push(host);
          return;
        }
        ctx.reporter.info(`  Missing Docker on ${host}. Installing…`);
        await remote.run(host, dockerCommands.install(), 'install Docker', { timeoutMs: 15 * 60_000 });
        const root = await remote.run(host, dockerCommands.root(), 'check for root', { allowFailure: true });
        const inGroup =
          root.code === 0
            ? root
            : await remote.run(host, dockerCommands.inDockerGroup(), 'check the docker group', {
                allowFailure: true,
              });
        if (inGroup.code !== 0) {
          await remote.run(host, dockerCommands.addToDockerGroup(), 'add the SSH user to the docker group');
          // Ends this SSH session so the next command logs in again with the new group; the pool reconnects.
          await remote
            .run(host, dockerCommands.refreshSession(), 'refresh the SSH session', { allowFailure: true })
            .catch(() => undefined);
        }
      }
      await remote.run(host, server.ensureRunDirectory(), 'create the .kamal directory');
    }),
  );
  if (missing.length > 0) {
    throw new UserError(
      `Docker is not installed on ${missing.join(', ')} and can't be installed automatically without root access or passwordless sudo; install Docker there (or log in as root) and run \`wharf server bootstrap\` again.`,
    );
  }
  await runConfiguredHook(ctx, 'docker-setup');
}
