/** `wharf db status`: each node's role, timeline, LSNs and lag, HAProxy's view of the write pool, pgbouncer's pools. */
import type { Remote } from '../deploy/remote.js';
import type { DbTier } from './config.js';
import { bouncerViews, haproxyViews, readNodes, type BouncerView, type HaproxyView } from './node-io.js';
import { lsnDiff, roleOf, type NodeStatus } from './state.js';

export interface TierStatus {
  nodes: (NodeStatus & { role: string; lag_bytes?: number; replay_lag_seconds?: number | null })[];
  haproxy: HaproxyView[];
  /** Each node's pgbouncer pools (empty without pgbouncer). */
  pgbouncer: BouncerView[];
  /** Sentences about states wharf does not accept (two primaries, a standby on another timeline…). */
  problems: string[];
}

export async function dbStatus(remote: Remote, tier: DbTier): Promise<TierStatus> {
  const [statuses, haproxy, pgbouncer] = await Promise.all([
    readNodes(remote, tier),
    haproxyViews(remote, tier),
    bouncerViews(remote, tier),
  ]);
  return describeTier(tier, statuses, haproxy, pgbouncer);
}

/** Pure: roles, lag against the primary, and the problems found. */
export function describeTier(
  tier: DbTier,
  statuses: NodeStatus[],
  haproxy: HaproxyView[],
  pgbouncer: BouncerView[] = [],
): TierStatus {
  const writers = statuses.filter((s) => s.reachable && !s.inRecovery && !s.fenced && !s.readOnly);
  const primary = writers.length === 1 ? writers[0] : undefined;
  const problems: string[] = [];
  if (writers.length > 1)
    problems.push(`${writers.map((w) => w.node).join(' and ')} are all primaries accepting writes.`);
  if (writers.length === 0) problems.push('No node accepts writes.');
  const nodes = statuses.map((s) => {
    const row = primary?.replicas?.find((r) => r.name === s.node);
    const out: TierStatus['nodes'][number] = { ...s, role: roleOf(s) };
    if (primary && s.inRecovery) {
      const lag = lsnDiff(primary.currentLsn, s.replayLsn);
      out.lag_bytes = lag === undefined ? undefined : Math.max(0, lag);
      out.replay_lag_seconds = row?.replay_lag_seconds ?? null;
      if (s.timeline !== primary.timeline)
        problems.push(
          `${s.node} is on timeline ${s.timeline}, the primary ${primary.node} on ${primary.timeline}; rebuild it with \`wharf db rejoin ${s.node}\`.`,
        );
      else if (row?.state !== 'streaming')
        problems.push(`${s.node} is not streaming from ${primary.node}; run \`wharf db rejoin ${s.node}\`.`);
    }
    if (!s.reachable) problems.push(`${s.node} on ${s.host} cannot be read: ${s.error}.`);
    return out;
  });
  for (const v of haproxy) {
    if (v.error) problems.push(`HAProxy on ${v.host} cannot be read: ${v.error}.`);
    else {
      const up = v.servers!.filter((s) => s.status.startsWith('UP')).map((s) => s.name);
      if (up.length !== 1 || (primary && up[0] !== primary.node))
        problems.push(
          `HAProxy on ${v.host} routes writes to ${up.length === 0 ? 'no node' : up.join(' and ')}.`,
        );
    }
  }
  for (const b of pgbouncer) {
    // Only a pgbouncer that does not answer is a problem: one that refuses SHOW to the admin
    // user (not in stats_users) still pools, and the line says how to let wharf see it.
    if (b.error && !/not allowed|permission|only .*admin/i.test(b.error))
      problems.push(`${b.name} on ${b.host} does not answer: ${b.error}.`);
  }
  void tier;
  return { nodes, haproxy, pgbouncer, problems };
}

export function formatStatus(status: TierStatus): string {
  const lines = status.nodes.map((n) => {
    const lsn = n.inRecovery ? `replay ${n.replayLsn ?? '-'}` : `lsn ${n.currentLsn ?? '-'}`;
    const lag =
      n.lag_bytes !== undefined
        ? `, lag ${n.lag_bytes} bytes${n.replay_lag_seconds != null ? ` / ${n.replay_lag_seconds.toFixed(3)} s` : ''}`
        : '';
    const detail = n.reachable
      ? `timeline ${n.timeline}, ${lsn}${lag}${n.fenced ? ', fenced' : ''}`
      : n.error;
    return `${n.node.padEnd(24)} ${n.host.padEnd(16)} ${n.role.padEnd(15)} ${detail}`;
  });
  for (const v of status.haproxy) {
    lines.push(
      `HAProxy ${v.host}: ${v.error ?? v.servers!.map((s) => `${s.name} ${s.status} (${s.checkStatus}, ${s.sessions} sessions)`).join(', ')}`,
    );
  }
  for (const b of status.pgbouncer) {
    const pools = b.pools?.filter((p) => p.database !== 'pgbouncer');
    lines.push(
      `pgbouncer ${b.name} (${b.host}): ${
        b.error
          ? /not allowed|permission|only .*admin/i.test(b.error)
            ? `pools hidden (${b.error}); add the admin user to stats_users in its pgbouncer.ini`
            : b.error
          : pools!.length === 0
            ? 'no pools yet'
            : pools!
                .map(
                  (p) =>
                    `${p.database}/${p.user} ${p.pool_mode}: clients ${p.cl_active} active ${p.cl_waiting} waiting${p.maxwait > 0 ? ` (max wait ${p.maxwait.toFixed(1)} s)` : ''}, servers ${p.sv_active} active ${p.sv_idle} idle`,
                )
                .join('; ')
      }`,
    );
  }
  lines.push(
    status.problems.length === 0 ? 'OK' : `Problems:\n${status.problems.map((p) => `  - ${p}`).join('\n')}`,
  );
  return `${lines.join('\n')}\n`;
}
