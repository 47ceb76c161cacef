/**
 * The `build` subcommands (Kamal's Cli::Build) on top of src/build: push
 * (with --output), pull, deliver, create, remove, details and dev.
 */
import {
  buildAndPush,
  buildDetails,
  buildDev,
  buildInputsFromConfig,
  createBuilder,
  detectCapabilities,
  removeBuilder,
  type BuildInputs,
  type PushInput,
} from '../build/index.js';
import { requireEngine } from '../docker/engine.js';
import type { DockerClient } from '../docker/client.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { pullImage } from './build-pull.js';
import { runConfiguredHook } from './hook-env.js';
import type { Remote } from './remote.js';

export interface BuildFlags {
  output?: string;
  noCache?: boolean;
}

async function inputs(ctx: Context): Promise<{ client: DockerClient; inputs: BuildInputs }> {
  const config = await ctx.config();
  const engine = await requireEngine(ctx.env);
  const capabilities = await detectCapabilities(engine.client);
  return {
    client: engine.client,
    inputs: buildInputsFromConfig(config, await ctx.secretLookup(), capabilities),
  };
}

async function pushInput(ctx: Context, flags: BuildFlags): Promise<PushInput> {
  const config = await ctx.config();
  const { client, inputs: built } = await inputs(ctx);
  return {
    spec: built.spec,
    client,
    cwd: config.cwd,
    registry: built.registry,
    secrets: built.secrets,
    options: {
      ...(flags.output ? { output: flags.output } : {}),
      ...(flags.noCache ? { noCache: true } : {}),
    },
    onLine: ctx.reporter.verbose ? (line) => ctx.reporter.info(`    ${ctx.redact(line)}`) : undefined,
    log: (line) => (ctx.reporter.verbose ? ctx.reporter.info(`  ${line}`) : undefined),
    warn: (line) => ctx.reporter.warn(line),
  };
}

/** `build push`: pre-connect hook, then build and push (pre-build hook after the registry check). */
export async function buildPushCommand(ctx: Context, flags: BuildFlags): Promise<string[]> {
  await runConfiguredHook(ctx, 'pre-connect');
  const input = await pushInput(ctx, flags);
  const result = await ctx.reporter.step(undefined, `build ${(await ctx.config()).absoluteImage}`, () =>
    buildAndPush({ ...input, preBuild: async () => void (await runConfiguredHook(ctx, 'pre-build')) }),
  );
  return result.tags;
}

/** `build pull`: pull the version's image on every selected app host. */
export async function buildPullCommand(ctx: Context, remote: Remote): Promise<void> {
  const hosts = (await ctx.selection()).appHosts;
  if (hosts.length === 0)
    throw new UserError(
      'No app hosts are selected to pull the image on; check servers and the -h/-r filters.',
    );
  await pullImage(ctx, remote, hosts);
}

export async function buildDevCommand(ctx: Context, flags: BuildFlags): Promise<string[]> {
  const input = await pushInput(ctx, flags);
  const result = await ctx.reporter.step(undefined, 'build the working tree', () => buildDev(input));
  return result.tags;
}

export async function buildCreateCommand(ctx: Context): Promise<void> {
  const { client, inputs: built } = await inputs(ctx);
  await createBuilder(built.spec, {
    client,
    log: (l) => ctx.reporter.info(l),
    warn: (l) => ctx.reporter.warn(l),
  });
}

export async function buildRemoveCommand(ctx: Context): Promise<void> {
  const { client, inputs: built } = await inputs(ctx);
  const result = await removeBuilder(built.spec, { client, log: (l) => ctx.reporter.info(l) });
  if (!result.ok) {
    const last = result.output.trim().split('\n').pop() ?? '';
    throw new UserError(
      `Removing the build setup failed: ${last.replace(/\.$/, '') || 'docker failed'}; check \`wharf build details\`.`,
    );
  }
}

export async function buildDetailsCommand(ctx: Context): Promise<string> {
  const { client, inputs: built } = await inputs(ctx);
  return buildDetails(built.spec, client);
}
