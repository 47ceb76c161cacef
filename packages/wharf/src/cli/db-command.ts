/** `wharf db …`: the HA Postgres tier declared in `x-wharf-db:` (see docs/db.md). */
import { Command } from 'commander';
import { resolveDbTier, nodeNamed } from '../db/config.js';
import { dbFailover, dbSwitchover, dbUnfence } from '../db/promote-ops.js';
import { dbRejoin, dbSetup } from '../db/setup-ops.js';
import { dbStatus, formatStatus } from '../db/status-ops.js';
import { withLock } from '../deploy/lock.js';
import { confirm, subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './deploy-command.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

export function dbCommand(globals: Globals): Command {
  const db = new Command('db')
    .description('Run the HA Postgres tier: streaming standby, write VIP, switchover and failover')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string, json?: boolean) => ({ command: 'db', subcommand: sub, json });

  db.addCommand(
    addLockWaitOptions(
      subcommand(
        'setup',
        'Boot the primary, clone and start each standby, pgbouncer per node and the HAProxy write VIP',
      ),
    ).action((opts: LockWaitFlags) =>
      withContext(globals, ctxFor('setup'), async (ctx, remote) => {
        const tier = resolveDbTier(await ctx.config());
        await withLock(ctx, remote, lockWaitFrom(opts), () => dbSetup(ctx, remote, tier));
      }),
    ),
  );

  db.addCommand(
    subcommand('status', "Show each node's role, timeline, LSNs and lag, and HAProxy's view")
      .option('--json', 'Print one JSON document')
      .action((opts: { json?: boolean }) =>
        withContext(globals, ctxFor('status'), async (ctx, remote) => {
          const tier = resolveDbTier(await ctx.config());
          const status = await dbStatus(remote, tier);
          if (opts.json) process.stdout.write(`${JSON.stringify(status)}\n`);
          else ctx.reporter.result(ctx.redact(formatStatus(status)));
          if (status.problems.length > 0) process.exitCode = 2;
        }),
      ),
  );

  db.addCommand(
    addLockWaitOptions(
      subcommand(
        'switchover',
        'Planned change of primary: fence, catch up, promote, re-point the old primary',
      )
        .option('--to <node>', 'The standby to promote (default: the most caught-up one)')
        .option('--json', 'Print the result as JSON events')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(async (opts: LockWaitFlags & { to?: string; json?: boolean; confirmed?: boolean }) => {
      if (
        !(await confirm(
          'Writes pause for a few seconds during the switchover. Go ahead?',
          '`wharf db switchover`',
          opts.confirmed,
        ))
      )
        return;
      await withContext(globals, ctxFor('switchover', opts.json), async (ctx, remote) => {
        const tier = resolveDbTier(await ctx.config());
        await withLock(ctx, remote, lockWaitFrom(opts), () =>
          dbSwitchover(ctx, remote, tier, { to: opts.to }),
        );
      });
    }),
  );

  db.addCommand(
    subcommand(
      'failover',
      "Unplanned: promote a standby when the primary's server is gone, and fence the old primary",
    )
      .option('--to <node>', 'The standby to promote (default: the one that received the most WAL)')
      .option('--force', 'Promote even though the primary still answers (it is fenced)')
      .option('--json', 'Print the result as JSON events')
      .option('-y, --confirmed', 'Proceed without confirmation question')
      .action(async (opts: { to?: string; force?: boolean; json?: boolean; confirmed?: boolean }) => {
        if (
          !(await confirm(
            'Promote a standby and fence the old primary?',
            '`wharf db failover`',
            opts.confirmed,
          ))
        )
          return;
        // No deploy lock: it lives on the app's primary host, which may be the server that is gone.
        await withContext(globals, ctxFor('failover', opts.json), async (ctx, remote) => {
          const tier = resolveDbTier(await ctx.config());
          await dbFailover(ctx, remote, tier, { to: opts.to, force: opts.force });
        });
      }),
  );

  db.addCommand(
    addLockWaitOptions(
      subcommand(
        'rejoin',
        'Rebuild NODE as a standby of the current primary (fresh base backup; its data is replaced)',
      )
        .argument('<node>', 'the accessory name of the node')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(async (node: string, opts: LockWaitFlags & { confirmed?: boolean }) => {
      if (
        !(await confirm(
          `This replaces the data of ${node} with a copy of the primary. Go ahead?`,
          '`wharf db rejoin`',
          opts.confirmed,
        ))
      )
        return;
      await withContext(globals, ctxFor('rejoin'), async (ctx, remote) => {
        const tier = resolveDbTier(await ctx.config());
        await withLock(ctx, remote, lockWaitFrom(opts), () =>
          dbRejoin(ctx, remote, tier, nodeNamed(tier, node, 'db rejoin')),
        );
      });
    }),
  );

  db.addCommand(
    subcommand('unfence', 'Let a fenced primary accept writes again (after an interrupted switchover)')
      .argument('<node>', 'the accessory name of the node')
      .action((node: string) =>
        withContext(globals, ctxFor('unfence'), async (ctx, remote) => {
          const tier = resolveDbTier(await ctx.config());
          await dbUnfence(ctx, remote, tier, nodeNamed(tier, node, 'db unfence'));
        }),
      ),
  );
  return db;
}
