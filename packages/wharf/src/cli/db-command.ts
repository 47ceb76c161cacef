/** `wharf db …`: the HA Postgres tier declared in `x-wharf-db:` (see docs/db.md). */
import { Command } from 'commander';
import { DB_CONFIG_KEY, resolveDbTier, nodeNamed } from '../db/config.js';
import { dbFailover, dbSwitchover, dbUnfence } from '../db/promote-ops.js';
import { dbRejoin } from '../db/rejoin-ops.js';
import { dbSetup } from '../db/setup-ops.js';
import { dbBackup, dbBackups, dbPrune, dbRestorePitr, parseKeep } from '../db/backup/index.js';
import { restoreDump } from '../db/dump-restore/index.js';
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
        'Make NODE a standby of the current primary again: pg_rewind when it still has its data, else a fresh base backup',
      )
        .argument('<node>', 'the accessory name of the node')
        .option('--copy', 'Skip pg_rewind and always take a fresh base backup of the primary')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(async (node: string, opts: LockWaitFlags & { confirmed?: boolean; copy?: boolean }) => {
      if (
        !(await confirm(
          opts.copy
            ? `This replaces the data of ${node} with a copy of the primary. Go ahead?`
            : `This discards what ${node} wrote after it left the primary's timeline (pg_rewind, else a fresh copy of the primary). Go ahead?`,
          '`wharf db rejoin`',
          opts.confirmed,
        ))
      )
        return;
      await withContext(globals, ctxFor('rejoin'), async (ctx, remote) => {
        const tier = resolveDbTier(await ctx.config());
        await withLock(ctx, remote, lockWaitFrom(opts), () =>
          dbRejoin(ctx, remote, tier, nodeNamed(tier, node, 'db rejoin'), { copy: opts.copy === true }),
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
  db.addCommand(
    addLockWaitOptions(
      subcommand(
        'backup',
        'Take a base backup off a standby into the backup repository (WAL is archived continuously)',
      ),
    )
      .option(
        '--from <node>',
        'The node pg_basebackup reads from (default: the backup node, x-wharf-db.backup.from or the first standby)',
      )
      .action((opts: LockWaitFlags & { from?: string }) =>
        withContext(globals, ctxFor('backup'), async (ctx, remote) => {
          const tier = resolveDbTier(await ctx.config());
          await withLock(ctx, remote, lockWaitFrom(opts), () =>
            dbBackup(ctx, remote, tier, { from: opts.from }),
          );
        }),
      ),
  );

  db.addCommand(
    subcommand('backups', 'List the base backups and the archived WAL range in the backup repository')
      .option('--json', 'Print one JSON document')
      .action((opts: { json?: boolean }) =>
        withContext(globals, ctxFor('backups'), async (ctx, remote) => {
          const tier = resolveDbTier(await ctx.config());
          await dbBackups(ctx, remote, tier, { json: opts.json });
        }),
      ),
  );

  db.addCommand(
    addLockWaitOptions(
      subcommand('prune', 'Keep the newest N base backups; delete older ones and the WAL only they need'),
    )
      .option('--keep <n>', 'How many of the newest base backups to keep (at least 1)')
      .option('--dry-run', 'Only show what would be deleted')
      .option('--json', 'Print one JSON document')
      .option('-y, --confirmed', 'Proceed without confirmation question')
      .action(
        async (
          opts: LockWaitFlags & { keep?: string; dryRun?: boolean; json?: boolean; confirmed?: boolean },
        ) => {
          const keep = parseKeep(opts.keep);
          if (
            !opts.dryRun &&
            !(await confirm(
              `This deletes every base backup but the newest ${keep}, and the archived WAL only they need. Go ahead?`,
              '`wharf db prune`',
              opts.confirmed,
            ))
          )
            return;
          await withContext(globals, ctxFor('prune'), async (ctx, remote) => {
            const tier = resolveDbTier(await ctx.config());
            await withLock(ctx, remote, lockWaitFrom(opts), () =>
              dbPrune(ctx, remote, tier, { keep, dryRun: opts.dryRun, json: opts.json }),
            );
          });
        },
      ),
  );

  db.addCommand(
    subcommand(
      'restore',
      'Restore into an accessory: to a point in time from the backup repository, or a dump with fast + deferred loading',
    )
      .requiredOption('--into <accessory>', 'The accessory to restore into')
      .option(
        '--time <timestamp>',
        'Point-in-time target with a time zone, e.g. 2026-11-27T05:01:02Z (default: the end of the archived WAL)',
      )
      .option('--dump <file>', 'Restore this pg_dump custom-format file instead (fast + deferred)')
      .option('--from-node <node>', "Dump this node's database now and restore it (fast + deferred)")
      .option(
        '--defer-over <size>',
        'Fast + deferred: tables bigger than this load in the background',
        '64MB',
      )
      .option('--wait', 'Fast + deferred: return only when the deferred tables are loaded')
      .option(
        '--defer <tables>',
        'Fast + deferred: load exactly these tables (comma-separated) in the background',
      )
      .option('--jobs <n>', 'Fast + deferred: parallel pg_restore jobs in each phase (default 2)')
      .option('--status', 'Fast + deferred: show the progress of the last restore into the accessory')
      .option('-y, --confirmed', 'Proceed without confirmation question')
      .action(
        async (opts: {
          into: string;
          time?: string;
          dump?: string;
          fromNode?: string;
          deferOver?: string;
          wait?: boolean;
          defer?: string;
          jobs?: string;
          status?: boolean;
          confirmed?: boolean;
        }) => {
          if (
            !opts.status &&
            !(await confirm(
              `This replaces the data of accessory ${opts.into}. Go ahead?`,
              '`wharf db restore`',
              opts.confirmed,
            ))
          )
            return;
          await withContext(globals, ctxFor('restore'), async (ctx, remote) => {
            const config = await ctx.config();
            if (opts.dump !== undefined || opts.fromNode !== undefined || opts.status) {
              const tier =
                (config.raw as Record<string, unknown>)[DB_CONFIG_KEY] === undefined
                  ? undefined
                  : resolveDbTier(config);
              await restoreDump(ctx, remote, tier, {
                into: opts.into,
                dump: opts.dump,
                fromNode: opts.fromNode,
                deferOver: opts.deferOver,
                wait: opts.wait,
                defer: opts.defer,
                jobs: opts.jobs,
                status: opts.status,
              });
            } else {
              await dbRestorePitr(ctx, remote, resolveDbTier(config), { into: opts.into, time: opts.time });
            }
          });
        },
      ),
  );
  return db;
}
