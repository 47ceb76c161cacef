// One health check: GET <target><path> with User-Agent kamal-proxy; any 2xx is
// healthy. Redirects are followed (as Go's default client does), up to 5.
import http from 'node:http';
import https from 'node:https';
import { describeError } from './errors.js';

export interface HealthResult {
  healthy: boolean;
  /** What happened, for logs and deploy errors: "200", "503: <body excerpt>", "connection refused". */
  detail: string;
}

export interface HealthCheckRequest {
  host: string;
  port: number;
  path: string;
  hostHeader: string;
  timeoutMs: number;
}

const MAX_REDIRECTS = 5;
const BODY_EXCERPT = 200;

export function checkHealth(req: HealthCheckRequest): Promise<HealthResult> {
  const url = new URL(
    `http://${formatHost(req.host)}:${req.port}${req.path.startsWith('/') ? req.path : '/' + req.path}`,
  );
  const deadline = Date.now() + req.timeoutMs;
  return attempt(url, req.hostHeader, deadline, 0);
}

function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

function attempt(url: URL, hostHeader: string, deadline: number, redirects: number): Promise<HealthResult> {
  return new Promise((resolve) => {
    const remaining = Math.max(1, deadline - Date.now());
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { 'user-agent': 'kamal-proxy', connection: 'close' };
    if (hostHeader !== '' && redirects === 0) headers['host'] = hostHeader;
    let settled = false;
    const finish = (r: HealthResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const request = mod.request(
      url,
      { method: 'GET', headers, agent: false, rejectUnauthorized: false },
      (res) => {
        const status = res.statusCode ?? 0;
        const location = res.headers.location;
        if (status >= 300 && status < 400 && location && redirects < MAX_REDIRECTS) {
          res.resume();
          let next: URL;
          try {
            next = new URL(location, url);
          } catch {
            finish({
              healthy: false,
              detail: `${status} redirect to an invalid location ${JSON.stringify(location)}`,
            });
            return;
          }
          attempt(next, hostHeader, deadline, redirects + 1).then(finish, () => undefined);
          return;
        }
        if (status >= 200 && status < 300) {
          res.resume();
          finish({ healthy: true, detail: String(status) });
          return;
        }
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          if (body.length < BODY_EXCERPT) body += chunk;
          if (body.length >= BODY_EXCERPT) res.destroy();
        });
        const done = (): void => {
          const excerpt = body.replace(/\s+/g, ' ').trim().slice(0, BODY_EXCERPT);
          finish({
            healthy: false,
            detail: excerpt === '' ? `status ${status}` : `status ${status}: ${excerpt}`,
          });
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      finish({ healthy: false, detail: `no response within ${remaining}ms` });
    }, remaining);
    request.on('error', (err) => finish({ healthy: false, detail: connectionError(err) }));
    request.end();
  });
}

function connectionError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'connection timed out';
    default:
      return describeError(err);
  }
}
