/**
 * The `app` subcommands other than boot (Kamal's Cli::App): start, stop,
 * details, exec, containers, stale containers, images, logs, remove, live,
 * maintenance and version. Each returns per-host output for the CLI to print
 * (or runs a local `ssh -t` for interactive and follow modes).
 */
import { AppCommands } from '../commands/app.js';
import { Auditor } from '../commands/auditor.js';
import { combine, type Command } from '../commands/base.js';
import { RegistryCommands } from '../commands/registry.js';
import { ServerCommands } from '../commands/server.js';
import type { Role } from '../config/index.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { runInTerminal } from './local-terminal.js';
import type { Remote } from './remote.js';

/** Every selected (host, role) pair, roles of a host in config order. */
async function hostRoles(ctx: Context): Promise<{ host: string; roles: Role[] }[]> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  return selection.appHosts.map((host) => ({
    host,
    roles: selection.rolesOn(host).map((r) => config.role(r.name)!),
  }));
}

/** Runs fn for every selected host (in parallel) and role (in order), collecting output per host in host order. */
async function perHostRole(
  ctx: Context,
  remote: Remote,
  fn: (host: string, role: Role, app: AppCommands) => Promise<string | undefined>,
): Promise<HostOutput[]> {
  const config = await ctx.config();
  const pairs = await hostRoles(ctx);
  const outputs = await remote.onHosts(
    pairs.map((p) => p.host),
    async (host) => {
      const parts: HostOutput[] = [];
      for (const role of pairs.find((p) => p.host === host)!.roles) {
        const output = await fn(host, role, new AppCommands(config, { role, host }));
        if (output !== undefined) parts.push({ host, output });
      }
      return parts;
    },
  );
  return outputs.flat();
}

async function auditor(ctx: Context, role?: string): Promise<Auditor> {
  return new Auditor(await ctx.config(), await ctx.stamp(), role ? { role } : {});
}

/** `app start`: start the config version's container; proxied roles are handed to the proxy again. */
export async function appStart(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  await perHostRole(ctx, remote, async (host, role, app) => {
    const audit = await auditor(ctx, role.name);
    await ctx.reporter.step(host, `start ${app.containerName()}`, async () => {
      await remote.run(
        host,
        combine([audit.record(`Started app version ${config.version}`), app.start()]),
        `start ${app.containerName()}`,
      );
      if (role.runningProxy) {
        const version = await remote.capture(
          host,
          app.currentRunningVersion(),
          `find the running ${role.name} version`,
        );
        const id = version
          ? await remote.capture(
              host,
              app.containerIdForVersion(version),
              `find ${app.containerName(version)}`,
            )
          : '';
        if (!id)
          throw new UserError(
            `No ${role.name} container runs on ${host} after starting ${app.containerName()}; run \`wharf app containers\` to see what is there.`,
          );
        await remote.run(host, app.deploy(id), `hand ${app.containerName(version)} to wharf-proxy`, {
          timeoutMs: (config.deployTimeout + 60) * 1000,
        });
      }
    });
    return undefined;
  });
}

/** `app stop`: take proxied roles out of the proxy, then stop the running container. */
export async function appStop(ctx: Context, remote: Remote): Promise<void> {
  await perHostRole(ctx, remote, async (host, role, app) => {
    const audit = await auditor(ctx, role.name);
    await ctx.reporter.step(host, `stop ${role.name}`, async () => {
      await remote.run(host, audit.record('Stopped app'), 'write the audit log');
      if (role.runningProxy) {
        const version = (
          await remote.run(host, app.currentRunningVersion(), 'find the running version', {
            allowFailure: true,
          })
        ).stdout.trim();
        const id = version
          ? (
              await remote.run(host, app.containerIdForVersion(version), 'find the running container', {
                allowFailure: true,
              })
            ).stdout.trim()
          : '';
        if (id)
          await remote.run(host, app.remove(), `remove ${role.name} from wharf-proxy`, {
            allowFailure: true,
          });
      }
      await remote.run(host, app.stop(), `stop ${role.name}`, { allowFailure: true });
    });
    return undefined;
  });
}

export async function appDetails(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  return perHostRole(ctx, remote, (host, role, app) =>
    remote.capture(host, app.info(), `list ${role.name} containers`),
  );
}

export async function appContainers(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  return perHostRole(ctx, remote, (host, role, app) =>
    remote.capture(host, app.listContainers(), `list ${role.name} containers`),
  );
}

export async function appImages(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  const config = await ctx.config();
  const hosts = (await ctx.selection()).appHosts;
  const app = new AppCommands(config);
  const outputs = await remote.onHosts(hosts, async (host) => ({
    host,
    output: await remote.capture(host, app.listImages(), 'list images'),
  }));
  return outputs;
}

/** `app version`: the running version on each host (first role there). */
export async function appVersion(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  const config = await ctx.config();
  const pairs = await hostRoles(ctx);
  return remote.onHosts(
    pairs.map((p) => p.host),
    async (host) => {
      const role = pairs.find((p) => p.host === host)!.roles[0]!;
      const version = (
        await remote.run(
          host,
          new AppCommands(config, { role, host }).currentRunningVersion(),
          'find the running version',
          { allowFailure: true },
        )
      ).stdout.trim();
      return { host, output: version };
    },
  );
}

/**
 * `app stale_containers`: running containers of other versions than the
 * current one; with stop, stops them. Returns one line per container.
 */
export async function appStaleContainers(ctx: Context, remote: Remote, stop: boolean): Promise<string[]> {
  const lines: string[] = [];
  await perHostRole(ctx, remote, async (host, role, app) => {
    const current = (
      await remote.run(host, app.currentRunningVersion(), 'find the running version', { allowFailure: true })
    ).stdout.trim();
    const versions = (
      await remote.run(host, app.listVersions([], { statuses: ['running'] }), `list ${role.name} versions`, {
        allowFailure: true,
      })
    ).stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((v) => v && v !== current);
    for (const version of versions) {
      if (stop) {
        lines.push(`Stopping stale container for role ${role.name} with version ${version} on ${host}`);
        await remote.run(host, app.stop({ version }), `stop ${app.containerName(version)}`);
      } else {
        lines.push(
          `Detected stale container for role ${role.name} with version ${version} on ${host} (use \`wharf app stale_containers --stop\` to stop)`,
        );
      }
    }
    return undefined;
  });
  return lines;
}

export interface LogsOptions {
  since?: string;
  lines?: number;
  grep?: string;
  grepOptions?: string;
  follow?: boolean;
  skipTimestamps?: boolean;
  containerId?: string;
}

/** Kamal's default: 100 lines (10 when following) unless --since or --grep narrows the logs. */
export function defaultLogLines(
  options: Pick<LogsOptions, 'lines' | 'since' | 'grep' | 'follow'>,
): number | undefined {
  if (options.lines !== undefined) return options.lines;
  if (options.since !== undefined || options.grep !== undefined) return undefined;
  return options.follow ? 10 : 100;
}

/** `app logs`: each host's container logs ("Nothing found" when there are none); -f follows on the primary host over `ssh -t`. */
export async function appLogs(
  ctx: Context,
  remote: Remote,
  options: LogsOptions,
): Promise<HostOutput[] | number> {
  const config = await ctx.config();
  const lines = defaultLogLines(options);
  const timestamps = !options.skipTimestamps;
  if (options.follow) {
    const selection = await ctx.selection();
    const host = selection.primaryHost;
    if (!host)
      throw new UserError('No app host is selected to follow logs on; check servers and the -h/-r filters.');
    const role = selection.rolesOn(host)[0]!;
    const app = new AppCommands(config, { role: role.name, host });
    const command = app.followLogs({
      host,
      containerId: options.containerId,
      timestamps,
      lines,
      grep: options.grep,
      grepOptions: options.grepOptions,
    });
    ctx.reporter.info(`Following logs on ${host}...`);
    return runInTerminal(command);
  }
  return perHostRole(ctx, remote, async (host, role, app) => {
    const result = await remote.run(
      host,
      app.logs({
        containerId: options.containerId,
        timestamps,
        since: options.since,
        lines,
        grep: options.grep,
        grepOptions: options.grepOptions,
      }),
      `read ${role.name} logs`,
      { allowFailure: true },
    );
    return result.code === 0 && result.stdout.trim() ? result.stdout : 'Nothing found';
  });
}

export interface ExecRequest {
  command: string[];
  interactive?: boolean;
  reuse?: boolean;
  env?: Record<string, string>;
  detach?: boolean;
  /** Kamal's --raw: the command's stdout exactly as it came, no host headers (not with -i or --detach). */
  raw?: boolean;
}

/** The running version on the primary host (undefined when nothing runs). */
export async function currentRunningVersion(ctx: Context, remote: Remote): Promise<string | undefined> {
  const config = await ctx.config();
  const host = config.primaryHost;
  if (!host) return undefined;
  const app = new AppCommands(config, { role: config.primaryRoleName, host });
  const version = (
    await remote.run(host, app.currentRunningVersion(), 'find the running version', { allowFailure: true })
  ).stdout.trim();
  return version || undefined;
}

/** Checks Kamal's incompatible exec options. */
export function checkExecOptions(
  request: Pick<ExecRequest, 'detach' | 'interactive' | 'reuse' | 'raw'> & { command?: readonly string[] },
): void {
  const clashing = (['interactive', 'reuse'] as const).filter((key) => request.detach && request[key]);
  if (clashing.length > 0) {
    throw new UserError(
      `--detach cannot be combined with ${clashing.map((k) => `--${k}`).join(' or ')}; drop one of them.`,
    );
  }
  const rawClashing = (['interactive', 'detach'] as const).filter((key) => request.raw && request[key]);
  if (rawClashing.length > 0) {
    throw new UserError(
      `--raw cannot be combined with ${rawClashing.map((k) => `--${k}`).join(' or ')}; drop one of them.`,
    );
  }
  if (request.command !== undefined && request.command.length === 0) {
    throw new UserError('No command given to execute; pass it after the options, e.g. `wharf app exec ls`.');
  }
}

/**
 * `app exec`, Kamal's four modes: interactive+reuse (`ssh -t … docker exec -it`
 * on the primary host), interactive (`ssh -t … docker run -it --rm`), reuse
 * (`docker exec` on every host and role), default (`docker run --rm` on every
 * host and role). The version is decided by the caller's Context: --version,
 * else for reuse the running one, else the latest image.
 */
export async function appExec(
  ctx: Context,
  remote: Remote,
  request: ExecRequest,
): Promise<HostOutput[] | number> {
  checkExecOptions(request);
  const config = await ctx.config();
  const cmd = request.command.join(' ');
  if (request.interactive) {
    const host = config.primaryHost;
    if (!host)
      throw new UserError(
        `${config.files[0] ?? 'config/deploy.yml'} lists no primary host to run an interactive command on.`,
      );
    const app = new AppCommands(config, { role: config.primaryRoleName, host });
    if (request.reuse) {
      ctx.reporter.info(
        `Launching interactive command with version ${config.version} via SSH from existing container on ${host}...`,
      );
      return runInTerminal(
        app.executeInExistingContainerOverSsh([cmd], { env: request.env, tty: Boolean(process.stdin.isTTY) }),
      );
    }
    ctx.reporter.info(
      `Launching interactive command with version ${config.version} via SSH from new container on ${host}...`,
    );
    await registryLogin(ctx, remote, [host]);
    return runInTerminal(
      app.executeInNewContainerOverSsh([cmd], { env: request.env, tty: Boolean(process.stdin.isTTY) }),
    );
  }
  const mode = request.reuse ? 'existing' : 'new';
  ctx.reporter.info(`Launching command with version ${config.version} from ${mode} container...`);
  if (!request.reuse) await registryLogin(ctx, remote, (await ctx.selection()).appHosts);
  return perHostRole(ctx, remote, async (host, role, app) => {
    const audit = await auditor(ctx, request.reuse ? role.name : undefined);
    await remote.run(
      host,
      audit.record(`Executed cmd '${cmd}' on app version ${config.version}`),
      'write the audit log',
    );
    const command = request.reuse
      ? app.executeInExistingContainer([cmd], { env: request.env })
      : app.executeInNewContainer([cmd], { env: request.env, detach: request.detach });
    const result = await remote.run(
      host,
      command,
      `run '${cmd}' in ${request.reuse ? app.containerName() : `a new ${role.name} container`}`,
    );
    if (request.raw) return result.stdout;
    return `${result.stdout}${result.stderr && !result.stdout ? result.stderr : ''}`;
  });
}

/** `docker login` on hosts (not for a local registry, whose images the hosts reach through the forward). */
export async function registryLogin(ctx: Context, remote: Remote, hosts: readonly string[]): Promise<void> {
  const config = await ctx.config();
  if (config.registry.local) return;
  const login = new RegistryCommands(config).login(await ctx.secretLookup());
  if (!login) return;
  await remote.onHosts(hosts, (host) =>
    remote.run(host, login, `log in to ${config.registry.server ?? 'Docker Hub'}`),
  );
}

/** `app live` / `app maintenance`: resume, or stop with a drain timeout and message, each proxied role. */
export async function appLive(ctx: Context, remote: Remote): Promise<void> {
  await perHostRole(ctx, remote, async (host, role, app) => {
    if (!role.runningProxy) return undefined;
    const audit = await auditor(ctx, role.name);
    await ctx.reporter.step(host, `put ${role.name} live`, () =>
      remote.run(
        host,
        combine([audit.record('Set application to live'), app.live()]),
        `put ${role.name} live`,
      ),
    );
    return undefined;
  });
}

export async function appMaintenance(
  ctx: Context,
  remote: Remote,
  options: { drainTimeout?: number; message?: string },
): Promise<void> {
  const config = await ctx.config();
  await perHostRole(ctx, remote, async (host, role, app) => {
    if (!role.runningProxy) return undefined;
    const audit = await auditor(ctx, role.name);
    const command = app.maintenance({
      drainTimeout: options.drainTimeout ?? config.drainTimeout,
      message: options.message,
    });
    await ctx.reporter.step(host, `put ${role.name} in maintenance mode`, () =>
      remote.run(
        host,
        combine([audit.record('Set application to maintenance mode'), command]),
        `put ${role.name} in maintenance mode`,
      ),
    );
    return undefined;
  });
}

/** `app remove`: stop, remove containers, images and the app directories. */
export async function appRemove(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  await appStop(ctx, remote);
  await perHostRole(ctx, remote, async (host, role, app) => {
    const audit = await auditor(ctx, role.name);
    await ctx.reporter.step(host, `remove ${role.name} containers`, () =>
      remote.run(
        host,
        combine([audit.record('Removed all app containers'), app.removeContainers()]),
        `remove ${role.name} containers`,
      ),
    );
    return undefined;
  });
  const server = new ServerCommands(config);
  const pairs = await hostRoles(ctx);
  await remote.onHosts(
    pairs.map((p) => p.host),
    async (host) => {
      const roles = pairs.find((p) => p.host === host)!.roles;
      const app = new AppCommands(config, { role: roles[0], host });
      const audit = await auditor(ctx);
      await ctx.reporter.step(host, 'remove images and app directories', async () => {
        await remote.run(
          host,
          combine([audit.record('Removed all app images'), app.removeImages()]),
          'remove app images',
        );
        await remote.run(
          host,
          combine([audit.record(`Removed ${config.appDirectory}`), server.removeAppDirectory()] as Command[]),
          'remove the app directory',
          { allowFailure: true },
        );
        await remote.run(host, app.removeProxyAppDirectory(), 'remove the proxy app directory', {
          allowFailure: true,
        });
      });
    },
  );
}
