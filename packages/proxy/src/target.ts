// One upstream target (host:port): its keep-alive connection pool, its health
// state and check loop, and the requests in flight on it (for draining).
import { InflightList, type InflightEntry } from './inflight.js';
import { checkHealth, type HealthResult } from './health.js';
import type { Logger } from './logging.js';
import type { TargetOptions } from './options.js';
import { UpstreamPool } from './upstream.js';

/**
 * adding: new, not yet checked healthy (gets no traffic);
 * restoring: restored from the state file, serving until its first check says otherwise;
 * healthy / unhealthy: from the last check or a passive ejection.
 */
export type TargetState = 'adding' | 'restoring' | 'healthy' | 'unhealthy';

/** Something using a target that a drain may have to end (a request or an upgraded connection). */
export interface InflightRequest {
  /** Ends the work because the target is being drained and the drain timeout has passed. */
  cancelForDrain(): void;
}

const POOL_CONNECTIONS = 512;
/** First re-check of a target that is not healthy yet; doubles up to the interval. */
const FIRST_RECHECK_MS = 25;
const DRAIN_CANCEL_GRACE_MS = 2_000;

export class Target {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly pool: UpstreamPool;
  state: TargetState;
  lastResult: HealthResult | null = null;
  draining = false;
  readonly inflight = new InflightList<InflightRequest>();
  onStateChange: ((target: Target) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Bumped by each start and stop of the checks, so a check that finishes late schedules nothing. */
  private checkLoop = 0;
  private checking = false;
  private drainWaiter: (() => void) | null = null;
  private closed = false;

  constructor(
    name: string,
    private readonly options: TargetOptions,
    private readonly logger: Logger,
    restored = false,
  ) {
    this.name = name;
    const colon = name.lastIndexOf(':');
    if (colon > 0 && /^\d+$/.test(name.slice(colon + 1))) {
      this.host = name.slice(0, colon);
      this.port = Number(name.slice(colon + 1));
    } else {
      this.host = name;
      this.port = 80;
    }
    this.state = restored ? 'restoring' : 'adding';
    this.pool = new UpstreamPool(this.host, this.port, {
      connections: POOL_CONNECTIONS,
      keepAliveTimeoutMs: 4_000,
      headersTimeoutMs: options.responseTimeoutMs || 0,
      connectTimeoutMs: 10_000,
      maxHeaderSize: 64 * 1024,
    });
  }

  /** Routable: healthy, or restored and not yet checked. */
  get routable(): boolean {
    return this.state === 'healthy' || this.state === 'restoring';
  }

  /**
   * Checks now, then every --health-check-interval. A new target that is not
   * healthy yet is checked again sooner (25 ms, doubling up to the interval),
   * so a deploy waits for its app to listen, not for the next tick.
   */
  startHealthChecks(): void {
    if (this.timer !== null || this.closed) return;
    this.scheduleCheck(0, FIRST_RECHECK_MS, ++this.checkLoop);
  }

  stopHealthChecks(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.checkLoop++;
  }

  private scheduleCheck(delayMs: number, backoffMs: number, loop: number): void {
    this.timer = setTimeout(() => {
      const started = Date.now();
      const next = (): void => {
        // Stopped (and maybe started again) while the check ran: that loop is over.
        if (loop !== this.checkLoop || this.closed) return;
        const interval = Math.max(10, this.options.healthCheck.intervalMs);
        const adding = this.state === 'adding';
        const period = adding ? Math.min(backoffMs, interval) : interval;
        this.scheduleCheck(
          Math.max(0, period - (Date.now() - started)),
          adding ? backoffMs * 2 : FIRST_RECHECK_MS,
          loop,
        );
      };
      void this.runCheck().then(next, next);
    }, delayMs);
    this.timer.unref();
  }

  private async runCheck(): Promise<void> {
    if (this.checking || this.closed) return;
    this.checking = true;
    try {
      const hc = this.options.healthCheck;
      const result = await checkHealth({
        host: this.host,
        port: hc.port > 0 ? hc.port : this.port,
        path: hc.path,
        hostHeader: hc.host,
        timeoutMs: hc.timeoutMs,
      });
      if (this.closed || this.timer === null) return;
      this.lastResult = result;
      if (!result.healthy) {
        this.logger.info('Healthcheck failed', { target: this.name, path: hc.path, result: result.detail });
      }
      this.applyHealth(result.healthy);
    } finally {
      this.checking = false;
    }
  }

  private applyHealth(healthy: boolean): void {
    const previous = this.state;
    let next: TargetState;
    if (healthy) next = 'healthy';
    else next = previous === 'adding' ? 'adding' : 'unhealthy';
    if (next === previous) return;
    this.state = next;
    this.logger.info('Target health updated', { target: this.name, success: healthy, state: next });
    this.onStateChange?.(this);
  }

  /** Passive ejection: the target refused a connection; it comes back when a check passes. */
  eject(reason: string): void {
    if (this.state === 'unhealthy' || this.state === 'adding') return;
    this.lastResult = { healthy: false, detail: reason };
    this.state = 'unhealthy';
    this.logger.info('Target ejected', { target: this.name, reason });
    this.onStateChange?.(this);
  }

  /** Marks the target healthy without a check (deploy --force). */
  markHealthy(): void {
    if (this.state === 'healthy') return;
    this.state = 'healthy';
    this.onStateChange?.(this);
  }

  /**
   * Registers work on this target: the entry to give back to release(); null
   * while it drains (the caller answers 503).
   */
  claim(request: InflightRequest): InflightEntry<InflightRequest> | null {
    if (this.draining) return null;
    return this.inflight.add(request);
  }

  release(entry: InflightEntry<InflightRequest>): void {
    if (this.inflight.remove(entry) && this.inflight.size === 0 && this.drainWaiter !== null) {
      this.drainWaiter();
    }
  }

  /**
   * Stops new work, waits for in-flight requests up to the timeout, then ends
   * what is left (WebSockets get a 1001 close, streams a clean end, others a
   * 504) and closes the pool, idle upstream connections included.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.draining = true;
    this.stopHealthChecks();
    if (this.inflight.size > 0) {
      await this.waitForIdle(timeoutMs);
      if (this.inflight.size > 0) {
        this.logger.info('Request cancelled due to draining', {
          target: this.name,
          count: this.inflight.size,
        });
        for (const request of this.inflight.items()) request.cancelForDrain();
        await this.waitForIdle(DRAIN_CANCEL_GRACE_MS);
      }
    }
    await this.close();
  }

  private waitForIdle(timeoutMs: number): Promise<void> {
    if (this.inflight.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.drainWaiter = () => {
        this.drainWaiter = null;
        done();
      };
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopHealthChecks();
    await this.pool.destroy();
  }
}
