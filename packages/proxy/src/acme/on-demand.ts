// On-demand TLS (kamal-proxy's --tls-on-demand-url): before ordering a
// certificate for a host nobody listed, ask the application (a path, sent
// to one of the service's own targets) or another service (an absolute
// URL) whether that host is ours. Only a 200 allows the order; anything
// else, a redirect, an error or no answer within the timeout denies it.
import http from 'node:http';
import https from 'node:https';
import { describeError } from '../errors.js';

export interface OnDemandVerdict {
  allowed: boolean;
  /** "200", "403: <body excerpt>", "connection refused", … for logs and handshake errors. */
  detail: string;
}

/** Where a path-style check goes: a target of the service itself. */
export interface OnDemandTarget {
  host: string;
  port: number;
}

export interface OnDemandCheck {
  /** The deployed --tls-on-demand-url: "/path?query" or "http(s)://host/path?query". */
  url: string;
  /** The host a certificate is wanted for (from SNI). */
  host: string;
  /** For a path URL: the target to ask, or null when the service has none routable. */
  target: OnDemandTarget | null;
  /** Why a path URL cannot be asked now (the service is stopped or paused), or null. */
  unavailable?: string | null;
  timeoutMs?: number;
}

export const ON_DEMAND_TIMEOUT_MS = 2_000;
const BODY_EXCERPT = 256;

/** The URL asked for `host`: the configured one with `host=<host>` set in its query. */
export function onDemandCheckUrl(url: string, host: string, target: OnDemandTarget | null): URL {
  const base =
    target === null
      ? 'http://localhost'
      : `http://${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`;
  const parsed = url.startsWith('/') ? new URL(url, base) : new URL(url);
  parsed.searchParams.set('host', host);
  return parsed;
}

export function checkOnDemand(check: OnDemandCheck): Promise<OnDemandVerdict> {
  const isPath = check.url.startsWith('/');
  if (isPath && check.unavailable) return Promise.resolve({ allowed: false, detail: check.unavailable });
  if (isPath && check.target === null) {
    return Promise.resolve({ allowed: false, detail: 'the service has no healthy target to ask' });
  }
  let url: URL;
  try {
    url = onDemandCheckUrl(check.url, check.host, check.target);
  } catch (err) {
    return Promise.resolve({ allowed: false, detail: `invalid URL (${describeError(err)})` });
  }
  const timeoutMs = check.timeoutMs ?? ON_DEMAND_TIMEOUT_MS;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (verdict: OnDemandVerdict): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve(verdict);
    };
    const headers: Record<string, string> = { 'user-agent': 'kamal-proxy', connection: 'close' };
    // A path goes to the app as if the checked host had asked for it.
    if (isPath) headers['host'] = check.host;
    const mod = url.protocol === 'https:' ? https : http;
    const request = mod.request(url, { method: 'GET', headers, agent: false }, (res) => {
      const status = res.statusCode ?? 0;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
        if (body.length >= BODY_EXCERPT) finishWith();
      });
      res.on('end', finishWith);
      res.on('error', finishWith);
      function finishWith(): void {
        if (status === 200) {
          finish({ allowed: true, detail: '200' });
          return;
        }
        const excerpt = body.slice(0, BODY_EXCERPT).trim();
        finish({ allowed: false, detail: excerpt === '' ? String(status) : `${status}: ${excerpt}` });
      }
    });
    const timer = setTimeout(
      () => finish({ allowed: false, detail: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    request.on('error', (err) => finish({ allowed: false, detail: describeError(err) }));
    request.end();
  });
}
