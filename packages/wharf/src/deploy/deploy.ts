/**
 * `deploy`, `redeploy` and `rollback` (Kamal's main commands): build and
 * push (or pull only), take the lock, pre-deploy hook, make sure wharf-proxy
 * runs, stop stale containers, boot the new version, prune, release the lock,
 * post-deploy hook with the runtime. Each phase is timed for the summary.
 */
import { AppCommands } from '../commands/app.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { bootApp } from './app-boot.js';
import { buildPush, pullImage } from './build-pull.js';
import { runConfiguredHook } from './hook-env.js';
import { withLock, type LockWait } from './lock.js';
import { pruneAll } from './prune.js';
import { bootProxy } from './proxy.js';
import { Remote } from './remote.js';

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

/** Stops running containers of other versions than the current one (Kamal's stale_containers --stop). */
export async function stopStaleContainers(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  await remote.onHosts(selection.appHosts, async (host) => {
    for (const r of selection.rolesOn(host)) {
      const app = new AppCommands(config, { role: r.name, host });
      const script = `current=$(${app.currentRunningVersion().join(' ')}); for v in $(${app.listVersions().join(' ')}); do [ "$v" = "$current" ] || echo "$v"; done`;
      const stale = (
        await remote.run(host, script, `find stale ${r.name} containers`, { allowFailure: true })
      ).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean);
      for (const version of stale) {
        ctx.reporter.info(`  Stopping stale container ${app.containerName(version)} on ${host}`);
        await remote.run(host, app.stop({ version }), `stop stale container ${app.containerName(version)}`, {
          allowFailure: true,
        });
      }
    }
  });
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
  try {
    await phase(ctx, 'Connect', () => remote.pool.connect(selection.hosts, 'connect'));
    if (!options.skipPush)
      await phase(ctx, 'Build and push', () => buildPush(ctx, { noCache: options.noCache }));
    await phase(ctx, 'Pull', () => pullImage(ctx, remote, hosts));
    await withLock(ctx, remote, options.lockWait ?? {}, async () => {
      await runConfiguredHook(ctx, 'pre-deploy');
      if (!options.redeploy) await phase(ctx, 'Proxy', () => bootProxy(ctx, remote));
      await phase(ctx, 'Stale containers', () => stopStaleContainers(ctx, remote));
      await phase(ctx, 'Boot', () => bootApp(ctx, remote));
      if (!options.redeploy) await phase(ctx, 'Prune', () => pruneAll(ctx, remote));
    });
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
  } finally {
    await ctx.close();
  }
}

export function formatSummary(summary: DeploySummary): string {
  const phases = summary.phases.map((p) => `${p.name.toLowerCase()} ${p.seconds.toFixed(1)} s`).join(', ');
  return `Deployed ${summary.version} to ${summary.hosts.join(', ')} in ${summary.seconds.toFixed(1)} s (${phases}${summary.roundTrips ? `; ${summary.roundTrips} SSH round trips` : ''}).`;
}
