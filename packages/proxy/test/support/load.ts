/**
 * Open-loop load generator for proxy tests and benchmarks.
 *
 * Requests are sent on a fixed schedule (request i at start + i/rate), whether
 * or not earlier ones have answered, so a stalled target shows up as latency
 * and failures instead of slowing the load down. Latency is measured from the
 * scheduled time, not the actual send, so a late sender cannot hide a stall
 * (no coordinated omission). Beside the requests it keeps SSE streams and
 * WebSockets open, reopening them as they end.
 *
 * Targets are plain URLs: nothing here knows how the proxy was started, so the
 * same load runs against a loopback proxy, a fleet server or an app directly.
 *
 *   const load = startLoad({ rate: 300, requests: [...], sse: {...}, websockets: {...} });
 *   ...
 *   const report = await load.stop();
 *   console.log(formatReport(report));
 */
import { createAgents, destroyAgents, sendRequest, type HttpScenario } from './load-http.js';
import { readEventStream, type SseOptions } from './load-sse.js';
import {
  bump,
  FailureLog,
  FAILURE_KINDS,
  LatencyRecorder,
  totalFailures,
  type FailureCounts,
  type FailureSample,
  type Percentiles,
} from './load-stats.js';
import { WsSlot, type WsOptions, type WsStats } from './load-ws.js';

export type { HttpScenario } from './load-http.js';
export type { SseOptions } from './load-sse.js';
export type { WsOptions } from './load-ws.js';
export { FAILURE_KINDS, type FailureKind, type FailureCounts, type Percentiles } from './load-stats.js';

export interface LoadOptions {
  /** Requests per second across all request scenarios (open loop). */
  rate: number;
  /** The request mix; each scenario gets rate × weight / Σweights. May be empty. */
  requests: HttpScenario[];
  sse?: SseOptions;
  websockets?: WsOptions;
  /** Response header naming the app that served it; default "x-app-identity". */
  identityHeader?: string;
  /** Requests in flight beyond this are not sent and count as "overload"; default 20 000. */
  maxInFlight?: number;
  /** Client connections per origin; default unlimited (each request gets a socket when none is free). */
  maxSockets?: number;
  keepAlive?: boolean;
  /** Idle client sockets are closed after this; default 3000 ms (below the usual 5 s server keep-alive). */
  idleSocketMs?: number;
  /** Accept any TLS certificate (https/wss targets with self-signed certificates). */
  insecure?: boolean;
  /** How many failures to keep in detail; default 50. */
  maxSamples?: number;
}

export interface RequestReport {
  sent: number;
  ok: number;
  failed: number;
  /** Scheduled time to the last byte, successful requests only, ms. */
  latencyMs: Percentiles;
  servedBy: Record<string, number>;
}

export interface SseReport {
  /** Streams that finished (ended, failed or timed out); streams cut by stop() are not counted. */
  streams: number;
  completed: number;
  events: number;
  firstEventMs: Percentiles;
  totalMs: Percentiles;
  servedBy: Record<string, number>;
}

export interface WsReport {
  connections: number;
  messagesSent: number;
  messagesEchoed: number;
  closeCodes: Record<string, number>;
  goingAway: number;
  inFlightAtClose: number;
  rttMs: Percentiles;
  connectMs: Percentiles;
  servedBy: Record<string, number>;
}

export interface LoadReport {
  durationMs: number;
  targetRate: number;
  /** Requests actually sent per second over the run. */
  sentRate: number;
  /** How late the sender was against its schedule, ms (a busy client shows here). */
  schedulerLagMs: Percentiles;
  requests: Record<string, RequestReport>;
  sse?: SseReport;
  websockets?: WsReport;
  failures: FailureCounts;
  totalFailures: number;
  samples: FailureSample[];
}

export interface LoadRun {
  /** Stops sending, lets in-flight requests and streams finish (each within its timeout), closes WebSockets with 1000. */
  stop(): Promise<LoadReport>;
  /** Live counters, e.g. to wait until some traffic has flowed. */
  progress(): { sent: number; inFlight: number; failures: number };
}

/** Smooth weighted round-robin: deterministic, evenly interleaved picks. */
function weightedPicker<T extends { weight: number }>(items: T[]): () => T {
  const current = items.map(() => 0);
  const total = items.reduce((s, i) => s + i.weight, 0);
  return () => {
    let best = 0;
    for (let i = 0; i < items.length; i++) {
      current[i]! += items[i]!.weight;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    return items[best]!;
  };
}

export function startLoad(options: LoadOptions): LoadRun {
  if (!(options.rate >= 0)) throw new Error(`load rate must be a number >= 0, got ${options.rate}`);
  for (const s of options.requests) {
    if (!(s.weight > 0)) throw new Error(`load scenario ${s.name} needs a weight > 0`);
  }
  const identityHeader = (options.identityHeader ?? 'x-app-identity').toLowerCase();
  const maxInFlight = options.maxInFlight ?? 20_000;
  const agents = createAgents({
    ...(options.maxSockets !== undefined ? { maxSockets: options.maxSockets } : {}),
    ...(options.keepAlive !== undefined ? { keepAlive: options.keepAlive } : {}),
    ...(options.idleSocketMs !== undefined ? { idleMs: options.idleSocketMs } : {}),
    ...(options.insecure !== undefined ? { insecure: options.insecure } : {}),
  });
  const startedAt = performance.now();
  const failures = new FailureLog(startedAt, options.maxSamples ?? 50);
  const lag = new LatencyRecorder();
  const perScenario = new Map(
    options.requests.map((s) => [
      s.name,
      { sent: 0, ok: 0, failed: 0, latency: new LatencyRecorder(), servedBy: {} as Record<string, number> },
    ]),
  );
  const pick = options.requests.length > 0 ? weightedPicker(options.requests) : undefined;
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const fire = (scheduledAt: number) => {
    const scenario = pick!();
    const stats = perScenario.get(scenario.name)!;
    stats.sent += 1;
    if (inFlight.size >= maxInFlight) {
      stats.failed += 1;
      failures.record('overload', scenario.name, `${inFlight.size} requests already in flight`);
      return;
    }
    lag.add(performance.now() - scheduledAt);
    const done = sendRequest(scenario, agents, identityHeader).then((outcome) => {
      inFlight.delete(done);
      if (outcome.identity) bump(stats.servedBy, outcome.identity);
      if (outcome.kind) {
        stats.failed += 1;
        failures.record(outcome.kind, scenario.name, `${scenario.url}: ${outcome.detail ?? ''}`);
      } else {
        stats.ok += 1;
        stats.latency.add(performance.now() - scheduledAt);
      }
    });
    inFlight.add(done);
  };

  const intervalMs = options.rate > 0 ? 1000 / options.rate : Infinity;
  const tick = () => {
    if (stopped) return;
    const due = Math.floor((performance.now() - startedAt) / intervalMs);
    while (sent < due) {
      fire(startedAt + sent * intervalMs);
      sent += 1;
    }
    timer = setTimeout(tick, 1);
  };
  if (pick && options.rate > 0) tick();

  // SSE streams, each reopened as soon as it ends.
  const sseAbort = new AbortController();
  const sse = {
    streams: 0,
    completed: 0,
    events: 0,
    firstEvent: new LatencyRecorder(),
    total: new LatencyRecorder(),
    servedBy: {} as Record<string, number>,
  };
  const sseLoops: Promise<void>[] = [];
  if (options.sse) {
    const sseOptions = options.sse;
    for (let i = 0; i < sseOptions.streams; i++) {
      sseLoops.push(
        (async () => {
          while (!stopped) {
            const outcome = await readEventStream(sseOptions, agents, identityHeader, sseAbort.signal);
            if (sseAbort.signal.aborted && outcome.problems.length === 0 && !outcome.completed) return;
            sse.streams += 1;
            sse.events += outcome.events;
            if (outcome.identity) bump(sse.servedBy, outcome.identity);
            if (outcome.firstEventMs !== undefined) sse.firstEvent.add(outcome.firstEventMs);
            for (const p of outcome.problems)
              failures.record(p.kind, 'sse', `${sseOptions.url}: ${p.detail}`, p.count ?? 1);
            if (outcome.problems.length === 0 && outcome.completed) {
              sse.completed += 1;
              sse.total.add(outcome.totalMs);
            } else {
              await new Promise((r) => setTimeout(r, 100));
            }
          }
        })(),
      );
    }
  }

  // WebSockets.
  const ws: WsStats = {
    connections: 0,
    messagesSent: 0,
    messagesEchoed: 0,
    closeCodes: {},
    goingAway: 0,
    inFlightAtClose: 0,
    servedBy: {},
    rtt: new LatencyRecorder(),
    connect: new LatencyRecorder(),
  };
  const slots = options.websockets
    ? Array.from({ length: options.websockets.sockets }, () => new WsSlot(options.websockets!, ws, failures))
    : [];
  for (const slot of slots) slot.start();

  return {
    progress() {
      return { sent, inFlight: inFlight.size, failures: totalFailures(failures.counts) };
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const stoppedAt = performance.now();
      const sseGrace = setTimeout(() => sseAbort.abort(), 5000);
      await Promise.all([...inFlight, ...sseLoops, ...slots.map((s) => s.stop())]);
      clearTimeout(sseGrace);
      destroyAgents(agents);
      const durationMs = stoppedAt - startedAt;
      const requests: Record<string, RequestReport> = {};
      for (const [name, s] of perScenario) {
        requests[name] = {
          sent: s.sent,
          ok: s.ok,
          failed: s.failed,
          latencyMs: s.latency.percentiles(),
          servedBy: s.servedBy,
        };
      }
      return {
        durationMs: Math.round(durationMs),
        targetRate: options.rate,
        sentRate: Math.round((sent / durationMs) * 1000 * 10) / 10,
        schedulerLagMs: lag.percentiles(),
        requests,
        ...(options.sse
          ? {
              sse: {
                streams: sse.streams,
                completed: sse.completed,
                events: sse.events,
                firstEventMs: sse.firstEvent.percentiles(),
                totalMs: sse.total.percentiles(),
                servedBy: sse.servedBy,
              },
            }
          : {}),
        ...(options.websockets
          ? {
              websockets: {
                connections: ws.connections,
                messagesSent: ws.messagesSent,
                messagesEchoed: ws.messagesEchoed,
                closeCodes: ws.closeCodes,
                goingAway: ws.goingAway,
                inFlightAtClose: ws.inFlightAtClose,
                rttMs: ws.rtt.percentiles(),
                connectMs: ws.connect.percentiles(),
                servedBy: ws.servedBy,
              },
            }
          : {}),
        failures: { ...failures.counts },
        totalFailures: totalFailures(failures.counts),
        samples: failures.samples,
      };
    },
  };
}

/** Runs the load for `durationMs` and returns its report. */
export async function runLoad(options: LoadOptions, durationMs: number): Promise<LoadReport> {
  const run = startLoad(options);
  await new Promise((r) => setTimeout(r, durationMs));
  return run.stop();
}

function fmt(p: Percentiles): string {
  return `p50 ${p.p50} ms, p90 ${p.p90}, p99 ${p.p99}, max ${p.max} (n=${p.count})`;
}

function fmtMap(map: Record<string, number>): string {
  const entries = Object.entries(map);
  return entries.length ? entries.map(([k, v]) => `${k}=${v}`).join(' ') : '-';
}

/** A human-readable summary for test logs and bench output. */
export function formatReport(report: LoadReport): string {
  const lines = [
    `load: ${(report.durationMs / 1000).toFixed(1)} s at ${report.sentRate}/s (target ${report.targetRate}/s), ` +
      `${report.totalFailures} failures; sender lag p99 ${report.schedulerLagMs.p99} ms`,
  ];
  for (const [name, r] of Object.entries(report.requests)) {
    lines.push(
      `  ${name}: sent ${r.sent}, ok ${r.ok}, failed ${r.failed}; ${fmt(r.latencyMs)}; served by ${fmtMap(r.servedBy)}`,
    );
  }
  if (report.sse) {
    const s = report.sse;
    lines.push(
      `  sse: ${s.streams} streams, ${s.completed} complete, ${s.events} events; first event ${fmt(s.firstEventMs)}; served by ${fmtMap(s.servedBy)}`,
    );
  }
  if (report.websockets) {
    const w = report.websockets;
    lines.push(
      `  websocket: ${w.connections} connections, ${w.messagesSent} sent, ${w.messagesEchoed} echoed, ${w.inFlightAtClose} in flight at a close; ` +
        `closes ${fmtMap(w.closeCodes)}; rtt ${fmt(w.rttMs)}; served by ${fmtMap(w.servedBy)}`,
    );
  }
  const kinds = FAILURE_KINDS.filter((k) => report.failures[k] > 0);
  if (kinds.length) lines.push(`  failures: ${kinds.map((k) => `${k}=${report.failures[k]}`).join(' ')}`);
  for (const s of report.samples.slice(0, 15))
    lines.push(`    [${s.atMs} ms] ${s.kind} ${s.scenario}: ${s.detail}`);
  return lines.join('\n');
}
