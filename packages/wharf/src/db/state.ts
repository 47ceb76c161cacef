/**
 * The tier's state as read from each node, and the pure decisions made on it:
 * which node is the primary, whether a switchover or failover is safe, and the
 * sentence to print when it is not. No I/O here.
 */
import { UserError } from '../util/errors.js';
import type { DbNode, DbTier } from './config.js';

/** One node's STATUS_SQL answer, or why it could not be read. */
export interface NodeStatus {
  node: string;
  host: string;
  service: string;
  reachable: boolean;
  /** Why the node could not be read (server unreachable, container stopped, Postgres down). */
  error?: string;
  inRecovery?: boolean;
  timeline?: number;
  currentLsn?: string | null;
  receiveLsn?: string | null;
  replayLsn?: string | null;
  lastReplayAt?: string | null;
  readOnly?: boolean;
  fenced?: boolean;
  receiver?: {
    status: string;
    sender_host: string | null;
    sender_port: number | null;
    timeline: number | null;
    flushed_lsn: string | null;
    primary_end_lsn: string | null;
    primary_end_at: string | null;
  } | null;
  replicas?: {
    name: string;
    address: string | null;
    state: string;
    sent_lsn: string | null;
    replay_lsn: string | null;
    lag_bytes: number | null;
    replay_lag_seconds: number | null;
  }[];
}

export type Role = 'primary' | 'standby' | 'fenced primary' | 'unreachable';

export function roleOf(s: NodeStatus): Role {
  if (!s.reachable) return 'unreachable';
  if (s.inRecovery) return 'standby';
  return s.fenced || s.readOnly ? 'fenced primary' : 'primary';
}

/** `X/Y` (hex halves) as a byte position. */
export function parseLsn(lsn: string): bigint {
  const m = /^([0-9A-Fa-f]+)\/([0-9A-Fa-f]+)$/.exec(lsn.trim());
  if (!m) throw new Error(`not an LSN: ${lsn}`);
  return (BigInt(`0x${m[1]}`) << 32n) + BigInt(`0x${m[2]}`);
}

export function lsnDiff(a: string | null | undefined, b: string | null | undefined): number | undefined {
  if (!a || !b) return undefined;
  return Number(parseLsn(a) - parseLsn(b));
}

/** Parses STATUS_SQL's JSON line plus the fence-file probe into a NodeStatus. */
export function parseNodeStatus(node: DbNode, json: string): NodeStatus {
  const raw = JSON.parse(json) as Record<string, unknown>;
  return {
    node: node.name,
    host: node.host,
    service: node.service,
    reachable: true,
    inRecovery: raw.in_recovery === true,
    timeline: typeof raw.timeline === 'number' ? raw.timeline : undefined,
    currentLsn: (raw.current_lsn as string | null) ?? null,
    receiveLsn: (raw.receive_lsn as string | null) ?? null,
    replayLsn: (raw.replay_lsn as string | null) ?? null,
    lastReplayAt: (raw.last_replay_at as string | null) ?? null,
    readOnly: raw.read_only === 'on',
    fenced: raw.fenced === true,
    receiver: (raw.receiver as NodeStatus['receiver']) ?? null,
    replicas: (raw.replicas as NodeStatus['replicas']) ?? [],
  };
}

export function unreachable(node: DbNode, error: string): NodeStatus {
  return { node: node.name, host: node.host, service: node.service, reachable: false, error };
}

/** Lag of a standby behind a primary: bytes not yet replayed, and seconds as the primary reports them. */
export function standbyLag(
  primary: NodeStatus,
  standby: NodeStatus,
): { bytes: number | undefined; seconds: number | null | undefined; streaming: boolean } {
  const row = primary.replicas?.find((r) => r.name === standby.node);
  return {
    bytes: lsnDiff(primary.currentLsn, standby.replayLsn),
    seconds: row?.replay_lag_seconds,
    streaming: row?.state === 'streaming',
  };
}

/** The one writable node, or a refusal naming what was found. */
export function singlePrimary(statuses: NodeStatus[], what: string): NodeStatus {
  const writers = statuses.filter((s) => s.reachable && !s.inRecovery);
  const unfenced = writers.filter((s) => !s.fenced && !s.readOnly);
  if (unfenced.length > 1) {
    throw new UserError(
      `${what} refused: ${unfenced.map((s) => `${s.node} (${s.host}, timeline ${s.timeline})`).join(' and ')} are both primaries accepting writes; keep the one with the data you want, fence the other with \`wharf db rejoin <node>\`, then check \`wharf db status\`.`,
    );
  }
  if (unfenced.length === 1) return unfenced[0]!;
  if (writers.length === 1) {
    const w = writers[0]!;
    throw new UserError(
      `${what} refused: the only primary ${w.node} (${w.host}) is fenced (${w.fenced ? 'wharf.fenced is present' : 'default_transaction_read_only is on'}), probably by an interrupted switchover; run \`wharf db switchover\` again or \`wharf db unfence ${w.node}\`.`,
    );
  }
  const down = statuses.filter((s) => !s.reachable);
  throw new UserError(
    `${what} refused: no node is a primary (${statuses.map((s) => `${s.node}: ${roleOf(s)}`).join(', ')}); ${down.length > 0 ? "if the primary's server is gone, run `wharf db failover`" : 'promote one with `wharf db failover --to <node>`'}.`,
  );
}

/** Checks that `target` can take over from `primary` in a planned switchover. */
export function checkSwitchover(tier: DbTier, primary: NodeStatus, target: NodeStatus): void {
  if (!target.reachable) {
    throw new UserError(
      `Switchover refused: the standby ${target.node} on ${target.host} cannot be read (${target.error}); fix it or choose another with --to.`,
    );
  }
  if (!target.inRecovery) {
    throw new UserError(`Switchover refused: ${target.node} is not a standby; pick a standby with --to.`);
  }
  if (target.timeline !== primary.timeline) {
    throw new UserError(
      `Switchover refused: the standby ${target.node} is on timeline ${target.timeline} but the primary ${primary.node} is on timeline ${primary.timeline}; rebuild it with \`wharf db rejoin ${target.node}\` first.`,
    );
  }
  const lag = standbyLag(primary, target);
  if (!lag.streaming || target.receiver?.sender_host !== nodeHostOf(tier, primary)) {
    throw new UserError(
      `Switchover refused: the standby ${target.node} is not streaming from the primary ${primary.node} (${target.receiver ? `its WAL receiver is ${target.receiver.status} from ${target.receiver.sender_host}` : 'no WAL receiver'}); run \`wharf db rejoin ${target.node}\` and check \`wharf db status\`.`,
    );
  }
  if (lag.bytes !== undefined && lag.bytes > tier.maxLagBytes) {
    throw new UserError(
      `Switchover refused: the standby ${target.node} is ${lag.bytes} bytes behind the primary, more than x-wharf-db.switchover.max_lag_bytes (${tier.maxLagBytes}); wait for it to catch up or raise the limit.`,
    );
  }
}

function nodeHostOf(tier: DbTier, s: NodeStatus): string {
  return tier.nodes.find((n) => n.name === s.node)?.host ?? s.host;
}

/**
 * The standby to promote when the primary is gone: the named one, or the
 * reachable standby that received the most WAL on the highest timeline.
 */
export function chooseFailoverTarget(statuses: NodeStatus[], named?: string): NodeStatus {
  const standbys = statuses.filter((s) => s.reachable && s.inRecovery);
  if (named !== undefined) {
    const s = statuses.find((x) => x.node === named);
    if (!s || !s.reachable || !s.inRecovery) {
      throw new UserError(
        `Failover refused: ${named} is ${s ? roleOf(s) : 'not a node'}, not a reachable standby; choose one of ${standbys.map((x) => x.node).join(', ') || '(none reachable)'} with --to.`,
      );
    }
    return s;
  }
  if (standbys.length === 0) {
    throw new UserError(
      `Failover refused: no standby can be reached (${statuses.map((s) => `${s.node}: ${roleOf(s)}${s.error ? ` (${s.error})` : ''}`).join(', ')}); bring a standby's server back first.`,
    );
  }
  const timelines = new Set(standbys.map((s) => s.timeline));
  if (timelines.size > 1) {
    throw new UserError(
      `Failover refused: the reachable standbys are on different timelines (${standbys.map((s) => `${s.node}: ${s.timeline}`).join(', ')}); name the one to promote with --to.`,
    );
  }
  return [...standbys].sort((a, b) => {
    const d = parseLsn(b.receiveLsn ?? b.replayLsn ?? '0/0') - parseLsn(a.receiveLsn ?? a.replayLsn ?? '0/0');
    return d > 0n ? 1 : d < 0n ? -1 : 0;
  })[0]!;
}

/** One HAProxy server row of `show stat`. */
export interface HaproxyServer {
  name: string;
  status: string;
  checkStatus: string;
  sessions: number;
}

/** The servers of the write backend from `show stat` CSV (`# pxname,svname,…`). */
export function parseShowStat(csv: string, backend: string): HaproxyServer[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) return [];
  const cols = header.slice(2).split(',');
  const at = (name: string) => cols.indexOf(name);
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split(','))
    .filter((f) => f[at('pxname')] === backend && !['FRONTEND', 'BACKEND'].includes(f[at('svname')] ?? ''))
    .map((f) => ({
      name: f[at('svname')] ?? '',
      status: f[at('status')] ?? '',
      checkStatus: f[at('check_status')] ?? '',
      sessions: Number(f[at('scur')] ?? 0),
    }));
}

/** One pool of pgbouncer's `SHOW POOLS`: clients active/waiting, server connections active/idle. */
export interface BouncerPool {
  database: string;
  user: string;
  cl_active: number;
  cl_waiting: number;
  sv_active: number;
  sv_idle: number;
  /** Seconds the oldest waiting client has waited. */
  maxwait: number;
  pool_mode: string;
}

/** Pure: pgbouncer's `SHOW POOLS` as psql prints it unaligned with `|` and a header row. */
export function parseShowPools(text: string): BouncerPool[] {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  const header = lines.shift();
  if (!header) return [];
  const cols = header.split('|');
  return lines.map((line) => {
    const f = line.split('|');
    const text = (name: string) => f[cols.indexOf(name)] ?? '';
    const num = (name: string) => Number(text(name) || 0);
    return {
      database: text('database'),
      user: text('user'),
      cl_active: num('cl_active'),
      cl_waiting: num('cl_waiting'),
      sv_active: num('sv_active'),
      sv_idle: num('sv_idle'),
      maxwait: num('maxwait') + num('maxwait_us') / 1e6,
      pool_mode: text('pool_mode'),
    };
  });
}
