/**
 * `wharf db rejoin NODE`: make a node a standby of the current primary again
 * and put it back in HAProxy's pool. First with pg_rewind when the node still
 * has its data directory (only the blocks changed since the timelines forked
 * are copied), else, or with --copy, or when the rewind fails, with a fresh
 * base backup (cloneStandby). The result line says which path was taken.
 */
import type { Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { enableArchiving } from './backup/index.js';
import { haproxySetServer, oneOffOnData, REPLICATION_PASSWORD_ENV, stopContainer } from './commands.js';
import type { DbNode, DbTier } from './config.js';
import { readNodes, replicationEnv, sql, stateOf } from './node-io.js';
import {
  containerLogTail,
  containerRunCommand,
  containerStillStarting,
  parseRewindOutput,
  REWIND_CHECKPOINT_SQL,
  postgresFailure,
  rewindNotes,
  rewindScript,
  type RewindOutcome,
} from './rewind.js';
import { cloneStandby, preparePrimary, recreateNode, streamsFrom, writeHaproxyConfig } from './setup-ops.js';
import { roleOf } from './state.js';

export interface RejoinOptions {
  /** Skip pg_rewind: always a fresh base backup. */
  copy?: boolean;
}

export interface RejoinReport {
  node: string;
  primary: string;
  path: 'rewind' | 'copy';
  /** Why the copy path was taken (`--copy`, or what made the rewind impossible or fail). */
  copyReason?: string;
  /** pg_rewind's own estimate of what it copied (changed blocks plus whole non-relation files). */
  rewoundMb?: number;
  sourceMb?: number;
  /** pg_rewind found the node already on the primary's history (it only needed restarting as a standby). */
  nothingToRewind?: boolean;
  seconds: number;
}

/** The stopped-container states docker stop is not needed for. */
const STOPPED = new Set(['exited', 'created', 'dead', 'missing']);

/**
 * How long a rewound node that keeps running gets to stream before rejoin
 * falls back to a copy: it first replays the WAL from the last common
 * checkpoint, which after a big write burst can take minutes. A node whose
 * Postgres stops (its container exits or restarts) is given up on at once.
 */
const REWOUND_STREAMING_TIMEOUT_MS = 600_000;

/**
 * Waits until the primary reports `node` streaming; undefined then, else why
 * not (the Postgres FATAL line from the container's log when it stopped).
 */
async function waitRewoundStreaming(
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  node: DbNode,
): Promise<string | undefined> {
  const deadline = Date.now() + REWOUND_STREAMING_TIMEOUT_MS;
  const why = async (what: string) => {
    const log = await remote
      .run(node.host, containerLogTail(node.service), `read the log of ${node.service}`, {
        allowFailure: true,
      })
      .then((r) => r.stdout)
      .catch(() => '');
    const fatal = postgresFailure(log);
    return `after pg_rewind ${what}${fatal ? `: ${fatal}` : ''}`;
  };
  for (;;) {
    if (await streamsFrom(remote, tier, primary, node)) return undefined;
    const run = await remote.run(node.host, containerRunCommand(node.service), `inspect ${node.service}`, {
      allowFailure: true,
    });
    if (!containerStillStarting(run.stdout)) return why(`Postgres stopped in ${node.service}`);
    if (Date.now() >= deadline)
      return why(`${node.name} did not stream within ${REWOUND_STREAMING_TIMEOUT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * Rewinds `node` to `primary`'s timeline with pg_rewind in a one-off
 * container (its own container stopped first), then starts it as a standby
 * and waits until it streams. `{ ok: false }` when the rewind was impossible
 * or failed: the node's container is then stopped, its data as pg_rewind
 * left it (signal and fence files put back), and the caller copies instead.
 */
async function rewindStandby(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  primary: DbNode,
  node: DbNode,
): Promise<RewindOutcome> {
  const env = await replicationEnv(ctx, tier);
  // pg_rewind takes the source's timeline from its pg_control, which a freshly promoted primary
  // updates only at its first checkpoint (spread over minutes after a promotion): until then it
  // would wrongly find both on the same timeline and rewind nothing.
  await ctx.reporter.step(
    primary.host,
    `checkpoint ${primary.name} (pg_rewind reads its timeline from pg_control)`,
    () => sql(remote, tier, primary, REWIND_CHECKPOINT_SQL, 'checkpoint', { timeoutMs: 600_000 }),
  );
  const outcome = await ctx.reporter.step(
    node.host,
    `rewind ${node.name} to ${primary.name}'s timeline (pg_rewind)`,
    async () => {
      const state = await stateOf(remote, node.host, node.service);
      if (!STOPPED.has(state)) {
        await remote.run(
          node.host,
          stopContainer(node.service, tier.timeoutSeconds),
          `stop ${node.service} (pg_rewind needs it shut down)`,
          { timeoutMs: (tier.timeoutSeconds + 30) * 1000 },
        );
      }
      const r = await remote.run(
        node.host,
        oneOffOnData(node, rewindScript(tier, primary, node), [REPLICATION_PASSWORD_ENV]),
        `rewind ${node.name} from ${primary.name}`,
        { env, allowFailure: true, timeoutMs: 1_800_000 },
      );
      const output = ctx.redact(`${r.stdout}\n${r.stderr}`);
      for (const note of rewindNotes(output)) ctx.reporter.info(note);
      return parseRewindOutput(r.code, output);
    },
  );
  if (!outcome.ok) return outcome;
  // Re-created from the configuration, as a clone is.
  await ctx.reporter.step(node.host, `start ${node.name} as a standby of ${primary.name}`, () =>
    recreateNode(ctx, remote, node),
  );
  const failure = await ctx.reporter.step(
    node.host,
    `wait until ${node.name} streams from ${primary.name}`,
    () => waitRewoundStreaming(remote, tier, primary, node),
  );
  return failure === undefined ? outcome : { ok: false, reason: failure };
}

/** The result line of a rejoin. */
export function rejoinSummary(report: RejoinReport, host: string): string {
  const how =
    report.path === 'rewind'
      ? `rewound from ${report.primary} (${
          report.nothingToRewind
            ? 'pg_rewind found nothing to rewind'
            : report.rewoundMb === undefined
              ? 'pg_rewind did not say how much it copied'
              : `pg_rewind copied ${report.rewoundMb} MB of changed blocks and files; the primary's data directory is ${report.sourceMb} MB`
        })`
      : `rebuilt from a fresh base backup of ${report.primary} (${report.copyReason === '--copy' ? '--copy' : `no rewind: ${report.copyReason}`})`;
  return `${report.node} on ${host} streams from ${report.primary} again: ${how}, in ${report.seconds.toFixed(1)} s.`;
}

/** Makes `node` a standby of the current primary (rewind, else a fresh copy) and puts it back in HAProxy's pool. */
export async function dbRejoin(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  node: DbNode,
  options: RejoinOptions = {},
): Promise<RejoinReport> {
  const statuses = await readNodes(remote, tier);
  const writers = statuses.filter(
    (s) => s.reachable && !s.inRecovery && !s.fenced && !s.readOnly && s.node !== node.name,
  );
  if (writers.length !== 1) {
    throw new UserError(
      `Rejoin refused: ${writers.length === 0 ? 'no other node is an unfenced primary' : `${writers.map((w) => w.node).join(' and ')} are all primaries`} (${statuses.map((s) => `${s.node}: ${roleOf(s)}`).join(', ')}); fix the primary first (\`wharf db status\`).`,
    );
  }
  const primary = tier.nodes.find((n) => n.name === writers[0]!.node)!;
  const target = statuses.find((s) => s.node === node.name)!;
  if (target.reachable && !target.inRecovery && !target.fenced && !target.readOnly) {
    throw new UserError(
      `Rejoin refused: ${node.name} is an unfenced primary itself; its data would be discarded, so fence it first with \`wharf db failover --to ${primary.name} --force\`.`,
    );
  }
  await preparePrimary(ctx, remote, tier, primary);
  const t0 = Date.now();
  let rewound: (RewindOutcome & { ok: true }) | undefined;
  let copyReason: string | undefined;
  if (options.copy) copyReason = '--copy';
  else {
    const outcome = await rewindStandby(ctx, remote, tier, primary, node);
    if (outcome.ok) rewound = outcome;
    else {
      copyReason = outcome.reason;
      ctx.reporter.warn(
        `Could not rewind ${node.name} to ${primary.name} (${outcome.reason.replace(/\.$/, '')}); taking a fresh base backup instead.`,
      );
    }
  }
  if (!rewound) await cloneStandby(ctx, remote, tier, primary, node);
  const seconds = (Date.now() - t0) / 1000;
  if (tier.backup?.node.name === node.name) await enableArchiving(ctx, remote, tier);
  await writeHaproxyConfig(ctx, remote, tier, [], { boot: false });
  for (const host of tier.haproxy.hosts) {
    await remote.run(
      host,
      haproxySetServer(tier.haproxy.service, node.name, true),
      'enable the node in HAProxy',
      { allowFailure: true },
    );
  }
  const report: RejoinReport = {
    node: node.name,
    primary: primary.name,
    path: rewound ? 'rewind' : 'copy',
    ...(copyReason !== undefined ? { copyReason } : {}),
    ...(rewound?.copiedMb !== undefined ? { rewoundMb: rewound.copiedMb, sourceMb: rewound.totalMb } : {}),
    ...(rewound?.nothingToDo ? { nothingToRewind: true } : {}),
    seconds,
  };
  ctx.reporter.result(rejoinSummary(report, node.host), {
    node: report.node,
    primary: report.primary,
    path: report.path,
    copy_reason: report.copyReason ?? null,
    rewound_mb: report.rewoundMb ?? null,
    nothing_to_rewind: report.nothingToRewind === true,
    source_mb: report.sourceMb ?? null,
    seconds,
  });
  return report;
}
