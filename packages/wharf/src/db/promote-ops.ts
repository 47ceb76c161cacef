/**
 * `wharf db switchover` (planned: zero committed transactions lost) and
 * `wharf db failover` (the primary's server is gone), plus `unfence`.
 *
 * Switchover: fence the primary (fence file, so its agent answers 503 and
 * HAProxy cuts its sessions; default_transaction_read_only; other sessions
 * ended), wait until the standby replayed the primary's last WAL position,
 * stop the old primary cleanly, check that the standby received its shutdown
 * checkpoint, promote the standby, start the old primary as its standby
 * (it was pointed at the new primary before stopping), and wait until HAProxy
 * routes writes to the new primary only.
 *
 * Failover: promote the best reachable standby, then make sure the old
 * primary cannot come back as a writer: fenced at rest when its server
 * answers, else by its own boot check (it asks its peers before Postgres
 * starts) and disabled in HAProxy in any case.
 */
import { PassThrough } from 'node:stream';
import { commandLine } from '../commands/base.js';
import { failureDetail, type Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import {
  fenceAndStopCommand,
  markHeldStandbyCommand,
  releaseHoldCommand,
  fenceAtRestScript,
  fenceSql,
  switchPoint,
  unfenceFileMeta,
  haproxySetServer,
  oneOffOnData,
  promoteSql,
  psqlCommand,
  receiverSampleCommand,
  removeFenceFileScript,
  shellInContainer,
  startContainer,
  stopContainer,
  UNFENCE_SQL,
  writeFenceFileScript,
} from './commands.js';
import { nodeNamed, type DbNode, type DbTier } from './config.js';
import {
  errorText,
  haproxyViews,
  readNode,
  readNodes,
  readNodesQuickly,
  runOn,
  sshPortAnswers,
  sql,
  stateOf,
  waitFor,
} from './node-io.js';
import { waitRouting, waitStreaming, writeHaproxyConfig } from './setup-ops.js';
import {
  checkSwitchover,
  chooseFailoverTarget,
  lsnDiff,
  parseLsn,
  roleOf,
  singlePrimary,
  type NodeStatus,
} from './state.js';

/**
 * A psql session on a node whose SQL arrives later: `ready` resolves once it
 * answered a first query; `finish(sql)` sends the rest, closes stdin and
 * resolves with what psql printed (rejects when psql fails).
 */
function openSession(remote: Remote, tier: DbTier, node: DbNode, timeoutMs: number) {
  const input = new PassThrough();
  let out = '';
  let markReady!: () => void;
  const readyPromise = new Promise<void>((resolve) => (markReady = resolve));
  const done = remote.pool.exec(node.host, commandLine(psqlCommand(tier, node)), {
    step: `psql on ${node.name}`,
    stdin: input,
    timeoutMs,
    onStdout: (chunk) => {
      out += chunk.toString();
      if (out.includes('wharf-session-ready')) markReady();
    },
  });
  input.write("SELECT 'wharf-session-ready';\n");
  const failed = done.then((r) => {
    throw new UserError(`The psql session on ${node.name} ended early (${failureDetail(r)}).`);
  });
  failed.catch(() => undefined);
  return {
    ready: Promise.race([readyPromise, failed]),
    async finish(sqlText: string): Promise<string> {
      input.end(sqlText);
      const r = await done;
      if (r.code !== 0) throw new UserError(`psql on ${node.name} failed: ${failureDetail(r)}.`);
      return r.stdout.replace(/^wharf-session-ready\n/, '');
    },
  };
}

export interface SwitchoverReport {
  from: string;
  to: string;
  /** Seconds from the fence until HAProxy routed writes to the new primary, as wharf saw it. */
  writeOutageSeconds: number;
  fencedAtLsn: string;
  oldPrimaryFollows: boolean;
}

function nodeOf(tier: DbTier, s: NodeStatus): DbNode {
  return tier.nodes.find((n) => n.name === s.node)!;
}

function pickTarget(tier: DbTier, statuses: NodeStatus[], primary: NodeStatus, to?: string): NodeStatus {
  if (to !== undefined) {
    const node = nodeNamed(tier, to, '--to');
    return statuses.find((s) => s.node === node.name)!;
  }
  const standbys = statuses.filter((s) => s.node !== primary.node);
  const streaming = standbys.filter(
    (s) =>
      s.reachable &&
      s.inRecovery &&
      primary.replicas?.some((r) => r.name === s.node && r.state === 'streaming'),
  );
  if (streaming.length === 0) return standbys[0]!;
  return [...streaming].sort((a, b) =>
    Number(parseLsn(b.replayLsn ?? '0/0') - parseLsn(a.replayLsn ?? '0/0')),
  )[0]!;
}

async function checkHaproxyReachable(remote: Remote, tier: DbTier, what: string): Promise<void> {
  const views = await haproxyViews(remote, tier);
  const broken = views.filter((v) => v.error !== undefined);
  if (broken.length > 0) {
    throw new UserError(
      `${what} refused: HAProxy on ${broken.map((b) => `${b.host} (${b.error})`).join(', ')} cannot be read, so wharf could not verify where writes go; fix it (\`wharf accessory reboot ${tier.haproxy.name}\`) and retry.`,
    );
  }
}

export async function dbSwitchover(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  options: { to?: string } = {},
): Promise<SwitchoverReport> {
  const statuses = await readNodes(remote, tier);
  const p = singlePrimary(statuses, 'Switchover');
  const t = pickTarget(tier, statuses, p, options.to);
  if (t.node === p.node)
    throw new UserError(`Switchover refused: ${t.node} is already the primary; name a standby with --to.`);
  checkSwitchover(tier, p, t);
  await checkHaproxyReachable(remote, tier, 'Switchover');
  const primary = nodeOf(tier, p);
  const target = nodeOf(tier, t);
  ctx.reporter.info(
    `Switching the primary from ${primary.name} (${primary.host}) to ${target.name} (${target.host})`,
  );

  // A checkpoint first, outside the write pause, so the shutdown checkpoint in step 3 has little to write.
  await ctx.reporter.step(primary.host, `checkpoint ${primary.name}`, () =>
    sql(remote, tier, primary, 'CHECKPOINT;', 'checkpoint', { timeoutMs: 300_000 }),
  );

  // The standby's psql session opens now, before the pause: at the fence it only has to run SQL.
  const session = openSession(remote, tier, target, (2 * tier.timeoutSeconds + 30) * 1000);
  await ctx.reporter.step(target.host, `open a session on ${target.name}`, () => session.ready);

  // 1. The old primary in one exec: fence (fence file, so its agent answers 503 and HAProxy cuts
  // its sessions; read-only default; other sessions ended; primary_conninfo to the new primary for
  // later), then a clean fast shutdown that waits until the standby confirmed all WAL.
  const fencedAt = Date.now();
  let fenceLsn: string;
  try {
    fenceLsn = await ctx.reporter.step(
      primary.host,
      `fence writes on ${primary.name} and stop its Postgres`,
      async () => {
        const out = await remote.run(
          primary.host,
          fenceAndStopCommand(tier, primary, tier.timeoutSeconds),
          'fence and stop',
          {
            stdin: fenceSql(tier, target, primary, `switchover to ${target.name}`),
            timeoutMs: (tier.timeoutSeconds + 10) * 1000,
          },
        );
        return out.stdout.trim().split('\n').pop()!.trim();
      },
    );
  } catch (error) {
    await session.finish('').catch(() => undefined);
    throw error;
  }

  // 2. The standby, in the open session: wait until it replayed the fence position, then promote.
  let history: string;
  try {
    history = await ctx.reporter.step(
      target.host,
      `promote ${target.name} once it replayed ${fenceLsn}`,
      () => session.finish(promoteSql(tier, tier.timeoutSeconds, fenceLsn)),
    );
  } catch (error) {
    const s = await readNode(remote, tier, target);
    if (s.reachable && s.inRecovery) {
      // Not promoted: the old primary takes the writes again.
      await runOn(remote, primary.host, releaseHoldCommand(tier, primary), 'start Postgres again').catch(
        () => undefined,
      );
      await waitFor(
        async () => ((await readNode(remote, tier, primary)).reachable ? true : undefined),
        60_000,
        () => new Error('x'),
        500,
      ).catch(() => undefined);
      await sql(remote, tier, primary, unfenceFileMeta(tier) + UNFENCE_SQL, 'lift the fence').catch(
        () => undefined,
      );
      throw new UserError(
        `Switchover gave up: ${target.name} was not promoted (${errorText(error)}); ${primary.name} was started again without its fence and is the primary; check replication with \`wharf db status\`.`,
      );
    }
    throw new UserError(
      `Switchover failed while promoting ${target.name} (${errorText(error)}); run \`wharf db status\` to see which node accepts writes.`,
    );
  }
  if (!/^t$/m.test(history)) {
    throw new UserError(
      `${target.name} did not leave recovery within ${tier.timeoutSeconds} s after pg_promote(); no node accepts writes now; look at \`wharf accessory logs ${target.name}\` and run \`wharf db status\`.`,
    );
  }

  // 5. Writes go to the new primary.
  await ctx.reporter.step(undefined, `wait until HAProxy routes writes to ${target.name}`, () =>
    waitRouting(remote, tier, target, 20_000),
  );
  const writeOutageSeconds = (Date.now() - fencedAt) / 1000;

  // 6. The old primary follows the new one when it stopped before the fork (else it needs a rebuild).
  const control = await ctx.reporter.step(primary.host, `mark ${primary.name} as a standby`, () =>
    runOn(remote, primary.host, markHeldStandbyCommand(tier, primary), 'write standby.signal'),
  );
  const checkpoint = /Latest checkpoint location:\s*(\S+)/.exec(control)?.[1];
  const cleanStop = /Database cluster state:\s*shut down/.test(control);
  const fork = switchPoint(history);
  const canFollow =
    cleanStop && checkpoint !== undefined && fork !== undefined && parseLsn(checkpoint) < parseLsn(fork);
  let oldPrimaryFollows = false;
  if (canFollow) {
    await runOn(
      remote,
      primary.host,
      releaseHoldCommand(tier, primary),
      `start Postgres in ${primary.service} again`,
    );
    oldPrimaryFollows = await waitStreaming(remote, tier, target, primary, 60_000).then(
      () => true,
      (error: Error) => {
        ctx.reporter.warn(
          `${error.message.replace(/\.$/, '')}; rebuild it with \`wharf db rejoin ${primary.name}\`.`,
        );
        return false;
      },
    );
  } else {
    ctx.reporter.warn(
      `${primary.name} ${cleanStop ? `stopped at ${checkpoint}, past the point where ${target.name} forked (${fork ?? 'unknown'})` : 'did not stop cleanly'}, so it cannot follow ${target.name} as it is; Postgres stays stopped in its container: run \`wharf db rejoin ${primary.name}\` to rebuild it as a standby.`,
    );
  }
  ctx.reporter.result(
    `Switched over from ${primary.name} to ${target.name}: writes were fenced for ${writeOutageSeconds.toFixed(1)} s; ${primary.name} ${oldPrimaryFollows ? `streams from ${target.name}` : 'needs `wharf db rejoin`'}.`,
    {
      from: primary.name,
      to: target.name,
      write_outage_seconds: writeOutageSeconds,
      fenced_at_lsn: fenceLsn,
      old_primary_follows: oldPrimaryFollows,
    },
  );
  return {
    from: primary.name,
    to: target.name,
    writeOutageSeconds,
    fencedAtLsn: fenceLsn,
    oldPrimaryFollows,
  };
}

export interface FailoverReport {
  from: string | undefined;
  to: string;
  /** What the standby had not received when the primary was last heard from (the agent's last sample). */
  lostBytes: number | undefined;
  primaryLastHeardAt: string | undefined;
  lastReplayAt: string | null | undefined;
  oldPrimaryFenced: 'at rest' | 'at boot and in HAProxy';
  secondsToRouting: number;
}

function parseSample(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.split('='))
      .filter((kv) => kv.length >= 2)
      .map(([k, ...v]) => [k!, v.join('=')]),
  );
}

export async function dbFailover(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  options: { to?: string; force?: boolean } = {},
): Promise<FailoverReport> {
  const t0 = Date.now();
  const statuses = await readNodesQuickly(ctx, remote, tier);
  const writers = statuses.filter((s) => s.reachable && !s.inRecovery && !s.fenced && !s.readOnly);
  if (writers.length > 1) {
    throw new UserError(
      `Failover refused: ${writers.map((w) => `${w.node} (timeline ${w.timeline})`).join(' and ')} both accept writes; decide which data to keep, then \`wharf db rejoin\` the other.`,
    );
  }
  if (writers.length === 1 && !options.force) {
    throw new UserError(
      `Failover refused: the primary ${writers[0]!.node} on ${writers[0]!.host} is up and accepting writes; use \`wharf db switchover\` for a planned change, or pass --force to promote a standby anyway (the primary is then fenced).`,
    );
  }
  const t = chooseFailoverTarget(
    statuses,
    options.to !== undefined ? nodeNamed(tier, options.to, '--to').name : undefined,
  );
  const target = nodeOf(tier, t);
  const old = statuses.find(
    (s) => s.node !== t.node && (!s.reachable || !s.inRecovery || s.node === writers[0]?.node),
  );
  const oldNode = old ? nodeOf(tier, old) : undefined;

  ctx.reporter.info(
    `Promoting ${target.name} on ${target.host} (${old ? `old primary ${old.node}: ${roleOf(old)}` : 'no old primary found'})`,
  );
  // HAProxy: the old primary out of the pool at once and for good (until `db rejoin`), while promoting.
  const disable = oldNode
    ? Promise.all(
        tier.haproxy.hosts.map((host) =>
          remote
            .run(
              host,
              haproxySetServer(tier.haproxy.service, oldNode.name, false),
              `disable ${oldNode.name} in HAProxy`,
              { timeoutMs: 10_000 },
            )
            .catch((error: unknown) =>
              ctx.reporter.warn(
                `Could not disable ${oldNode.name} in HAProxy on ${host} (${errorText(error)}).`,
              ),
            ),
        ),
      )
    : Promise.resolve();
  await ctx.reporter.step(target.host, `promote ${target.name}`, async () => {
    const out = await sql(remote, tier, target, promoteSql(tier, tier.timeoutSeconds), 'promote');
    if (!/^t$/m.test(out)) {
      throw new UserError(
        `${target.name} did not leave recovery within ${tier.timeoutSeconds} s after pg_promote(); look at \`wharf accessory logs ${target.name}\`.`,
      );
    }
  });
  await disable;

  // What the standby knew of the primary when it was last heard from (the agent stops sampling
  // once the node is out of recovery, so its last sample is still the one from before).
  const sample = parseSample(
    await runOn(
      remote,
      target.host,
      receiverSampleCommand(target.service),
      'read the last WAL receiver sample',
    ).catch(() => ''),
  );
  const lostBytes = lsnDiff(sample.primary_end_lsn, sample.receiver_flushed_lsn);
  const primaryLastHeardAt = sample.primary_end_time
    ? new Date(Number(sample.primary_end_time) * 1000).toISOString()
    : undefined;
  await ctx.reporter.step(undefined, `wait until HAProxy routes writes to ${target.name}`, () =>
    waitRouting(remote, tier, target, 30_000),
  );
  const secondsToRouting = (Date.now() - t0) / 1000;
  if (oldNode) await writeHaproxyConfig(ctx, remote, tier, [oldNode.name], { boot: false });

  // Fence the old primary where it lies, when its server answers.
  let oldPrimaryFenced: FailoverReport['oldPrimaryFenced'] = 'at boot and in HAProxy';
  if (oldNode) {
    try {
      if (!(await sshPortAnswers(ctx, oldNode.host)))
        throw new Error(`the server ${oldNode.host} does not answer on its SSH port`);
      const state = await stateOf(remote, oldNode.host, oldNode.service);
      if (state === 'missing') throw new Error('no container');
      if (state === 'running') {
        await runOn(
          remote,
          oldNode.host,
          shellInContainer(oldNode.service, writeFenceFileScript(tier, `failover to ${target.name}`)),
          'write the fence file',
        );
        await runOn(
          remote,
          oldNode.host,
          stopContainer(oldNode.service, tier.timeoutSeconds),
          `stop ${oldNode.service}`,
        );
      }
      await runOn(
        remote,
        oldNode.host,
        oneOffOnData(oldNode, fenceAtRestScript(tier, `failover to ${target.name}`)),
        'fence the old primary at rest',
      );
      await runOn(
        remote,
        oldNode.host,
        startContainer(oldNode.service),
        `start ${oldNode.service} read-only`,
      );
      oldPrimaryFenced = 'at rest';
    } catch (error) {
      ctx.reporter.warn(
        `${oldNode.name} on ${oldNode.host} could not be fenced now (${errorText(error)}); when its server returns it starts read-only (its boot check finds ${target.name} primary) and HAProxy keeps it out; then run \`wharf db rejoin ${oldNode.name}\`.`,
      );
    }
  }
  const report: FailoverReport = {
    from: old?.node,
    to: target.name,
    lostBytes,
    primaryLastHeardAt,
    lastReplayAt: t.lastReplayAt,
    oldPrimaryFenced,
    secondsToRouting,
  };
  ctx.reporter.result(
    `Failed over to ${target.name}: writes routed to it ${secondsToRouting.toFixed(1)} s after the command started; ${
      lostBytes === undefined
        ? 'the replication lag at the failure is unknown (no WAL receiver sample)'
        : `${lostBytes} bytes of WAL the primary reported were not received${primaryLastHeardAt ? ` (primary last heard from at ${primaryLastHeardAt})` : ''}`
    }; last replayed transaction committed at ${t.lastReplayAt ?? 'unknown'}; ${oldNode ? `${oldNode.name} fenced ${oldPrimaryFenced}` : 'no old primary to fence'}.`,
    {
      from: report.from,
      to: report.to,
      lost_bytes: lostBytes ?? null,
      primary_last_heard_at: primaryLastHeardAt ?? null,
      last_replay_at: t.lastReplayAt ?? null,
      old_primary_fenced: oldPrimaryFenced,
      seconds_to_routing: secondsToRouting,
    },
  );
  return report;
}

/** Lifts a fence left on a primary (fence file and read-only default), e.g. after an interrupted switchover. */
export async function dbUnfence(ctx: Context, remote: Remote, tier: DbTier, node: DbNode): Promise<void> {
  const statuses = await readNodes(remote, tier);
  const s = statuses.find((x) => x.node === node.name)!;
  const others = statuses.filter(
    (x) => x.node !== node.name && x.reachable && !x.inRecovery && !x.fenced && !x.readOnly,
  );
  if (!s.reachable || s.inRecovery) {
    throw new UserError(
      `Unfence refused: ${node.name} is ${roleOf(s)}, not a fenced primary; nothing to lift.`,
    );
  }
  if (others.length > 0) {
    throw new UserError(
      `Unfence refused: ${others.map((o) => o.node).join(', ')} already accepts writes; lifting the fence on ${node.name} would make two primaries.`,
    );
  }
  await runOn(
    remote,
    node.host,
    shellInContainer(node.service, removeFenceFileScript(tier)),
    'remove the fence file',
  );
  await sql(remote, tier, node, UNFENCE_SQL, 'lift the read-only default');
  ctx.reporter.result(`${node.name} accepts writes again.`);
}
