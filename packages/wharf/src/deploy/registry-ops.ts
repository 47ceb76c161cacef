/**
 * `registry setup|login|logout|remove` (Kamal's Cli::Registry): a local
 * registry (`localhost:PORT`) is a container on this machine; any other
 * registry is logged in to (or out of) here (-L skips) and on every host
 * (-R skips). Passwords go to `docker login --password-stdin`, never argv.
 */
import { argv, loginCommand, localRegistrySetupCommands, registryAnswers } from '../build/index.js';
import { localRegistryRemoveCommands, logoutCommand } from '../build/registry.js';
import { RegistryCommands } from '../commands/registry.js';
import { requireEngine } from '../docker/engine.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import type { Remote } from './remote.js';

export interface RegistryFlags {
  skipLocal?: boolean;
  skipRemote?: boolean;
}

async function localDocker(
  ctx: Context,
  args: string[],
  step: string,
  options: { input?: string; allowFailure?: boolean } = {},
): Promise<void> {
  const engine = await requireEngine(ctx.env);
  const result = await engine.client.run(args, options.input !== undefined ? { input: options.input } : {});
  if (result.code !== 0 && !options.allowFailure) {
    const detail = ctx
      .redact(`${result.stderr}\n${result.stdout}`.trim().split('\n').pop() ?? '')
      .replace(/\.$/, '');
    throw new UserError(`${step} failed on this machine: ${detail || `exit status ${result.code}`}.`);
  }
}

export async function registrySetup(ctx: Context, remote: Remote, flags: RegistryFlags): Promise<void> {
  const config = await ctx.config();
  const registry = config.registry;
  if (registry.local) {
    if (flags.skipLocal) return;
    const port = registry.localPort ?? 0;
    if (await registryAnswers(port)) {
      ctx.reporter.info(`A registry already answers on localhost:${port}`);
      return;
    }
    const [start, run] = localRegistrySetupCommands(port);
    const engine = await requireEngine(ctx.env);
    if ((await engine.client.run(argv(start).slice(1))).code === 0) return;
    await localDocker(ctx, argv(run).slice(1), 'Starting the local registry');
    return;
  }
  const lookup = await ctx.secretLookup();
  const credentials = {
    server: registry.server,
    username: registry.username(lookup),
    password: registry.password(lookup),
  };
  if (!flags.skipLocal) {
    if (!credentials.username || !credentials.password) {
      throw new UserError(
        `registry.username and registry.password must be set in ${config.files[0] ?? 'config/deploy.yml'} to log in to ${registry.server ?? 'Docker Hub'}.`,
      );
    }
    const login = loginCommand(credentials)!;
    await ctx.reporter.step(undefined, `log in to ${registry.server ?? 'Docker Hub'}`, () =>
      localDocker(ctx, argv(login).slice(1), `Logging in to ${registry.server ?? 'Docker Hub'}`, {
        input: `${credentials.password}\n`,
      }),
    );
  }
  if (!flags.skipRemote) {
    const login = new RegistryCommands(config).login(lookup);
    if (!login) return;
    const hosts = (await ctx.selection()).hosts;
    await remote.onHosts(hosts, (host) =>
      ctx.reporter.step(host, `log in to ${registry.server ?? 'Docker Hub'}`, () =>
        remote.run(host, login, `log in to ${registry.server ?? 'Docker Hub'}`),
      ),
    );
  }
}

export async function registryRemove(ctx: Context, remote: Remote, flags: RegistryFlags): Promise<void> {
  const config = await ctx.config();
  const registry = config.registry;
  if (registry.local) {
    if (flags.skipLocal) return;
    const [stop, rm] = localRegistryRemoveCommands();
    await localDocker(ctx, argv(stop).slice(1), 'Stopping the local registry', { allowFailure: true });
    await localDocker(ctx, argv(rm).slice(1), 'Removing the local registry', { allowFailure: true });
    return;
  }
  if (!flags.skipLocal) {
    await ctx.reporter.step(undefined, `log out of ${registry.server ?? 'Docker Hub'}`, () =>
      localDocker(
        ctx,
        argv(logoutCommand({ server: registry.server })).slice(1),
        `Logging out of ${registry.server ?? 'Docker Hub'}`,
      ),
    );
  }
  if (!flags.skipRemote) {
    const logout = new RegistryCommands(config).logout();
    const hosts = (await ctx.selection()).hosts;
    await remote.onHosts(hosts, (host) =>
      ctx.reporter.step(host, `log out of ${registry.server ?? 'Docker Hub'}`, () =>
        remote.run(host, logout, `log out of ${registry.server ?? 'Docker Hub'}`),
      ),
    );
  }
}

/** Kamal refuses login/logout for a local registry. */
export async function refuseLocal(ctx: Context, verb: 'login' | 'logout'): Promise<void> {
  const config = await ctx.config();
  if (config.registry.local) {
    const instead = verb === 'login' ? 'setup' : 'remove';
    throw new UserError(
      `Cannot use the ${verb} command with a local registry (${config.registry.server}); use \`wharf registry ${instead}\` instead.`,
    );
  }
}
