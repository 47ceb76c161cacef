/**
 * One HTTP request of the load generator, classified: ok, or the failure kind
 * (connection, timeout, status, truncated) with a detail line.
 */
import http from 'node:http';
import https from 'node:https';
import type { FailureKind } from './load-stats.js';

export interface HttpScenario {
  /** Name in the report, e.g. "short" or "slow". */
  name: string;
  url: string;
  /** Share of the request rate (weights are relative to each other). */
  weight: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** A complete answer must arrive within this; default 10 s. */
  timeoutMs?: number;
  /** When set, a 2xx body must end with this text (the test app ends every body with "#end\n"). */
  endMarker?: string;
}

export interface HttpOutcome {
  kind?: FailureKind;
  detail?: string;
  status?: number;
  /** Value of the identity header, when the response carried one. */
  identity?: string;
  bytes: number;
}

export interface HttpAgents {
  http: http.Agent;
  https: https.Agent;
}

/**
 * Keep-alive agents. Idle sockets are dropped after `idleMs` so the client never
 * reuses a socket the server is about to close for idleness (that race is the
 * client's, not the proxy's); keep it below the server's keep-alive timeout.
 */
export function createAgents(options: {
  maxSockets?: number;
  keepAlive?: boolean;
  idleMs?: number;
  insecure?: boolean;
}): HttpAgents {
  const common = {
    keepAlive: options.keepAlive ?? true,
    maxSockets: options.maxSockets ?? Infinity,
    maxFreeSockets: options.maxSockets && Number.isFinite(options.maxSockets) ? options.maxSockets : 1024,
    scheduling: 'lifo' as const,
  };
  const agents = {
    http: new http.Agent(common),
    https: new https.Agent({ ...common, rejectUnauthorized: !options.insecure }),
  };
  const idleMs = options.idleMs ?? 3000;
  for (const agent of [agents.http, agents.https]) {
    agent.on('free', (socket) => socket.setTimeout(idleMs));
  }
  return agents;
}

export function destroyAgents(agents: HttpAgents): void {
  agents.http.destroy();
  agents.https.destroy();
}

function describeError(error: NodeJS.ErrnoException): string {
  return error.code ? `${error.code}: ${error.message}` : error.message;
}

/** Sends one request and resolves with its classified outcome; never rejects. */
export function sendRequest(
  scenario: HttpScenario,
  agents: HttpAgents,
  identityHeader: string,
): Promise<HttpOutcome> {
  return new Promise((resolve) => {
    const url = new URL(scenario.url);
    const secure = url.protocol === 'https:';
    const transport = secure ? https : http;
    const marker = scenario.endMarker ? Buffer.from(scenario.endMarker) : undefined;
    let settled = false;
    let bytes = 0;
    let tail = Buffer.alloc(0);
    let status: number | undefined;
    let identity: string | undefined;
    let timedOut = false;

    const finish = (outcome: Omit<HttpOutcome, 'bytes'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        ...outcome,
        bytes,
        ...(status !== undefined ? { status } : {}),
        ...(identity ? { identity } : {}),
      });
    };

    const req = transport.request(url, {
      method: scenario.method ?? 'GET',
      headers: scenario.headers,
      agent: secure ? agents.https : agents.http,
    });
    // The idle timer set when the socket went back to the pool must not run while it is in use.
    req.on('socket', (socket) => socket.setTimeout(0));
    const timeoutMs = scenario.timeoutMs ?? 10_000;
    const timer = setTimeout(() => {
      timedOut = true;
      finish({
        kind: 'timeout',
        detail: `no complete answer within ${timeoutMs} ms (status ${status ?? 'none'}, ${bytes} bytes)`,
      });
      req.destroy(new Error('load generator timeout'));
    }, timeoutMs);

    req.on('error', (error: NodeJS.ErrnoException) => {
      if (timedOut) return;
      if (status === undefined) finish({ kind: 'connection', detail: describeError(error) });
      else finish({ kind: 'truncated', detail: `after ${bytes} bytes: ${describeError(error)}` });
    });

    req.on('response', (res) => {
      status = res.statusCode ?? 0;
      const header = res.headers[identityHeader];
      if (typeof header === 'string') identity = header;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (marker) tail = Buffer.concat([tail, chunk]).subarray(-marker.length);
      });
      res.on('error', () => {
        /* reported through 'close' with res.complete false */
      });
      res.on('close', () => {
        if (settled) return;
        if (!res.complete) {
          finish({
            kind: 'truncated',
            detail: `connection closed after ${bytes} bytes of the body (status ${status})`,
          });
          return;
        }
        const declared = res.headers['content-length'];
        if (declared !== undefined && Number(declared) !== bytes && scenario.method !== 'HEAD') {
          finish({ kind: 'truncated', detail: `declared ${declared} bytes, received ${bytes}` });
        } else if (status! < 200 || status! > 299) {
          finish({ kind: 'status', detail: `status ${status}` });
        } else if (marker && !tail.equals(marker) && scenario.method !== 'HEAD') {
          finish({ kind: 'truncated', detail: `body of ${bytes} bytes does not end with the end marker` });
        } else {
          finish({});
        }
      });
    });

    req.end(scenario.body);
  });
}
