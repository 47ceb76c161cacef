/**
 * `deploy`, `redeploy` and `rollback` (Kamal's main commands): build and
 * push (or pull only), take the lock, pre-deploy hook, make sure wharf-proxy
 * runs, stop stale containers, boot the new version, prune, release the lock,
 * post-deploy hook with the runtime. Each phase is timed for the summary.
 */
import { AppCommands } from '../commands/app.js';
import { docker, filterArgs } from '../commands/base.js';
import { proxyExec } from '../commands/proxy.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { bootApp } from './app-boot.js';
import { buildPush, pullImage } from './build-pull.js';
import { runConfiguredHook } from './hook-env.js';
import { withLock, type LockWait } from './lock.js';
import { pruneAll } from './prune.js';
import { bootProxy } from './proxy.js';
import { requireReachableRegistry } from './registry-reach.js';
import { connectionDrop, Remote } from './remote.js';

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
 * `kamal-proxy list` (a table, possibly coloured) -> the container id the
 * proxy routes `service` to, or undefined when it has no such service.
 */
export function proxyTargetId(listOutput: string, service: string): string | undefined {
  for (const line of listOutput.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
    const cells = line.trim().split(/\s+/);
    if (cells[0] !== service) continue;
    const target = cells.find((c) => /^[0-9a-f]{6,64}:\d+$/.test(c));
    if (target) return target.split(':')[0];
  }
  return undefined;
}

/**
 * Which running containers (`<id> <name>` lines) are stale: every one but the
 * version to keep. That is the container wharf-proxy routes to when it routes
 * to one of them (after an interrupted deploy the proxy may already serve a
 * version the `latest` tag does not know yet: stopping it would take the
 * service down), else Kamal's current version.
 */
export function staleContainers(
  running: string,
  prefix: string,
  current: string,
  servingId: string | undefined,
): string[] {
  const rows = running
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((r): r is [string, string] => r.length === 2 && r[1]!.startsWith(`${prefix}-`))
    .map(([id, name]) => ({ id, version: name.slice(prefix.length + 1) }));
  const serving = servingId
    ? rows.find((r) => r.id.startsWith(servingId) || servingId.startsWith(r.id))
    : undefined;
  const keep = serving ? serving.version : current.trim();
  return rows.map((r) => r.version).filter((v) => v !== keep);
}

/** Stops running containers of other versions than the current one (Kamal's stale_containers --stop). */
export async function stopStaleContainers(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const selection = await ctx.selection();
  await remote.onHosts(selection.appHosts, async (host) => {
    for (const r of selection.rolesOn(host)) {
      const app = new AppCommands(config, { role: r.name, host });
      const prefix = r.containerPrefix();
      // One round trip: Kamal's current version, the proxy's target, the running containers.
      const script = [
        `echo "current=$(${app.currentRunningVersion().join(' ')})"`,
        ...(r.runningProxy ? [`${proxyExec('list').join(' ')} 2>/dev/null | sed 's/^/proxy=/'`] : []),
        docker('ps', ...filterArgs(app.containerFilters()), '--format', "'{{.ID}} {{.Names}}'").join(' '),
      ].join('; ');
      const out = (await remote.run(host, script, `find stale ${r.name} containers`, { allowFailure: true }))
        .stdout;
      const current = /^current=(.*)$/m.exec(out)?.[1] ?? '';
      const servingId = proxyTargetId(
        out
          .split('\n')
          .filter((l) => l.startsWith('proxy='))
          .map((l) => l.slice('proxy='.length))
          .join('\n'),
        prefix,
      );
      const running = out
        .split('\n')
        .filter((l) => !/^(current|proxy)=/.test(l))
        .join('\n');
      for (const version of staleContainers(running, prefix, current, servingId)) {
        ctx.reporter.info(`  Stopping stale container ${app.containerName(version)} on ${host}`);
        await remote.run(host, app.stop({ version }), `stop stale container ${app.containerName(version)}`, {
          allowFailure: true,
        });
      }
    }
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
  try {
    await phase(ctx, 'Connect', () => remote.pool.connect(selection.hosts, 'connect'));
    if (!options.skipPush)
      await phase(ctx, 'Build and push', () => buildPush(ctx, { noCache: options.noCache }));
    await phase(ctx, 'Pull', async () => {
      await requireReachableRegistry(ctx);
      await pullImage(ctx, remote, hosts);
    });
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
