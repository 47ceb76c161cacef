// Small real HTTP servers on 127.0.0.1 for the proxy to forward to.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Backend {
  readonly server: http.Server;
  readonly port: number;
  readonly name: string; // "127.0.0.1:<port>", the proxy target
  /** Requests seen so far (method, url, headers). */
  readonly seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders }>;
  healthy: boolean;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, backend: Backend) => void;

const defaultHandler =
  (label: string): Handler =>
  (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`${label} ${req.method} ${req.url}`);
  };

/** Starts a backend; GET /up answers 200 while `healthy` is true, 503 otherwise. */
export async function startBackend(
  label = 'backend',
  handler: Handler = defaultHandler(label),
): Promise<Backend> {
  const seen: Backend['seen'] = [];
  const backend = { seen, healthy: true } as Backend & { port: number; name: string; server: http.Server };
  const server = http.createServer((req, res) => {
    if (req.url === '/up' && req.headers['user-agent'] === 'kamal-proxy') {
      res.writeHead(backend.healthy ? 200 : 503, { 'content-type': 'text/plain' });
      res.end(backend.healthy ? 'ok' : 'not ready yet');
      return;
    }
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    handler(req, res, backend);
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(backend, {
    server,
    port,
    name: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return backend;
}

/** A port with nothing listening (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
