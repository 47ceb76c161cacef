/**
 * `deploy`, `redeploy` and `rollback`. The deploy code, the config loader and
 * the SSH client are imported when one of them runs, so building the commands
 * (and `wharf deploy --help`) loads only commander and this file.
 */
import { Command } from 'commander';
import type { DeploySummary } from '../deploy/deploy.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { addLockWaitOptions, lockWaitFrom, type LockWaitFlags } from './lock-wait.js';
import type { GlobalFlags } from './program.js';

export { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

async function report(ctx: Context, summary: DeploySummary): Promise<void> {
  const { formatSummary } = await import('../deploy/deploy.js');
  ctx.reporter.emit('summary', { ...summary });
  if (ctx.reporter.mode !== 'json') ctx.reporter.result(formatSummary(summary));
}

type DeployFlags = LockWaitFlags & { skipPush?: boolean; cache?: boolean; json?: boolean };

function deployLike(name: 'deploy' | 'redeploy', description: string, globals: () => GlobalFlags): Command {
  const command = new Command(name)
    .description(description)
    .helpOption('--help', 'Show help for this command')
    .option('-P, --skip-push', 'Skip the image build and push (pull the existing image)')
    .option('--no-cache', 'Build the image without the build cache')
    .option('--json', 'Print progress and the summary as JSON events (one per line)');
  addLockWaitOptions(command).action(async (opts: DeployFlags) => {
    const [{ Context }, { deploy }] = await Promise.all([
      import('../runtime/context.js'),
      import('../deploy/deploy.js'),
    ]);
    const ctx = new Context({ flags: { ...globals(), json: opts.json } });
    ctx.command = name;
    const summary = await deploy(ctx, {
      skipPush: opts.skipPush,
      noCache: opts.cache === false,
      redeploy: name === 'redeploy',
      lockWait: lockWaitFrom(opts),
    });
    await report(ctx, summary);
  });
  return command;
}

/** The newest version of the primary role on the primary host that is not the running one. */
async function previousVersion(ctx: Context): Promise<string> {
  const config = await ctx.config();
  const host = config.primaryHost;
  const role = config.primaryRole;
  if (!host || !role)
    throw new UserError(
      'There is no primary host to find the previous version on; pass the VERSION to roll back to.',
    );
  const [{ Remote }, { AppCommands }] = await Promise.all([
    import('../deploy/remote.js'),
    import('../commands/app.js'),
  ]);
  const remote = await Remote.of(ctx);
  const app = new AppCommands(config, { role, host });
  const current = await remote.capture(host, app.currentRunningVersion(), 'find the running version');
  const versions = (await remote.capture(host, app.listVersions(['--all']), 'list versions'))
    .split('\n')
    .map((v) => v.trim());
  const previous = versions.find((v) => v && v !== current && !/_(replaced|failed)_[0-9a-f]{16}$/.test(v));
  if (!previous) {
    throw new UserError(
      `No earlier version of ${role.name} is left on ${host} to roll back to; run \`wharf app containers\` to see what is there.`,
    );
  }
  return previous;
}

export function deployCommands(globals: () => GlobalFlags): Command[] {
  const rollbackCommand = new Command('rollback')
    .description('Roll back to VERSION (default: the previous version still on the servers)')
    .helpOption('--help', 'Show help for this command')
    .argument('[version]', 'the version to roll back to')
    .option('--json', 'Print progress and the summary as JSON events');
  addLockWaitOptions(rollbackCommand).action(
    async (version: string | undefined, opts: LockWaitFlags & { json?: boolean }) => {
      const [{ Context }, { rollback }] = await Promise.all([
        import('../runtime/context.js'),
        import('../deploy/deploy.js'),
      ]);
      let target = version;
      if (!target) {
        const probe = new Context({ flags: { ...globals(), quiet: true } });
        try {
          target = await previousVersion(probe);
        } finally {
          await probe.close();
        }
      }
      const ctx = new Context({ flags: { ...globals(), version: target, json: opts.json } });
      ctx.command = 'rollback';
      const summary = await rollback(ctx, lockWaitFrom(opts));
      await report(ctx, summary);
    },
  );
  return [
    deployLike(
      'deploy',
      'Build and push the image, then roll it out to every server with zero downtime',
      globals,
    ),
    deployLike(
      'redeploy',
      'Deploy without booting the proxy or pruning (faster, for quick iterations)',
      globals,
    ),
    rollbackCommand,
  ];
}
