// A set of targets for one service slot (active or rollout): writers and
// optional readers, round-robin over the routable ones, health checks on all.
import { ProxyError } from './errors.js';
import { formatDuration } from './duration.js';
import type { Logger } from './logging.js';
import type { TargetOptions } from './options.js';
import { Target } from './target.js';

export class LoadBalancer {
  readonly writers: Target[];
  readonly readers: Target[];
  private routableWriters: Target[] = [];
  private routableReaders: Target[] = [];
  private writerIndex = 0;
  private readerIndex = 0;
  private healthWaiters: Array<() => void> = [];

  constructor(
    writerNames: readonly string[],
    readerNames: readonly string[],
    readonly targetOptions: TargetOptions,
    logger: Logger,
    restored = false,
  ) {
    this.writers = writerNames.map((n) => new Target(n, targetOptions, logger, restored));
    this.readers = readerNames.map((n) => new Target(n, targetOptions, logger, restored));
    for (const t of this.all()) t.onStateChange = () => this.recompute();
    this.recompute();
  }

  all(): Target[] {
    return [...this.writers, ...this.readers];
  }

  get hasReaders(): boolean {
    return this.readers.length > 0;
  }

  writerNames(): string[] {
    return this.writers.map((t) => t.name);
  }

  readerNames(): string[] {
    return this.readers.map((t) => t.name);
  }

  startHealthChecks(): void {
    for (const t of this.all()) t.startHealthChecks();
  }

  markAllHealthy(): void {
    for (const t of this.all()) t.markHealthy();
  }

  private recompute(): void {
    this.routableWriters = routable(this.writers);
    this.routableReaders = routable(this.readers);
    if (this.healthWaiters.length > 0 && this.allHealthy()) {
      const waiters = this.healthWaiters;
      this.healthWaiters = [];
      for (const w of waiters) w();
    }
  }

  allHealthy(): boolean {
    for (const t of this.writers) if (t.state !== 'healthy') return false;
    for (const t of this.readers) if (t.state !== 'healthy') return false;
    return true;
  }

  /** Next writer in round-robin order, skipping `exclude` when another is available. */
  pickWriter(exclude: Target | null = null): Target | null {
    return pick(this.routableWriters, this, 'writerIndex', exclude);
  }

  /** Next reader; falls back to writers when no reader is routable. */
  pickReader(exclude: Target | null = null): Target | null {
    if (this.routableReaders.length === 0) return this.pickWriter(exclude);
    return pick(this.routableReaders, this, 'readerIndex', exclude);
  }

  /**
   * Passive ejection after a refused connection, only when another target of
   * the same group can take the traffic (ejecting the last one helps nobody).
   */
  ejectIfOthers(target: Target, reason: string): void {
    const group = this.readers.includes(target) ? this.routableReaders : this.routableWriters;
    if (group.length > 1 && group.includes(target)) target.eject(reason);
  }

  /** Resolves once every target is healthy; rejects after the timeout with the last check results. */
  waitUntilHealthy(timeoutMs: number, service: string): Promise<void> {
    if (this.allHealthy()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onHealthy = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.healthWaiters = this.healthWaiters.filter((w) => w !== onHealthy);
        const failing = this.all()
          .filter((t) => t.state !== 'healthy')
          .map(
            (t) => `${t.name} (${t.lastResult ? t.lastResult.detail : 'no health check has finished yet'})`,
          );
        reject(
          new ProxyError(
            `target failed to become healthy within configured timeout (${formatDuration(timeoutMs)}) for service ${service}: ` +
              `${failing.join(', ')}; check that the app answers 2xx on ${this.targetOptions.healthCheck.path}, or raise --deploy-timeout`,
          ),
        );
      }, timeoutMs);
      this.healthWaiters.push(onHealthy);
    });
  }

  stopHealthChecks(): void {
    for (const t of this.all()) t.stopHealthChecks();
  }

  async drainAll(timeoutMs: number): Promise<void> {
    this.stopHealthChecks();
    await Promise.all(this.all().map((t) => t.drain(timeoutMs)));
  }

  async close(): Promise<void> {
    await Promise.all(this.all().map((t) => t.close()));
  }
}

function routable(targets: Target[]): Target[] {
  const healthy = targets.filter((t) => t.state === 'healthy');
  if (healthy.length > 0) return healthy;
  return targets.filter((t) => t.state === 'restoring');
}

function pick(
  list: Target[],
  lb: LoadBalancer,
  key: 'writerIndex' | 'readerIndex',
  exclude: Target | null,
): Target | null {
  const n = list.length;
  if (n === 0) return null;
  if (n === 1) {
    const only = list[0]!;
    return only === exclude ? null : only;
  }
  const holder = lb as unknown as Record<string, number>;
  for (let tries = 0; tries < n; tries++) {
    const i = (holder[key] = (holder[key]! + 1) % n);
    const t = list[i]!;
    if (t !== exclude) return t;
  }
  return null;
}
