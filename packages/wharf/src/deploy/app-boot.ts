/**
 * `app boot`: the new version replaces the old on every host and role, with
 * wharf-proxy swapping traffic for proxied roles (health-checked, drained) and
 * a Docker-health/readiness wait for the others. Hosts boot in parallel within
 * a boot group (boot.limit / boot.wait); on one host, roles boot one after the
 * other, the primary role first; non-primary roles wait until the first
 * primary container is healthy (Kamal's barrier).
 */
import { randomBytes } from 'node:crypto';
import { AppCommands, containerHostname } from '../commands/app.js';
import { Auditor } from '../commands/auditor.js';
import { combine, DOCKER_HEALTH_STATUS_FORMAT, docker } from '../commands/base.js';
import type { Config, Role } from '../config/index.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { Remote, StepError, failureDetail } from './remote.js';
import { runConfiguredHook } from './hook-env.js';
import { cleanUpAfterBoot, prepareRoleAssets, readErrorPages, uploadErrorPages } from './app-pages-assets.js';

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

class RoleBoot {
  readonly app: AppCommands;
  constructor(
    readonly ctx: Context,
    readonly remote: Remote,
    readonly config: Config,
    readonly role: Role,
    readonly host: string,
    readonly barrier: Barrier | undefined,
  ) {
    this.app = new AppCommands(config, { role, host });
  }

  private get version(): string {
    return this.config.version;
  }

  async run(lookup: (name: string) => string): Promise<BootResult> {
    const { ctx, remote, host, role, app } = this;
    const stamp = await ctx.stamp();
    const name = app.containerName();
    // One round trip: the running version, and whether a container of the new version exists.
    const state = await remote.run(
      host,
      `echo "current=$(${app.currentRunningVersion().join(' ')})"; echo "existing=$(${app.containerIdForVersion(this.version).join(' ')})"`,
      `inspect ${role.name} containers`,
    );
    let oldVersion = /^current=(.*)$/m.exec(state.stdout)?.[1]?.trim() || undefined;
    const existing = /^existing=(.*)$/m.exec(state.stdout)?.[1]?.trim();
    if (existing) {
      // A container of this very version is there (a redeploy of the same version): rename it
      // out of the way; when it is the running one, it is the old version to stop after the swap.
      const renamed = `${this.version}_replaced_${randomBytes(8).toString('hex')}`;
      await remote.run(
        host,
        app.renameContainer(this.version, renamed),
        `rename the clashing container ${name}`,
      );
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
    // Env file (0600) then run, in two round trips; secrets travel in the upload, never in argv.
    await remote.run(
      host,
      combine([app.ensureEnvDirectory(), auditor.record(`Booted app version ${this.version}`)]),
      `prepare ${role.name}`,
    );
    await remote.upload(
      host,
      role.secretsPath,
      role.env(host).envFile(lookup),
      0o600,
      `write the ${role.name} env file`,
    );
    const run = await remote.run(host, app.run({ hostname: containerHostname(host) }), `start ${name}`);
    const containerId = run.stdout.trim().split('\n').pop()!.slice(0, 12);
    try {
      if (role.runningProxy) {
        await remote.run(host, app.deploy(containerId), `hand ${name} to wharf-proxy`, {
          timeoutMs: (this.config.deployTimeout + 60) * 1000,
        });
      } else {
        await this.waitUntilReady(name);
      }
    } catch (error) {
      if (role.primary) this.barrier?.close(error as Error);
      throw await this.bootFailure(name, error as Error);
    }
    if (role.primary) this.barrier?.open();
    if (oldVersion && oldVersion !== this.version) {
      await remote.run(host, app.stop({ version: oldVersion }), `stop ${app.containerName(oldVersion)}`, {
        allowFailure: true,
      });
      // Kamal's stop_old_version: then the other versions' assets and error pages go.
      const cleanUp = cleanUpAfterBoot(this.config, role, host);
      if (cleanUp) await remote.run(host, cleanUp, `remove old ${role.name} assets and error pages`);
    }
    return { host, role: role.name, oldVersion };
  }

  /** Non-proxied roles: Docker's health status when the image has a check, else running for readiness_delay. */
  private async waitUntilReady(name: string): Promise<void> {
    const deadline = Date.now() + this.config.deployTimeout * 1000;
    const inspect = docker('inspect', '--format', DOCKER_HEALTH_STATUS_FORMAT, name);
    let status = '';
    let pause = 1000;
    while (Date.now() < deadline) {
      status = (
        await this.remote.run(this.host, inspect, `check ${name} health`, { allowFailure: true })
      ).stdout.trim();
      if (status === 'healthy') return;
      if (status === 'running') {
        await sleep(this.config.readinessDelay * 1000);
        status = (
          await this.remote.run(this.host, inspect, `check ${name} health`, { allowFailure: true })
        ).stdout.trim();
        if (status === 'running' || status === 'healthy') return;
      }
      if (status === 'exited' || status === 'dead' || status === 'unhealthy') break;
      await sleep(pause);
      pause = Math.min(pause + 1000, 5000);
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

/** Boots the config's version on the selected hosts and roles; tags it latest on success. */
export async function bootApp(ctx: Context, remote: Remote): Promise<BootResult[]> {
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
  const groups = bootGroups(hosts, config.boot.limit);
  for (const [index, group] of groups.entries()) {
    await runConfiguredHook(ctx, 'pre-app-boot', { hosts: group.join(',') });
    await remote.onHosts(group, async (host) => {
      const roles = bootOrder(
        selection.rolesOn(host).map((r) => config.role(r.name)!),
        config.primaryRoleName,
      );
      for (const role of roles) {
        const result = await ctx.reporter.step(host, `boot ${role.name} ${config.abbreviatedVersion}`, () =>
          new RoleBoot(ctx, remote, config, role, host, barrier).run(lookup),
        );
        results.push(result);
      }
    });
    await runConfiguredHook(ctx, 'post-app-boot', { hosts: group.join(',') });
    if (config.boot.wait && index < groups.length - 1) await sleep(config.boot.wait * 1000);
  }
  const app = new AppCommands(config);
  await remote.onHosts(hosts, (host) => remote.run(host, app.tagLatestImage(), 'tag the latest image'));
  return results;
}
