// What the request path needs from the running server.
import type { Logger } from '../logging.js';
import type { Metrics } from '../metrics.js';
import type { Router } from '../router.js';

export interface ProxyContext {
  readonly router: Router;
  readonly logger: Logger;
  readonly metrics: Metrics | null;
  httpPort: number;
  httpsPort: number;
  /** Requests and upgraded connections being served, for graceful shutdown. */
  active: number;
  onIdle: (() => void) | null;
  /** Upgraded connections (WebSockets), closed with 1001 on shutdown. */
  readonly tunnels: Set<{ cancelForDrain(): void }>;
}

export function requestStarted(ctx: ProxyContext): void {
  ctx.active++;
}

export function requestEnded(ctx: ProxyContext): void {
  ctx.active--;
  if (ctx.active === 0 && ctx.onIdle !== null) ctx.onIdle();
}

/** "::ffff:1.2.3.4" → "1.2.3.4"; undefined → "". */
export function clientAddress(addr: string | undefined): string {
  if (addr === undefined) return '';
  return addr.startsWith('::ffff:') && addr.indexOf('.') !== -1 ? addr.slice(7) : addr;
}
