/**
 * `deploy`, `redeploy` and `rollback` (Kamal's main commands): build and
 * push (or pull only), take the lock, pre-deploy hook, make sure wharf-proxy
 * runs, stop stale containers, boot the new version (each host pruning while
 * it boots), tag it latest, release the lock, post-deploy hook with the
 * runtime. Each phase is timed for the summary.
 */
import { AppCommands } from '../commands/app.js';
import { commandLine, docker } from '../commands/base.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { bootApp, readHostStates } from './app-boot.js';
import { buildPush, pullImage } from './build-pull.js';
import { hookConfigured, runConfiguredHook } from './hook-env.js';
import { currentVersion, listedContainers, withStopped, type HostState } from './host-state.js';
import {
  lockReleaseStatus,
  thenReleaseLock,
  withLock,
  withLockTakenDuring,
  type HeldLock,
  type LockWait,
} from './lock.js';
import { pruneDuringBoot } from './prune.js';
import { bootProxy } from './proxy.js';
import { requireReachableRegistry } from './registry-reach.js';
import { connectionDrop, failureDetail, Remote, StepError } from './remote.js';

export interface DeployOptions {
  skipPush?: boolean;
  noCache?: boolean;
  lockWait?: LockWait;
  /** redeploy: no proxy boot, no prune. */
  redeploy?: boolean;
}

export interface DeploySummary {
  version: string;
  hosts: string[];
  seconds: number;
  phases: { name: string; seconds: number }[];
  roundTrips: number;
}

async function phase<T>(ctx: Context, name: string, fn: () => Promise<T>): Promise<T> {
  const end = ctx.reporter.phase(name);
  try {
    return await fn();
  } finally {
    end();
  }
}

/**
 * The versions of the running containers (`listed`, named `<prefix>-<version>`)
 * that are stale: every one but Kamal's current version.
 */
export function staleContainers(
  listed: readonly { name: string }[],
  prefix: string,
  current: string,
): string[] {
  return listed
    .filter((c) => c.name.startsWith(`${prefix}-`))
    .map((c) => c.name.slice(prefix.length + 1))
    .filter((v) => v !== current);
}

/**
 * Stops running containers of other versions than the current one (Kamal's
 * stale_containers --stop) for the roles without wharf-proxy, decided on each
 * host's state read at the start (`states`; read here when not given), all
 * of a host's in one round trip, none when nothing is stale. A proxied role's
 * other containers stop after its new version serves instead (see
 * replacedContainers): one of them may be the target of a proxy deploy an
 * interrupted wharf left in flight, and stopping it now would take the
 * service down the moment the proxy switches to it. Returns the states with
 * the stopped containers marked.
 */
export async function stopStaleContainers(
  ctx: Context,
  remote: Remote,
  states?: ReadonlyMap<string, HostState>,
): Promise<Map<string, HostState>> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const read =
    states ??
    new Map([...(await readHostStates(ctx, remote, selection.appHosts))].map(([host, r]) => [host, r.state]));
  const result = new Map(read);
  await remote.onHosts(selection.appHosts, async (host) => {
    const state = read.get(host);
    if (!state) return;
    const stops: string[] = [];
    const names: string[] = [];
    for (const role of selection.rolesOn(host)) {
      if (role.runningProxy) continue;
      const current = currentVersion(state, config, role) ?? '';
      const prefix = role.containerPrefix();
      const stale = staleContainers(listedContainers(state, config, role), prefix, current);
      if (stale.length === 0) continue;
      const staleNames = stale.map((version) => role.containerName(version));
      for (const n of staleNames) ctx.reporter.info(`  Stopping stale container ${n} on ${host}`);
      stops.push(docker('stop', ...role.stopArgs(), ...staleNames).join(' '));
      names.push(...staleNames);
    }
    if (stops.length === 0) return;
    await remote.run(host, stops.join(' ; '), 'stop stale containers', { allowFailure: true });
    result.set(host, withStopped(state, names));
  });
  return result;
}

/**
 * Tags the version `latest` on every host once all booted (as Kamal does);
 * on the lock's host the same round trip then releases the deploy lock
 * (whatever the tag did), which saves the release its own round trip. A
 * failed release there is left to the usual release after the deploy.
 */
export async function tagLatestReleasingLock(
  ctx: Context,
  remote: Remote,
  hosts: readonly string[],
  held: HeldLock | undefined,
): Promise<void> {
  const config = await ctx.config();
  const tag = commandLine(new AppCommands(config).tagLatestImage());
  await remote.onHosts(hosts, async (host) => {
    if (held?.host !== host) {
      await remote.run(host, tag, 'tag the latest image');
      return;
    }
    const result = await remote.run(host, thenReleaseLock(tag, held.release), 'tag the latest image', {
      allowFailure: true,
    });
    if (lockReleaseStatus(result.stdout) === 0) held.released();
    if (result.code !== 0)
      throw new StepError(host, 'tag the latest image', result, ctx.redact(failureDetail(result)));
  });
}

/**
 * A deploy that lost its SSH connection to a host says so in one sentence,
 * whatever step it was in (instead of, say, "never became healthy").
 */
export function explainDeployFailure(error: unknown, command = 'deploy'): unknown {
  const drop = connectionDrop(error);
  // A server that hangs up while the connection is set up already has its own sentence.
  if (!drop || drop.step === 'connect') return error;
  const step = drop.step ? ` during ${drop.step}` : '';
  return new UserError(
    `The SSH connection to ${drop.host} dropped${step}, so wharf ran nothing more on ${drop.host} and the version wharf-proxy serves there keeps serving; check that ${drop.host} is reachable over SSH and run \`wharf ${command}\` again.`,
    { cause: error },
  );
}

export async function deploy(ctx: Context, options: DeployOptions = {}): Promise<DeploySummary> {
  const started = Date.now();
  const config = await ctx.config();
  const selection = await ctx.selection();
  const hosts = selection.appHosts;
  if (hosts.length === 0)
    throw new UserError(
      `No app hosts are selected in ${config.files[0] ?? 'config/deploy.yml'}; check servers and the -h/-r filters.`,
    );
  await runConfiguredHook(ctx, 'pre-connect');
  const remote = await Remote.of(ctx);
  // Who deploys (git config, two local processes) is read while the connections open; the lock needs it.
  ctx.stamp().catch(() => {});
  try {
    await phase(ctx, 'Connect', () => remote.pool.connect(selection.hosts, 'connect'));
    if (!options.skipPush)
      await phase(ctx, 'Build and push', () => buildPush(ctx, { noCache: options.noCache }));
    const pull = () =>
      phase(ctx, 'Pull', async () => {
        await requireReachableRegistry(ctx);
        await pullImage(ctx, remote, hosts);
      });
    // One round trip per host reads the proxy's state and the app containers' state together; the
    // stale-container and boot decisions below reuse it instead of asking again. Without a
    // pre-deploy hook (which could change them) it runs as soon as the lock is held, beside the
    // pull (which changes no container and no `latest` tag), instead of after it.
    const readState = () => readHostStates(ctx, remote, selection.hosts, { proxy: true });
    let early: ReturnType<typeof readState> | undefined;
    const readEarly = !options.redeploy && !(await hookConfigured(ctx, 'pre-deploy'));
    const onLocked = () => {
      if (!readEarly) return;
      early = readState();
      early.catch(() => {});
    };
    const locked = async (held: HeldLock | undefined) => {
      await runConfiguredHook(ctx, 'pre-deploy');
      let states: Map<string, HostState> | undefined;
      if (!options.redeploy)
        states = await phase(ctx, 'Proxy', async () => {
          const read = await (early ?? readState());
          await bootProxy(ctx, remote, undefined, new Map([...read].map(([h, r]) => [h, r.proxy!])));
          return new Map([...read].map(([h, r]) => [h, r.state]));
        });
      states = await phase(ctx, 'Stale containers', () => stopStaleContainers(ctx, remote, states));
      const booted = states;
      // Each host prunes while it boots (not redeploy), then every host tags the version latest.
      await phase(ctx, 'Boot', () =>
        bootApp(ctx, remote, {
          states: booted,
          tagLatest: false,
          prune: options.redeploy
            ? undefined
            : (host, stopping) => pruneDuringBoot(ctx, remote, host, stopping),
        }),
      );
      await phase(ctx, 'Tag', () => tagLatestReleasingLock(ctx, remote, hosts, held));
    };
    await withLockTakenDuring(ctx, remote, options.lockWait ?? {}, pull, locked, onLocked);
    const seconds = (Date.now() - started) / 1000;
    await runConfiguredHook(ctx, 'post-deploy', { runtime: Math.round(seconds) });
    const stats = remote.pool.stats();
    return {
      version: config.version,
      hosts,
      seconds,
      phases: ctx.reporter.phaseTimings(),
      roundTrips: Object.values(stats).reduce((n, s) => n + s.roundTrips, 0),
    };
  } catch (error) {
    throw explainDeployFailure(error, options.redeploy ? 'redeploy' : 'deploy');
  } finally {
    await ctx.close();
  }
}

/** Rolls back to VERSION: its containers must exist on every host and role; then boots it. */
export async function rollback(ctx: Context, lockWait: LockWait = {}): Promise<DeploySummary> {
  const started = Date.now();
  const config = await ctx.config();
  const selection = await ctx.selection();
  const remote = await Remote.of(ctx);
  try {
    const missing: string[] = [];
    await remote.onHosts(selection.appHosts, async (host) => {
      for (const r of selection.rolesOn(host)) {
        const app = new AppCommands(config, { role: r.name, host });
        const id = (
          await remote.run(host, app.containerIdForVersion(config.version), `find ${app.containerName()}`, {
            allowFailure: true,
          })
        ).stdout.trim();
        if (!id) missing.push(`${app.containerName()} on ${host}`);
      }
    });
    if (missing.length > 0) {
      throw new UserError(
        `The app version '${config.version}' is not available as a container (${missing.join(', ')} missing); run \`wharf app containers\` to see the available versions.`,
      );
    }
    await withLock(ctx, remote, lockWait, async () => {
      await runConfiguredHook(ctx, 'pre-deploy');
      await phase(ctx, 'Boot', () => bootApp(ctx, remote));
    });
    const seconds = (Date.now() - started) / 1000;
    await runConfiguredHook(ctx, 'post-deploy', { runtime: Math.round(seconds) });
    return {
      version: config.version,
      hosts: selection.appHosts,
      seconds,
      phases: ctx.reporter.phaseTimings(),
      roundTrips: 0,
    };
  } catch (error) {
    throw explainDeployFailure(error, 'rollback');
  } finally {
    await ctx.close();
  }
}

export function formatSummary(summary: DeploySummary): string {
  const phases = summary.phases.map((p) => `${p.name.toLowerCase()} ${p.seconds.toFixed(1)} s`).join(', ');
  return `Deployed ${summary.version} to ${summary.hosts.join(', ')} in ${summary.seconds.toFixed(1)} s (${phases}${summary.roundTrips ? `; ${summary.roundTrips} SSH round trips` : ''}).`;
}
