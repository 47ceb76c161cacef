/**
 * Counting for the load generator: failures by kind (with a few samples for
 * debugging) and latency samples reduced to percentiles.
 */

/**
 * Every way a request, stream or WebSocket can fail:
 * - connection: could not connect, or the connection died before a response head
 * - timeout: no complete answer within the scenario's timeout
 * - status: a response outside 2xx (or a refused WebSocket upgrade)
 * - truncated: the body (or SSE stream) ended early: fewer bytes than declared,
 *   a reset mid-body, a missing end marker or a missing final SSE event
 * - ws_abnormal_close: a WebSocket closed with a code other than 1001 (1006 = reset)
 * - message_lost: a WebSocket echo or an SSE event that never came
 * - message_out_of_order: one that came in the wrong order or twice
 * - overload: not sent because too many were in flight (the target stalled)
 */
export const FAILURE_KINDS = [
  'connection',
  'timeout',
  'status',
  'truncated',
  'ws_abnormal_close',
  'message_lost',
  'message_out_of_order',
  'overload',
] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

export interface FailureSample {
  kind: FailureKind;
  scenario: string;
  /** Milliseconds since the load started. */
  atMs: number;
  detail: string;
}

export type FailureCounts = Record<FailureKind, number>;

export function emptyFailureCounts(): FailureCounts {
  return Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as FailureCounts;
}

export function totalFailures(counts: FailureCounts): number {
  return FAILURE_KINDS.reduce((sum, k) => sum + counts[k], 0);
}

/** Collects failures across the whole run; keeps the first `maxSamples` in detail. */
export class FailureLog {
  readonly counts = emptyFailureCounts();
  readonly samples: FailureSample[] = [];
  constructor(
    private readonly startedAt: number,
    private readonly maxSamples = 50,
  ) {}

  record(kind: FailureKind, scenario: string, detail: string, count = 1): void {
    this.counts[kind] += count;
    if (this.samples.length < this.maxSamples) {
      this.samples.push({ kind, scenario, atMs: Math.round(performance.now() - this.startedAt), detail });
    }
  }
}

export interface Percentiles {
  count: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

/** Latency samples in milliseconds; stored whole (a 60 s run at 5k/s is 300k numbers). */
export class LatencyRecorder {
  private values = new Float64Array(1024);
  private length = 0;

  add(ms: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = ms;
  }

  get count(): number {
    return this.length;
  }

  percentiles(): Percentiles {
    return percentilesOf(this.values.subarray(0, this.length));
  }
}

/** Nearest-rank percentiles of `samples` (not modified). All zero when empty. */
export function percentilesOf(samples: ArrayLike<number>): Percentiles {
  const sorted = Float64Array.from(samples).sort();
  const n = sorted.length;
  if (n === 0) return { count: 0, min: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
  const at = (q: number) => sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]!;
  let sum = 0;
  for (const v of sorted) sum += v;
  const round = (v: number) => Math.round(v * 1000) / 1000;
  return {
    count: n,
    min: round(sorted[0]!),
    p50: round(at(0.5)),
    p90: round(at(0.9)),
    p99: round(at(0.99)),
    p999: round(at(0.999)),
    max: round(sorted[n - 1]!),
    mean: round(sum / n),
  };
}

/** Counts occurrences of string keys (which identity served, which close code). */
export function bump(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}
