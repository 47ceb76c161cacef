/**
 * `app boot`: the new version replaces the old on every host and role, with
 * wharf-proxy swapping traffic for proxied roles (health-checked, drained) and
 * a Docker-health/readiness wait for the others. Hosts boot in parallel within
 * a boot group (boot.limit / boot.wait); on one host, roles boot one after the
 * other, the primary role first, each starting once the one before it is
 * healthy (its old container stops meanwhile); non-primary roles also wait
 * until the first primary container is healthy (Kamal's barrier).
 *
 * Round trips per role, one in the usual case: write the env file (from
 * stdin, never in argv), record the audit line, rename a clashing container
 * and `docker run`; then, for a proxied role, the health-checked
 * `kamal-proxy deploy` of the new container (its id passed on in a shell
 * variable) followed at once by stopping the old container; for a role
 * without the proxy, the first status check and, when that already means
 * ready, the old container's stop (else a wait and one more round trip to
 * stop it). Marker lines tell wharf which step the script reached, so a
 * failure still names its host and step, and nothing after a successful swap
 * ever stops the new container. The containers' state comes from the host's
 * state read once (host-state.ts).
 */
import { randomBytes } from 'node:crypto';
import { AppCommands, containerHostname } from '../commands/app.js';
import { Auditor } from '../commands/auditor.js';
import { combine, commandLine, DOCKER_HEALTH_STATUS_FORMAT, docker, type Command } from '../commands/base.js';
import type { Config, Role } from '../config/index.js';
import type { Context } from '../runtime/context.js';
import { uploadCommand } from '../ssh/upload.js';
import { UserError } from '../util/errors.js';
import { Remote, StepError, failureDetail } from './remote.js';
import { runConfiguredHook } from './hook-env.js';
import { cleanUpAfterBoot, prepareRoleAssets, readErrorPages, uploadErrorPages } from './app-pages-assets.js';
import {
  containerNamed,
  currentVersion,
  replacedContainers,
  stateAndProxyScript,
  parseHostState,
  type HostState,
} from './host-state.js';
import { parseProxyState, proxyProbeTarget, type ProxyState } from './proxy.js';

/** Opens when the first primary-role container is healthy; fails when a primary container fails. */
export class Barrier {
  private settle!: { open: () => void; close: (error: Error) => void };
  readonly promise: Promise<void>;
  private done = false;
  constructor() {
    this.promise = new Promise<void>((resolve, reject) => {
      this.settle = { open: resolve, close: reject };
    });
    this.promise.catch(() => {});
  }
  open(): void {
    if (!this.done) ((this.done = true), this.settle.open());
  }
  close(error: Error): void {
    if (!this.done) ((this.done = true), this.settle.close(error));
  }
}

export interface BootResult {
  host: string;
  role: string;
  oldVersion: string | undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Boot groups: boot.limit hosts at a time (hosts of the primary role first), else one group. */
export function bootGroups(hosts: readonly string[], limit: number | undefined): string[][] {
  if (!limit || limit >= hosts.length) return [[...hosts]];
  const groups: string[][] = [];
  for (let i = 0; i < hosts.length; i += limit) groups.push(hosts.slice(i, i + limit));
  return groups;
}

/** Roles on a host in boot order: the primary role first, then the others in config order. */
export function bootOrder(roles: readonly Role[], primaryRole: string): Role[] {
  return [...roles].sort((a, b) => Number(b.name === primaryRole) - Number(a.name === primaryRole));
}

/** Printed by the swap script once `kamal-proxy deploy` succeeded: from then on the new version serves. */
export const SWAPPED_MARKER = 'wharf-swapped-to-new-version';

/** Printed by the start script once `docker run` succeeded (before a handoff in the same round trip). */
export const STARTED_MARKER = 'wharf-started-new-container';

/** The shell variable holding the new container's short id (12 hex digits) for a handoff in the start script. */
export const CONTAINER_ID_VARIABLE = 'wharf_id';

/**
 * The start of a role's new container, one round trip: the env directory and
 * audit line, the env file written atomically from stdin (mode 0600), the
 * rename of a clashing container, `docker run`, and (`statusOf`) the new
 * container's first health or state as `wharf_status=…`.
 */
export function startScript(parts: {
  prepare: Command;
  envFile: string;
  rename?: Command;
  run: Command;
  statusOf?: string;
  /**
   * With statusOf: what to run at once when that first status already means
   * ready (`healthy`, or `running` with a readiness_delay of 0, as Kamal
   * decides): the marker line, then the old container's stop.
   */
  whenReady?: string;
  /**
   * Instead of statusOf: what to run once `docker run` succeeded, with the new
   * container's short id in $wharf_id (CONTAINER_ID_VARIABLE): the swap script
   * (swapScript) of a proxied role. The id line and STARTED_MARKER come first.
   */
  handOff?: string;
}): string {
  const steps = [commandLine(parts.prepare), `( ${uploadCommand(parts.envFile, { mode: 0o600 })} )`];
  if (parts.rename) steps.push(commandLine(parts.rename));
  if (parts.handOff !== undefined) {
    // `docker run --detach` prints the id last (after any pull messages); the proxy wants the short id.
    steps.push(
      `wharf_cid=$(${commandLine(parts.run)})`,
      `echo "$wharf_cid"`,
      `echo ${STARTED_MARKER}`,
      `wharf_cid=\${wharf_cid##*[!0-9a-f]}`,
      `${CONTAINER_ID_VARIABLE}=$(printf %.12s "$wharf_cid")`,
      parts.handOff,
    );
    return steps.join(' && ');
  }
  steps.push(commandLine(parts.run));
  if (parts.statusOf !== undefined) {
    const inspect = commandLine(docker('inspect', '--format', DOCKER_HEALTH_STATUS_FORMAT, parts.statusOf));
    if (parts.whenReady === undefined) steps.push(`echo "wharf_status=$(${inspect})"`);
    else
      steps.push(
        `wharf_status=$(${inspect} || true)`,
        `{ echo "wharf_status=$wharf_status"; case "$wharf_status" in healthy|running) echo ${SWAPPED_MARKER}; ${parts.whenReady} ;; esac; }`,
      );
  }
  return steps.join(' && ');
}

/** The new container's id (the line `docker run --detach` printed) and its first status, from startScript's output. */
export function parseStart(stdout: string): { containerId: string; status: string | undefined } {
  const lines = stdout.split('\n').map((l) => l.trim());
  const status = lines.find((l) => l.startsWith('wharf_status='))?.slice('wharf_status='.length);
  const others = lines.filter((l) => l !== '' && !l.startsWith('wharf_status='));
  const id = others.find((l) => /^[0-9a-f]{64}$/.test(l)) ?? others.pop() ?? '';
  return { containerId: id.slice(0, 12), status };
}

/** An onStdout handler calling `seen` once, when the marker line has come (it may span chunks). */
export function watchMarker(seen: () => void, marker = SWAPPED_MARKER): (chunk: Buffer) => void {
  let text = '';
  let done = false;
  return (chunk) => {
    if (done) return;
    text = (text + chunk.toString()).slice(-4096);
    if (text.includes(marker)) {
      done = true;
      seen();
    }
  };
}

/** Stopping the old container (a failure to stop is not the deploy's failure, as in Kamal), then the clean-up. */
export function stopOldScript(stop: Command, cleanUp: Command | undefined): string {
  const text = `{ ${commandLine(stop)} || true ; }`;
  return cleanUp ? `${text} && ${commandLine(cleanUp)}` : text;
}

/**
 * The health-checked swap and, once it succeeded, the old container's stop:
 * one round trip. The marker line tells wharf the moment the new version
 * serves (to open the barrier) and, afterwards, whether a failure came from
 * the swap (the new container is unhealthy) or from the stop/clean-up.
 */
export function swapScript(deploy: Command, stopOld: string | undefined): string {
  return stopOld
    ? `${commandLine(deploy)} && { echo ${SWAPPED_MARKER}; ${stopOld} ; }`
    : `${commandLine(deploy)} && echo ${SWAPPED_MARKER}`;
}

class RoleBoot {
  readonly app: AppCommands;
  constructor(
    readonly ctx: Context,
    readonly remote: Remote,
    readonly config: Config,
    readonly role: Role,
    readonly host: string,
    readonly barrier: Barrier | undefined,
    readonly state: HostState,
    /** Called once the new container runs (its `docker run` succeeded). */
    readonly onStarted: () => void = () => {},
  ) {
    this.app = new AppCommands(config, { role, host });
  }

  private get version(): string {
    return this.config.version;
  }

  /** Boots the role; `onReady` is called as soon as the new container is healthy (before the old one stops). */
  async run(lookup: (name: string) => string, onReady: () => void): Promise<BootResult> {
    const { ctx, remote, host, role, app } = this;
    const stamp = await ctx.stamp();
    const name = app.containerName();
    let oldVersion = currentVersion(this.state, this.config, role);
    let rename: Command | undefined;
    let clash: { name: string; renamed: string } | undefined;
    if (containerNamed(this.state, name)) {
      // A container of this very version is there (a redeploy of the same version): rename it
      // out of the way; when it is the running one, it is the old version to stop after the swap.
      const renamed = `${this.version}_replaced_${randomBytes(8).toString('hex')}`;
      rename = app.renameContainer(this.version, renamed);
      clash = { name, renamed: app.containerName(renamed) };
      if (oldVersion === this.version) oldVersion = renamed;
    }
    if (!role.primary && this.barrier) {
      try {
        await this.barrier.promise;
      } catch {
        throw new UserError(
          `The first ${this.config.primaryRoleName} container is unhealthy, so ${role.name} was not booted on ${host}.`,
        );
      }
    }
    const auditor = new Auditor(this.config, stamp, { role: role.name });
    // A proxied role stops every other container of the role once the new one serves (see
    // replacedContainers); a role without the proxy its old version (the stale ones stopped before).
    const toStop = role.runningProxy
      ? replacedContainers(this.state, this.config, role, clash)
      : oldVersion && oldVersion !== this.version
        ? [app.containerName(oldVersion)]
        : [];
    const stopOld =
      toStop.length > 0
        ? stopOldScript(
            docker('stop', ...role.stopArgs(), ...toStop),
            cleanUpAfterBoot(this.config, role, host),
          )
        : undefined;
    // Without the proxy and without a readiness delay, the first status decides at once: a
    // container already running (or healthy) is ready, and its old version stops in the same
    // round trip (the marker line says it did).
    const readyInline = !role.runningProxy && this.config.readinessDelay <= 0;
    let healthy = false;
    const ready = () => {
      if (healthy) return;
      healthy = true;
      // For tools reading --json: the moment the new version serves (the old one stops after it).
      ctx.reporter.emit('ready', { host, role: role.name, container: name });
      if (role.primary) this.barrier?.open();
      onReady();
    };
    const stopSeconds = Number(role.stopArgs()[1] ?? 10);
    // What every start does first: env directory + audit line, the env file, the rename, docker run.
    const start = {
      prepare: combine([app.ensureEnvDirectory(), auditor.record(`Booted app version ${this.version}`)]),
      envFile: role.secretsPath,
      rename,
      run: app.run({ hostname: containerHostname(host) }),
    };
    if (role.runningProxy) {
      await this.startAndHandOff(lookup, stopOld, stopSeconds, start, ready, () => healthy);
      return { host, role: role.name, oldVersion };
    }
    let started;
    try {
      started = await remote.run(
        host,
        startScript({
          ...start,
          statusOf: name,
          whenReady: readyInline ? (stopOld ?? 'true') : undefined,
        }),
        `start ${name}`,
        {
          stdin: role.env(host).envFile(lookup),
          allowFailure: readyInline,
          // Ready the moment the marker comes (the old container's stop follows in the same round trip).
          ...(readyInline ? { onStdout: watchMarker(() => ready()) } : {}),
        },
      );
    } catch (error) {
      // The container did not even start: roles waiting for the first primary container learn it now.
      if (role.primary) this.barrier?.close(error as Error);
      throw error;
    }
    if (started.code === 0 || started.stdout.includes(SWAPPED_MARKER)) this.onStarted();
    if (readyInline && started.stdout.includes(SWAPPED_MARKER)) {
      // Ready at the first look; the old container's stop (and clean-up) ran after the marker.
      ready();
      if (started.code !== 0)
        throw new StepError(
          host,
          `stop ${app.containerName(oldVersion)}`,
          started,
          ctx.redact(failureDetail(started)),
        );
      return { host, role: role.name, oldVersion };
    }
    if (started.code !== 0) {
      const error = new StepError(host, `start ${name}`, started, ctx.redact(failureDetail(started)));
      if (role.primary) this.barrier?.close(error);
      throw error;
    }
    const { status } = parseStart(started.stdout);
    try {
      await this.waitUntilReady(name, status);
      ready();
      if (stopOld && oldVersion) await remote.run(host, stopOld, `stop ${app.containerName(oldVersion)}`);
    } catch (error) {
      // Once the new version serves, a failure (stopping the old one) must not stop it.
      if (healthy) throw error;
      if (role.primary) this.barrier?.close(error as Error);
      throw await this.bootFailure(name, error as Error);
    }
    return { host, role: role.name, oldVersion };
  }

  /**
   * A proxied role in one round trip: the start script runs the container and
   * hands it to wharf-proxy (health-checked), then stops the old container.
   * The marker lines say how far it got: no STARTED_MARKER, the start failed
   * (nothing to stop); no SWAPPED_MARKER, the new container never became
   * healthy (it is stopped and the old one keeps serving); both but a failure,
   * the old container's clean-up failed (the new one keeps serving).
   */
  private async startAndHandOff(
    lookup: (name: string) => string,
    stopOld: string | undefined,
    stopSeconds: number,
    start: Omit<Parameters<typeof startScript>[0], 'statusOf' | 'whenReady' | 'handOff'>,
    ready: () => void,
    isHealthy: () => boolean,
  ): Promise<void> {
    const { ctx, remote, host, role, app } = this;
    const name = app.containerName();
    let started = false;
    const watchReady = watchMarker(() => ready());
    const watchStart = watchMarker(() => {
      started = true;
      this.onStarted();
    }, STARTED_MARKER);
    let result;
    try {
      result = await remote.run(
        host,
        startScript({
          ...start,
          handOff: swapScript(app.deploy(`\${${CONTAINER_ID_VARIABLE}}`), stopOld),
        }),
        `start ${name} and hand it to wharf-proxy`,
        {
          stdin: role.env(host).envFile(lookup),
          timeoutMs: (this.config.deployTimeout + 120 + (stopOld ? stopSeconds + 30 : 0)) * 1000,
          allowFailure: true,
          onStdout: (chunk) => (watchStart(chunk), watchReady(chunk)),
        },
      );
    } catch (error) {
      // A dropped connection or a timeout. Once the new version serves, nothing may stop it.
      if (isHealthy()) throw error;
      if (role.primary) this.barrier?.close(error as Error);
      // Started but not (yet) healthy: stopped as after a failed handoff (when the host is still reachable).
      throw started ? await this.bootFailure(name, error as Error) : error;
    }
    if (!result.stdout.includes(STARTED_MARKER)) {
      const error = new StepError(host, `start ${name}`, result, ctx.redact(failureDetail(result)));
      if (role.primary) this.barrier?.close(error);
      throw error;
    }
    const step = `hand ${name} to wharf-proxy`;
    if (!result.stdout.includes(SWAPPED_MARKER)) {
      const error = new StepError(host, step, result, ctx.redact(failureDetail(result)));
      if (role.primary) this.barrier?.close(error);
      throw await this.bootFailure(name, error);
    }
    ready();
    if (result.code !== 0) {
      const cleanUpStep = `remove old ${role.name} assets and error pages`;
      throw new StepError(host, cleanUpStep, result, ctx.redact(failureDetail(result)));
    }
  }

  /**
   * Non-proxied roles: Docker's health status when the image has a check, else
   * running for readiness_delay (checked again after the delay; with a delay of
   * 0 the first `running` is enough, as in Kamal). `first`: the status read
   * with the start, which saves the first round trip.
   */
  private async waitUntilReady(name: string, first: string | undefined): Promise<void> {
    const deadline = Date.now() + this.config.deployTimeout * 1000;
    const inspect = docker('inspect', '--format', DOCKER_HEALTH_STATUS_FORMAT, name);
    const check = async () =>
      (
        await this.remote.run(this.host, inspect, `check ${name} health`, { allowFailure: true })
      ).stdout.trim();
    let status = first?.trim() || (await check());
    let pause = 1000;
    for (;;) {
      if (status === 'healthy') return;
      if (status === 'running') {
        if (this.config.readinessDelay <= 0) return;
        await sleep(this.config.readinessDelay * 1000);
        status = await check();
        if (status === 'running' || status === 'healthy') return;
      }
      if (status === 'exited' || status === 'dead' || status === 'unhealthy') break;
      if (Date.now() >= deadline) break;
      await sleep(pause);
      pause = Math.min(pause + 1000, 5000);
      status = await check();
    }
    throw new UserError(
      `Container ${name} on ${this.host} did not become ready within ${this.config.deployTimeout} s (status: ${status || 'unknown'})`,
    );
  }

  /** Stops the new container and explains why it failed: the reason, then the tail of its logs. */
  private async bootFailure(name: string, error: Error): Promise<UserError> {
    const logs = await this.remote
      .run(this.host, docker('logs', '--tail', '15', name, '2>&1'), `read ${name} logs`, {
        allowFailure: true,
      })
      .catch(() => undefined);
    // Stopped and renamed `<name>_failed_<hex>`: kept for its logs, but never taken for a version to roll back to.
    const failed = `${name}_failed_${randomBytes(8).toString('hex')}`;
    await this.remote
      .run(this.host, combine([docker('stop', name), docker('rename', name, failed)], ';'), `stop ${name}`, {
        allowFailure: true,
      })
      .catch(() => undefined);
    const reason =
      error instanceof StepError ? failureDetail(error.result) : error.message.replace(/\.$/, '');
    const tail = logs?.stdout
      .trim()
      .split('\n')
      .slice(-15)
      .map((l) => `    ${l}`)
      .join('\n');
    const message = `The new version ${this.version} of ${this.role.name} on ${this.host} never became healthy, so ${name} was stopped and the previous version keeps serving (${this.ctx.redact(reason)}).`;
    if (tail) this.ctx.reporter.warn(`last log lines of ${name} on ${this.host}:\n${this.ctx.redact(tail)}`);
    return new UserError(message, { cause: error });
  }
}

/** Each host's proxy state (with `proxy`) and app containers' state, one round trip per host. */
export async function readHostStates(
  ctx: Context,
  remote: Remote,
  hosts: readonly string[],
  options: { proxy?: boolean } = {},
): Promise<Map<string, { state: HostState; proxy?: ProxyState }>> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const out = new Map<string, { state: HostState; proxy?: ProxyState }>();
  await remote.onHosts(hosts, async (host) => {
    const roles = selection.rolesOn(host);
    if (roles.length === 0 && !options.proxy) return;
    const script = stateAndProxyScript(
      config,
      roles.map((r) => r.containerName()),
      options.proxy ? proxyProbeTarget(config, host) : undefined,
    );
    const result = await remote.run(
      host,
      script,
      options.proxy ? 'check the proxy and the app containers' : 'read the app containers',
    );
    out.set(host, {
      state: parseHostState(result.stdout),
      ...(options.proxy ? { proxy: parseProxyState(result.stdout) } : {}),
    });
  });
  return out;
}

const NO_CONTAINERS: HostState = { latestImageId: '', containers: [] };

/**
 * Boots one host's roles in boot order: each role starts once the one before
 * it is healthy (a failure stops the later ones, as in Kamal); the host is
 * done when every role is, old containers stopped.
 */
export async function bootHost(
  roles: readonly Role[],
  boot: (role: Role, onReady: () => void) => Promise<BootResult>,
): Promise<BootResult[]> {
  let previous: Promise<void> = Promise.resolve();
  const runs: Promise<BootResult>[] = [];
  for (const role of roles) {
    let ready!: () => void;
    let failed!: (error: unknown) => void;
    const readiness = new Promise<void>((resolve, reject) => ((ready = resolve), (failed = reject)));
    readiness.catch(() => {});
    const run = previous.then(() => boot(role, ready));
    run.then(
      () => ready(),
      (error: unknown) => failed(error),
    );
    previous = readiness;
    runs.push(run);
  }
  const settled = await Promise.allSettled(runs);
  const failure = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failure) throw failure.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<BootResult>).value);
}

export interface BootOptions {
  /** The hosts' state when the caller read it already (deploy does, with the proxy check). */
  states?: ReadonlyMap<string, HostState>;
  /** Tag the version `latest` on every host afterwards (default true). */
  tagLatest?: boolean;
  /**
   * Prune each host while it boots (deploy): from the moment the host's first
   * new container runs (see pruneDuringBoot); a host whose boot failed before
   * that is not pruned, as Kamal prunes only after a successful boot. The
   * boot waits for every prune it started.
   */
  prune?: (host: string, stopping: number) => Promise<void>;
}

/** How many old containers the boot of `roles` will stop on the host. */
export function oldContainersToStop(state: HostState, config: Config, roles: readonly Role[]): number {
  return roles.reduce(
    (n, role) =>
      n +
      (role.runningProxy
        ? replacedContainers(state, config, role).length
        : Number(currentVersion(state, config, role) !== undefined)),
    0,
  );
}

/** Boots the config's version on the selected hosts and roles; tags it latest on success. */
export async function bootApp(
  ctx: Context,
  remote: Remote,
  options: BootOptions = {},
): Promise<BootResult[]> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  const lookup = await ctx.secretLookup();
  const hosts = selection.appHosts;
  const primarySelected = selection.roles.some((r) => r.name === config.primaryRoleName);
  const barrier = primarySelected ? new Barrier() : undefined;
  const results: BootResult[] = [];
  // Error pages and assets are put in place on every host before any container boots (as Kamal does).
  const pages = await readErrorPages(config);
  await remote.onHosts(hosts, async (host) => {
    const roles = selection.rolesOn(host).map((r) => config.role(r.name)!);
    if (pages.length === 0 && !roles.some((r) => r.assets)) return;
    await ctx.reporter.step(host, 'error pages and assets', async () => {
      await uploadErrorPages(remote, config, host, pages);
      for (const role of roles) await prepareRoleAssets(remote, config, role, host);
    });
  });
  const states =
    options.states ??
    new Map([...(await readHostStates(ctx, remote, hosts))].map(([host, read]) => [host, read.state]));
  const groups = bootGroups(hosts, config.boot.limit);
  for (const [index, group] of groups.entries()) {
    await runConfiguredHook(ctx, 'pre-app-boot', { hosts: group.join(',') });
    await remote.onHosts(group, async (host) => {
      const roles = bootOrder(
        selection.rolesOn(host).map((r) => config.role(r.name)!),
        config.primaryRoleName,
      );
      const state = states.get(host) ?? NO_CONTAINERS;
      let pruning: Promise<void> | undefined;
      const startPrune = () => {
        if (!options.prune || pruning) return;
        pruning = options.prune(host, oldContainersToStop(state, config, roles));
        pruning.catch(() => {});
      };
      let booted: BootResult[];
      try {
        booted = await bootHost(roles, (role, onReady) =>
          ctx.reporter.step(host, `boot ${role.name} ${config.abbreviatedVersion}`, () =>
            new RoleBoot(ctx, remote, config, role, host, barrier, state, startPrune).run(lookup, onReady),
          ),
        );
      } catch (error) {
        // Nothing of this host's prune may still run when the deploy ends.
        await pruning?.catch(() => {});
        throw error;
      }
      startPrune();
      await pruning;
      results.push(...booted);
    });
    await runConfiguredHook(ctx, 'post-app-boot', { hosts: group.join(',') });
    if (config.boot.wait && index < groups.length - 1) await sleep(config.boot.wait * 1000);
  }
  if (options.tagLatest !== false) {
    const app = new AppCommands(config);
    await remote.onHosts(hosts, (host) => remote.run(host, app.tagLatestImage(), 'tag the latest image'));
  }
  return results;
}
