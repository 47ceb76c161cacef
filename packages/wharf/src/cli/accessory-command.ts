/** `wharf accessory …` (Kamal's `kamal accessory`). */
import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import {
  accessoryBoot,
  accessoryDetails,
  accessoryExec,
  accessoryLogs,
  accessoryReboot,
  accessoryRemove,
  accessoryRestart,
  accessoryStart,
  accessoryStop,
  accessoryUpgrade,
  describeRemoval,
  removalPlan,
} from '../deploy/accessory-ops.js';
import type { LogsOptions } from '../deploy/app-ops.js';
import { withLock } from '../deploy/lock.js';
import type { Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { finish, parseCount } from './app-command.js';
import { isYes, printByHost, subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

/**
 * Asks `question [y/N]` on a terminal; without one, refuses with a sentence
 * that says what would have happened and that nothing was changed.
 */
async function confirmOrRefuse(
  question: string,
  refusal: string,
  confirmed: boolean | undefined,
): Promise<boolean> {
  if (confirmed) return true;
  if (!process.stdin.isTTY) throw new UserError(refusal);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const yes = isYes(await rl.question(`${question} [y/N] `));
    if (!yes) process.stderr.write('Aborted\n');
    return yes;
  } finally {
    rl.close();
  }
}

export function accessoryCommand(globals: Globals): Command {
  const accessory = new Command('accessory')
    .description('Manage accessories (db/redis/search)')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string) => ({ command: 'accessory', subcommand: sub });
  /** A subcommand that changes the hosts: run with the deploy lock held. */
  const locked = (
    sub: string,
    description: string,
    run: (ctx: Context, remote: Remote, name: string) => Promise<void>,
  ) =>
    addLockWaitOptions(subcommand(sub, description).argument('<name>', 'accessory name, or all')).action(
      (name: string, opts: LockWaitFlags) =>
        withContext(globals, ctxFor(sub), (ctx, remote) =>
          withLock(ctx, remote, lockWaitFrom(opts), () => run(ctx, remote, name)),
        ),
    );

  accessory.addCommand(
    locked(
      'boot',
      'Boot new accessory service on host (use NAME=all to boot all accessories)',
      (ctx, remote, name) => accessoryBoot(ctx, remote, name),
    ),
  );
  accessory.addCommand(
    locked(
      'reboot',
      'Reboot existing accessory on host (stop container, remove container, start new container; use NAME=all to boot all accessories)',
      (ctx, remote, name) => accessoryReboot(ctx, remote, name),
    ),
  );
  accessory.addCommand(
    locked('start', 'Start existing accessory container on host', (ctx, remote, name) =>
      accessoryStart(ctx, remote, name),
    ),
  );
  accessory.addCommand(
    locked('stop', 'Stop existing accessory container on host', (ctx, remote, name) =>
      accessoryStop(ctx, remote, name),
    ),
  );
  accessory.addCommand(
    locked('restart', 'Restart existing accessory container on host', (ctx, remote, name) =>
      accessoryRestart(ctx, remote, name),
    ),
  );
  accessory.addCommand(
    subcommand('details', 'Show details about accessory on host (use NAME=all to show all accessories)')
      .argument('<name>', 'accessory name, or all')
      .action((name: string) =>
        withContext(globals, ctxFor('details'), async (ctx, remote) => {
          for (const group of await accessoryDetails(ctx, remote, name))
            printByHost(ctx, group.items, group.type);
        }),
      ),
  );
  accessory.addCommand(
    subcommand(
      'exec',
      'Execute a custom command on servers within the accessory container (use --help to show options)',
    )
      .argument('<name>', 'accessory name')
      .argument('<cmd...>', 'the command and its arguments')
      .option('-i, --interactive', 'Execute command over ssh for an interactive shell (use for console/bash)')
      .option('--reuse', 'Reuse currently running container instead of starting a new one')
      .option('--raw', 'Output raw, unmodified stdout (no host headers; not with -i)')
      .action(
        async (
          name: string,
          cmd: string[],
          opts: { interactive?: boolean; reuse?: boolean; raw?: boolean },
        ) => {
          if (opts.raw && opts.interactive)
            throw new UserError('--raw cannot be combined with --interactive; drop one of them.');
          // Raw output goes to stdout untouched, so progress lines are silenced as with -q.
          const flags = () => (opts.raw ? { ...globals(), quiet: true } : globals());
          await withContext(flags, ctxFor('exec'), async (ctx, remote) => {
            const result = await accessoryExec(ctx, remote, name, {
              command: cmd,
              interactive: opts.interactive,
              reuse: opts.reuse,
              raw: opts.raw,
            });
            if (opts.raw && typeof result !== 'number')
              for (const item of result) process.stdout.write(ctx.redact(item.output));
            else finish(ctx, result, `Accessory ${name}`);
          });
        },
      ),
  );
  accessory.addCommand(
    subcommand('logs', 'Show log lines from accessory on host (use --help to show options)')
      .argument('<name>', 'accessory name')
      .option(
        '-s, --since <time>',
        'Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)',
      )
      .option('-n, --lines <n>', 'Number of log lines to pull from each server', parseCount('--lines'))
      .option(
        '-g, --grep <pattern>',
        'Show lines with grep match only (use this to fetch specific requests by id)',
      )
      .option('--grep-options <options>', 'Additional options supplied to grep')
      .option('-f, --follow', 'Follow logs on the first accessory host (or the specific host set by --hosts)')
      .option('-T, --skip-timestamps', 'Skip appending timestamps to logging output')
      .action((name: string, opts: LogsOptions) =>
        withContext(globals, ctxFor('logs'), async (ctx, remote) =>
          finish(ctx, await accessoryLogs(ctx, remote, name, opts), `Accessory ${name}`),
        ),
      ),
  );
  accessory.addCommand(
    addLockWaitOptions(
      subcommand(
        'remove',
        'Remove accessory container, image and data directory from host (use NAME=all to remove all accessories)',
      )
        .argument('<name>', 'accessory name, or all')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action((name: string, opts: LockWaitFlags & { confirmed?: boolean }) =>
      withContext(globals, ctxFor('remove'), async (ctx, remote) => {
        const plans = await removalPlan(ctx, name);
        const what = describeRemoval(plans);
        const go = await confirmOrRefuse(
          `This will remove:\n${what}\nAre you sure?`,
          `\`wharf accessory remove ${name}\` would delete ${what.replace(/\n/g, '; ')}; this shell is not interactive, so nothing was changed: pass -y (--confirmed) to go ahead.`,
          opts.confirmed,
        );
        if (!go) return;
        await withLock(ctx, remote, lockWaitFrom(opts), () => accessoryRemove(ctx, remote, name));
      }),
    ),
  );
  accessory.addCommand(
    addLockWaitOptions(
      subcommand(
        'upgrade',
        'Reboot an accessory on a new image (--image, or the one in the config), keeping its data; reports the image before and after',
      )
        .argument('<name>', 'accessory name, or all')
        .option('--image <image>', 'The new image (default: the image in the config)')
        .option('--rolling', 'Upgrade one host at a time')
        .option('-y, --confirmed', 'Proceed without confirmation question'),
    ).action(
      (name: string, opts: LockWaitFlags & { image?: string; rolling?: boolean; confirmed?: boolean }) =>
        withContext(globals, ctxFor('upgrade'), async (ctx, remote) => {
          const go = await confirmOrRefuse(
            `This will restart accessory ${name} where its image changes. Are you sure?`,
            `\`wharf accessory upgrade ${name}\` restarts the accessory and needs confirmation; this shell is not interactive, so nothing was changed: pass -y (--confirmed) to go ahead.`,
            opts.confirmed,
          );
          if (!go) return;
          const reports = await withLock(ctx, remote, lockWaitFrom(opts), () =>
            accessoryUpgrade(ctx, remote, name, { image: opts.image, rolling: opts.rolling }),
          );
          for (const each of [...new Set(reports.map((r) => r.accessory))])
            printByHost(
              ctx,
              reports.filter((r) => r.accessory === each),
              `Accessory ${each}`,
            );
        }),
    ),
  );
  return accessory;
}
