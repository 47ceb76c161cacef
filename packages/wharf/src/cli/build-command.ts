/** `wharf build …` (Kamal's `kamal build`). */
import { Command } from 'commander';
import {
  buildCreateCommand,
  buildDetailsCommand,
  buildDevCommand,
  buildPullCommand,
  buildPushCommand,
  buildRemoveCommand,
  type BuildFlags,
} from '../deploy/build-ops.js';
import { subcommand, withContext, type Globals } from './command-support.js';

type PushFlags = { output?: string; cache?: boolean };

function buildFlags(opts: PushFlags): BuildFlags {
  return { output: opts.output, noCache: opts.cache === false };
}

export function buildCommand(globals: Globals): Command {
  const build = new Command('build')
    .description('Build application image')
    .helpOption('--help', 'Show help for this command');
  // build push runs the pre-connect hook itself (Kamal does, before the build); the local-only commands never connect.
  const ctxFor = (sub: string) => ({ command: 'build', subcommand: sub, connects: sub === 'pull' });
  const pushOptions = (command: Command, output: string) =>
    command
      .option('--output <type>', 'Export the build to this buildx output type (registry, docker, …)', output)
      .option('--no-cache', 'Build without using the build cache');

  build.addCommand(
    pushOptions(subcommand('push', 'Build and push app image to registry'), 'registry').action(
      (opts: PushFlags) =>
        withContext(globals, ctxFor('push'), async (ctx) => {
          const tags = await buildPushCommand(ctx, buildFlags(opts));
          ctx.reporter.result(`Built ${tags.join(', ')}`);
        }),
    ),
  );
  build.addCommand(
    subcommand('pull', 'Pull app image from registry onto servers').action(() =>
      withContext(globals, ctxFor('pull'), (ctx, remote) => buildPullCommand(ctx, remote)),
    ),
  );
  build.addCommand(
    pushOptions(
      subcommand('deliver', 'Build app and push app image to registry then pull image on servers'),
      'registry',
    ).action((opts: PushFlags) =>
      withContext(globals, ctxFor('deliver'), async (ctx, remote) => {
        await buildPushCommand(ctx, buildFlags(opts));
        await buildPullCommand(ctx, remote);
      }),
    ),
  );
  build.addCommand(
    subcommand('create', 'Create a build setup').action(() =>
      withContext(globals, ctxFor('create'), (ctx) => buildCreateCommand(ctx)),
    ),
  );
  build.addCommand(
    subcommand('remove', 'Remove build setup').action(() =>
      withContext(globals, ctxFor('remove'), (ctx) => buildRemoveCommand(ctx)),
    ),
  );
  build.addCommand(
    subcommand('details', 'Show build setup').action(() =>
      withContext(globals, ctxFor('details'), async (ctx) =>
        ctx.reporter.result(await buildDetailsCommand(ctx)),
      ),
    ),
  );
  build.addCommand(
    pushOptions(
      subcommand(
        'dev',
        'Build using the working directory, tag it as dirty, and push to a local image store',
      ),
      'docker',
    ).action((opts: PushFlags) =>
      withContext(globals, ctxFor('dev'), async (ctx) => {
        const tags = await buildDevCommand(ctx, buildFlags(opts));
        ctx.reporter.result(`Built ${tags.join(', ')}`);
      }),
    ),
  );
  return build;
}
