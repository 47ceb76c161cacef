/**
 * `wharf db setup` (and the pieces `wharf db rejoin` shares): bring the primary up with a
 * replication role (also allowed to be a pg_rewind source), clone each standby from it with pg_basebackup and start
 * streaming, boot pgbouncer per node, and write HAProxy's configuration so
 * writes reach only the primary. With a `backup:` block, the backup node
 * archives WAL (see backup/archiving.ts); a clone never inherits archiving
 * from the node it was copied from.
 */
import { isAbsolute } from 'node:path/posix';
import { AccessoryCommands } from '../commands/accessory.js';
import { docker } from '../commands/base.js';
import type { Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import {
  baseBackupScript,
  haproxyConfig,
  hbaScript,
  nodeFilesScript,
  oneOffOnData,
  reloadHaproxy,
  removeContainer,
  REPLICATION_PASSWORD_ENV,
  replicationRoleSql,
  shellInContainer,
  TUNE_SQL,
} from './commands.js';
import { DB_CONFIG_KEY, type DbNode, type DbTier } from './config.js';
import {
  ensureAccessory,
  haproxyViews,
  prepareAccessory,
  readNode,
  readNodes,
  replicationEnv,
  routesOnlyTo,
  runOn,
  sql,
  stateOf,
  waitFor,
  waitReady,
} from './node-io.js';
import { roleOf, type NodeStatus } from './state.js';
import { cloneArchiveScript, enableArchiving } from './backup/index.js';
import { rewindGrantsSql } from './rewind.js';

/** The node that is the primary now: the one unfenced writer, or the configured primary on a fresh tier. */
function currentPrimary(tier: DbTier, statuses: NodeStatus[]): DbNode {
  const writers = statuses.filter((s) => s.reachable && !s.inRecovery);
  if (writers.length > 1) {
    throw new UserError(
      `Setup refused: ${writers.map((s) => `${s.node} (${s.host})`).join(' and ')} are both primaries; keep the one with the data you want and run \`wharf db rejoin <other>\` to make the other its standby.`,
    );
  }
  const name = writers[0]?.node ?? tier.configuredPrimary.name;
  return tier.nodes.find((n) => n.name === name)!;
}

/** Where HAProxy's configuration goes on its host: the host side of the directory mounted at config_dir. */
export function haproxyConfigPath(ctx: { files: string[] }, tier: DbTier): string {
  const dir = tier.haproxy.accessory.directories.find(
    (d) => d.containerPath.replace(/\/$/, '') === tier.haproxy.configDir,
  );
  if (!dir) {
    throw new UserError(
      `accessories.${tier.haproxy.name} mounts no directory at ${tier.haproxy.configDir} (${DB_CONFIG_KEY}.haproxy.config_dir); add \`directories: [haproxy:${tier.haproxy.configDir}]\` to it in ${ctx.files[0] ?? 'config/deploy.yml'} so wharf can write haproxy.cfg there.`,
    );
  }
  return `${isAbsolute(dir.hostPath) ? dir.hostPath : dir.hostPath}/haproxy.cfg`;
}

/** Writes haproxy.cfg on every HAProxy host (unreachable hosts are skipped with a warning) and reloads running ones. */
export async function writeHaproxyConfig(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  disabled: string[],
  options: { boot: boolean },
): Promise<void> {
  const config = await ctx.config();
  const path = haproxyConfigPath(config, tier);
  const text = haproxyConfig(tier, { disabled });
  await Promise.all(
    tier.haproxy.hosts.map(async (host) => {
      try {
        if (options.boot) await prepareAccessory(ctx, remote, tier.haproxy.name, host);
        await remote.upload(host, path, text, 0o644, 'write haproxy.cfg');
        const state = await stateOf(remote, host, tier.haproxy.service);
        if (state === 'running') {
          await remote.run(host, reloadHaproxy(tier.haproxy.service), 'reload HAProxy');
        } else if (options.boot) {
          await ensureAccessory(ctx, remote, tier.haproxy.name, host);
        }
      } catch (error) {
        if (options.boot) throw error;
        ctx.reporter.warn(
          `Could not update HAProxy on ${host} (${(error as Error).message.replace(/\.$/, '')}); run \`wharf db setup\` once it is back.`,
        );
      }
    }),
  );
}

/** Clones `standby` from `primary` (its container is replaced) and starts it streaming. */
export async function cloneStandby(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  standby: DbNode,
): Promise<void> {
  const env = await replicationEnv(ctx, tier);
  await ctx.reporter.step(standby.host, `clone ${standby.name} from ${primary.name} (pg_basebackup)`, () =>
    recreateNode(ctx, remote, standby, () =>
      runOn(
        remote,
        standby.host,
        oneOffOnData(
          standby,
          `${baseBackupScript(tier, primary, standby)}\n${cloneArchiveScript(tier, standby)}`,
          [REPLICATION_PASSWORD_ENV],
        ),
        `take a base backup of ${primary.name} into ${standby.name}`,
        env,
      ),
    ),
  );
  await waitStreaming(remote, tier, primary, standby, 90_000);
}

/**
 * Replaces `node`'s container with a new one from the configuration: the old
 * one removed, the accessory's files written, then `beforeStart` (e.g. filling
 * the data directory), then the container started.
 */
export async function recreateNode(
  ctx: Context,
  remote: Remote,
  node: DbNode,
  beforeStart?: () => Promise<unknown>,
): Promise<void> {
  await remote.run(node.host, removeContainer(node.service), `remove the container of ${node.name}`, {
    allowFailure: true,
  });
  await prepareAccessory(ctx, remote, node.name, node.host);
  await beforeStart?.();
  const acc = new AccessoryCommands(await ctx.config(), node.name);
  await remote.run(node.host, acc.run(node.host), `start ${node.service}`);
}

/** Whether the primary reports `standby` streaming from it. */
export async function streamsFrom(
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  standby: DbNode,
): Promise<boolean> {
  const p = await readNode(remote, tier, primary);
  return p.replicas?.some((r) => r.name === standby.name && r.state === 'streaming') ?? false;
}

export async function waitStreaming(
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  standby: DbNode,
  timeoutMs: number,
): Promise<void> {
  await waitFor(
    async () => ((await streamsFrom(remote, tier, primary, standby)) ? true : undefined),
    timeoutMs,
    async () => {
      const s = await readNode(remote, tier, standby);
      return new UserError(
        `${standby.name} on ${standby.host} is not streaming from ${primary.name} after ${timeoutMs / 1000} s (it is ${roleOf(s)}${s.error ? `: ${s.error}` : ''}); look at \`wharf accessory logs ${standby.name}\`.`,
      );
    },
    500,
  );
}

/** Replication role, pg_hba line, passfile and peers on the primary. */
export async function preparePrimary(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
): Promise<void> {
  const env = await replicationEnv(ctx, tier);
  await ctx.reporter.step(primary.host, `prepare ${primary.name} for replication`, async () => {
    await runOn(
      remote,
      primary.host,
      shellInContainer(primary.service, hbaScript(tier)),
      'allow replication in pg_hba.conf',
    );
    await sql(remote, tier, primary, TUNE_SQL, 'tune and reload the configuration');
    await sql(
      remote,
      tier,
      primary,
      replicationRoleSql(tier.replicationUser),
      'create the replication role',
      { env },
    );
    await sql(
      remote,
      tier,
      primary,
      rewindGrantsSql(tier.replicationUser),
      'let the replication role be a pg_rewind source',
    );
    await runOn(
      remote,
      primary.host,
      shellInContainer(primary.service, nodeFilesScript(tier, primary), [REPLICATION_PASSWORD_ENV]),
      'write the replication passfile and peers',
      env,
    );
  });
}

async function pullImages(remote: Remote, tier: DbTier): Promise<void> {
  const pairs = new Map<string, { host: string; image: string }>();
  const add = (host: string, image: string) => pairs.set(`${host} ${image}`, { host, image });
  for (const n of tier.nodes) {
    add(n.host, n.accessory.image);
    if (n.bouncer) add(n.bouncer.host, n.bouncer.accessory.image);
  }
  for (const h of tier.haproxy.hosts) add(h, tier.haproxy.accessory.image);
  await Promise.all(
    [...pairs.values()].map(({ host, image }) =>
      remote.run(host, docker('image', 'pull', image), `pull ${image}`, {
        allowFailure: true,
        timeoutMs: 600_000,
      }),
    ),
  );
}

export async function dbSetup(ctx: Context, remote: Remote, tier: DbTier): Promise<void> {
  // Images pulled on every host at once (booting one after the other would pull one after the other).
  await ctx.reporter.step(undefined, 'pull the images of the tier', () => pullImages(remote, tier));
  // Nodes whose containers exist but are stopped start first, so the primary is found by asking them.
  await Promise.all(
    tier.nodes.map(async (node) => {
      const state = await stateOf(remote, node.host, node.service).catch(() => 'unknown');
      if (state !== 'running' && state !== 'missing' && state !== 'unknown') {
        await ensureAccessory(ctx, remote, node.name, node.host);
        await waitReady(remote, tier, node).catch(() => undefined);
      }
    }),
  );
  const before = await readNodes(remote, tier);
  const primary = currentPrimary(tier, before);
  ctx.reporter.info(`Primary: ${primary.name} on ${primary.host}`);
  await ctx.reporter.step(primary.host, `boot ${primary.name}`, async () => {
    await ensureAccessory(ctx, remote, primary.name, primary.host);
    await waitReady(remote, tier, primary);
  });
  await preparePrimary(ctx, remote, tier, primary);
  for (const standby of tier.nodes.filter((n) => n !== primary)) {
    const s = await readNode(remote, tier, standby);
    const streaming =
      s.reachable &&
      s.inRecovery &&
      s.receiver?.status === 'streaming' &&
      s.receiver.sender_host === primary.host;
    if (streaming) {
      ctx.reporter.info(`${standby.name} already streams from ${primary.name}`);
      await sql(remote, tier, standby, TUNE_SQL, 'tune and reload the configuration');
      continue;
    }
    if (s.reachable && !s.inRecovery) {
      throw new UserError(
        `Setup refused: the standby ${standby.name} on ${standby.host} is running as a primary (timeline ${s.timeline}); if its data is not needed run \`wharf db rejoin ${standby.name}\` to rebuild it from ${primary.name}.`,
      );
    }
    await cloneStandby(ctx, remote, tier, primary, standby);
  }
  for (const node of tier.nodes) {
    if (node.bouncer) {
      const b = node.bouncer;
      await ctx.reporter.step(b.host, `boot ${b.name}`, () => ensureAccessory(ctx, remote, b.name, b.host));
    }
  }
  await enableArchiving(ctx, remote, tier);
  await ctx.reporter.step(undefined, 'write HAProxy configuration', () =>
    writeHaproxyConfig(ctx, remote, tier, [], { boot: true }),
  );
  await waitRouting(remote, tier, primary, 30_000);
  ctx.reporter.result(
    `The write VIP (${tier.haproxy.service}:${tier.haproxy.port}) routes to ${primary.name} on ${primary.host}; ${tier.nodes.length - 1} standby streaming.`,
  );
}

export async function waitRouting(
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  timeoutMs: number,
): Promise<number> {
  const t0 = Date.now();
  await waitFor(
    async () => (routesOnlyTo(await haproxyViews(remote, tier), primary.name) ? true : undefined),
    timeoutMs,
    async () => {
      const views = await haproxyViews(remote, tier);
      const seen = views
        .map((v) => `${v.host}: ${v.error ?? v.servers!.map((s) => `${s.name} ${s.status}`).join(', ')}`)
        .join('; ');
      return new UserError(
        `HAProxy does not route writes to ${primary.name} only after ${timeoutMs / 1000} s (${seen}); check the agent on port ${tier.agentPort} of each node with \`wharf db status\`.`,
      );
    },
    200,
  );
  return Date.now() - t0;
}
