/** `wharf app …` (Kamal's `kamal app`). */
import { Command, Option } from 'commander';
import { bootApp } from '../deploy/app-boot.js';
import {
  appContainers,
  appDetails,
  appExec,
  appImages,
  appLive,
  appLogs,
  appMaintenance,
  appRemove,
  appStaleContainers,
  appStart,
  appStop,
  appVersion,
  checkExecOptions,
  currentRunningVersion,
} from '../deploy/app-ops.js';
import { withLock } from '../deploy/lock.js';
import type { HostOutput } from './command-support.js';
import { printByHost, subcommand, withContext, type Globals } from './command-support.js';
import { addLockWaitOptions, lockWaitFrom } from './lock-wait.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';

type LockWaitFlags = Parameters<typeof lockWaitFrom>[0];

/** Prints per-host output, or takes the exit code of a local ssh session. */
export function finish(ctx: Context, result: HostOutput[] | number, type = 'App'): void {
  if (typeof result === 'number') process.exitCode = result;
  else printByHost(ctx, result, type);
}

/** Kamal's --raw output: each host's stdout as it came, nothing added or trimmed. */
export function writeRaw(result: HostOutput[] | number): void {
  if (typeof result === 'number') process.exitCode = result;
  else for (const item of result) process.stdout.write(item.output);
}

/**
 * `-e KEY=VALUE` or Kamal's `-e KEY:VALUE` (Thor's hash syntax), repeatable,
 * into an env map; the first `=` or `:` ends the name, so values may hold both.
 */
export function parseEnvOption(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const match = /^([^=:]+)[=:]([\s\S]*)$/.exec(value);
  if (!match)
    throw new UserError(
      `--env ${value} is not KEY=VALUE; pass each variable as -e NAME=value (or NAME:value).`,
    );
  return { ...previous, [match[1]!]: match[2]! };
}

export function parseCount(name: string, minimum = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < minimum)
      throw new UserError(
        `${name} must be a whole number${minimum > 0 ? ` of at least ${minimum}` : ''}, not ${value}.`,
      );
    return n;
  };
}

/** The global flags with -q (and without -v), for output that must be only the command's. */
export function quietGlobals(globals: Globals): Globals {
  return () => ({ ...globals(), quiet: true, verbose: false });
}

export function appCommand(globals: Globals): Command {
  const app = new Command('app')
    .description('Manage the app containers')
    .helpOption('--help', 'Show help for this command');
  const ctxFor = (sub: string, version?: string) => ({
    command: 'app',
    subcommand: sub,
    ...(version !== undefined ? { version } : {}),
  });

  const locked = (
    sub: string,
    description: string,
    run: (ctx: Context, remote: Parameters<typeof appStart>[1]) => Promise<void>,
  ) =>
    addLockWaitOptions(subcommand(sub, description)).action((opts: LockWaitFlags) =>
      withContext(globals, ctxFor(sub), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () => run(ctx, remote)),
      ),
    );

  app.addCommand(
    addLockWaitOptions(
      subcommand('boot', 'Boot the app on the servers (the latest image unless --version)'),
    ).action((opts: LockWaitFlags) =>
      withContext(globals, ctxFor('boot', globals().version ?? 'latest'), async (ctx, remote) => {
        const config = await ctx.config();
        if (!globals().version) config.version = config.latestTag;
        await withLock(ctx, remote, lockWaitFrom(opts), () => bootApp(ctx, remote));
      }),
    ),
  );
  app.addCommand(locked('start', 'Start the existing app container on the servers', appStart));
  app.addCommand(locked('stop', 'Stop the app container on the servers', appStop));
  app.addCommand(
    subcommand('details', 'Show details about the app containers').action(() =>
      withContext(globals, ctxFor('details'), async (ctx, remote) =>
        printByHost(ctx, await appDetails(ctx, remote)),
      ),
    ),
  );
  app.addCommand(
    subcommand(
      'exec',
      'Execute a custom command on the servers within the app container (use --help to show options)',
    )
      .argument('<cmd...>', 'the command and its arguments')
      .option('-i, --interactive', 'Execute the command interactively (over ssh -t on the primary host)')
      .option('--reuse', 'Reuse the running container instead of starting a new one')
      .option(
        '-e, --env <KEY=VALUE>',
        'Set an environment variable for the command (repeatable)',
        parseEnvOption,
      )
      .option('--detach', 'Run the new container in the background (not with -i or --reuse)')
      .option('--raw', 'Output raw, unmodified stdout (not with -i or --detach)')
      .action(
        async (
          cmd: string[],
          opts: {
            interactive?: boolean;
            reuse?: boolean;
            env?: Record<string, string>;
            detach?: boolean;
            raw?: boolean;
          },
        ) => {
          checkExecOptions({ ...opts, command: cmd });
          // --raw: nothing but the command's stdout (Kamal turns its logging down to errors).
          const exec = opts.raw ? quietGlobals(globals) : globals;
          await withContext(exec, ctxFor('exec'), async (ctx, remote) => {
            const config = await ctx.config();
            // Version: --version, else the running one (--reuse), else the latest image (Kamal's version_or_latest).
            if (!globals().version) {
              if (opts.reuse) config.version = (await currentRunningVersion(ctx, remote)) ?? config.version;
              else config.version = config.latestTag;
            }
            const result = await appExec(ctx, remote, {
              command: cmd,
              interactive: opts.interactive,
              reuse: opts.reuse,
              env: opts.env,
              detach: opts.detach,
              raw: opts.raw,
            });
            if (opts.raw) writeRaw(result);
            else finish(ctx, result);
          });
        },
      ),
  );
  app.addCommand(
    subcommand('containers', 'Show app containers on the servers').action(() =>
      withContext(globals, ctxFor('containers'), async (ctx, remote) =>
        printByHost(ctx, await appContainers(ctx, remote)),
      ),
    ),
  );
  app.addCommand(
    addLockWaitOptions(
      subcommand('stale_containers', 'Detect app stale containers').option(
        '-s, --stop',
        'Stop the stale containers found',
      ),
    ).action((opts: LockWaitFlags & { stop?: boolean }) =>
      withContext(globals, ctxFor('stale_containers'), async (ctx, remote) => {
        const lines = opts.stop
          ? await withLock(ctx, remote, lockWaitFrom(opts), () => appStaleContainers(ctx, remote, true))
          : await appStaleContainers(ctx, remote, false);
        if (lines.length > 0) ctx.reporter.result(lines.join('\n'));
      }),
    ),
  );
  app.addCommand(
    subcommand('images', 'Show app images on the servers').action(() =>
      withContext(globals, ctxFor('images'), async (ctx, remote) =>
        printByHost(ctx, await appImages(ctx, remote)),
      ),
    ),
  );
  app.addCommand(
    subcommand('logs', 'Show log lines from the app on the servers (use --help to show options)')
      .option(
        '-s, --since <time>',
        'Show lines since a timestamp (2013-01-02T13:23:37Z) or relative (42m for 42 minutes)',
      )
      .option('-n, --lines <n>', 'Number of lines to show from each server', parseCount('--lines'))
      .option(
        '-g, --grep <pattern>',
        'Show lines with grep match only (use this to fetch specific requests by id)',
      )
      .option('--grep-options <options>', 'Additional options supplied to grep')
      .option('-f, --follow', 'Follow the logs on the primary server (or the specific host set by --hosts)')
      .option('-T, --skip-timestamps', 'Skip appending timestamps to logging output')
      .option('--container-id <id>', 'Docker container ID to fetch logs')
      .action((opts: Parameters<typeof appLogs>[2]) =>
        withContext(globals, ctxFor('logs'), async (ctx, remote) =>
          finish(ctx, await appLogs(ctx, remote, opts)),
        ),
      ),
  );
  app.addCommand(locked('remove', 'Remove app containers and images from the servers', appRemove));
  app.addCommand(locked('live', 'Set the app to live mode', appLive));
  app.addCommand(
    addLockWaitOptions(
      subcommand('maintenance', 'Set the app to maintenance mode')
        .addOption(
          new Option(
            '--drain-timeout <seconds>',
            'How long to allow in-flight requests to complete (default: drain_timeout from config)',
          ).argParser(parseCount('--drain-timeout')),
        )
        .option('--message <message>', 'Message to display to clients while stopped'),
    ).action((opts: LockWaitFlags & { drainTimeout?: number; message?: string }) =>
      withContext(globals, ctxFor('maintenance'), (ctx, remote) =>
        withLock(ctx, remote, lockWaitFrom(opts), () =>
          appMaintenance(ctx, remote, { drainTimeout: opts.drainTimeout, message: opts.message }),
        ),
      ),
    ),
  );
  app.addCommand(
    subcommand('version', 'Show app version currently running on the servers').action(() =>
      withContext(globals, ctxFor('version'), async (ctx, remote) =>
        printByHost(ctx, await appVersion(ctx, remote)),
      ),
    ),
  );
  return app;
}
