/**
 * A small real app for proxy tests and benchmarks: node:http plus a WebSocket
 * echo endpoint (the `ws` package). Every response names the app's identity so
 * a test can see which version served it.
 *
 * Routes (all GET unless noted):
 *   /up                    200 "up <identity>" (503 while marked unhealthy)
 *   /                      200 small text body ending in END_MARKER
 *   /slow?ms=2000          headers and half the body after ms/2, the rest after ms
 *   /sse?count=20&interval=100
 *                          text/event-stream: events id 1..count ("tick"), then an "end" event
 *   /bytes?n=10240         n bytes of 'x' then END_MARKER (Content-Length set)
 *   POST /echo             echoes the request body
 *   POST /_health?state=down|up
 *                          flips /up between 503 and 200
 *   /ws (WebSocket)        echoes each text message m as "m <identity>"
 *
 * Fault knobs, so tests can prove the load generator sees each kind of failure:
 *   /fault/reset           destroys the connection before answering
 *   /fault/status?code=500 answers with that status
 *   /fault/truncate        declares 100 bytes, sends 10, destroys the connection
 *   /sse?...&skip=N        leaves out event N;  &cut=N destroys the stream after event N
 *   /ws?drop=N             never echoes message N;  &reset=N kills the socket after echoing N;
 *   /ws?close=CODE&after=N closes with CODE after echoing message N
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';

/** Every non-streaming body the app sends ends with this, so a cut body is visible. */
export const END_MARKER = '#end\n';
/** The response header that names the app's identity. */
export const IDENTITY_HEADER = 'x-app-identity';

export interface AppOptions {
  identity: string;
  healthy?: boolean;
}

export interface TestApp {
  readonly identity: string;
  readonly server: Server;
  setHealthy(healthy: boolean): void;
  listen(port?: number, host?: string): Promise<number>;
  /** Closes open WebSockets with 1001, lets in-flight requests finish, then stops listening. */
  close(): Promise<void>;
}

function intParam(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  return Number.isFinite(n) ? n : fallback;
}

export function createApp(options: AppOptions): TestApp {
  const identity = options.identity;
  let healthy = options.healthy ?? true;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
    return timer;
  };

  const text = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': Buffer.byteLength(body),
      [IDENTITY_HEADER]: identity,
    });
    res.end(body);
  };

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    const path = url.pathname;
    if (req.method === 'POST' && path === '/echo') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        res.writeHead(200, {
          'content-type': req.headers['content-type'] ?? 'application/octet-stream',
          'content-length': body.length,
          [IDENTITY_HEADER]: identity,
        });
        res.end(body);
      });
      return;
    }
    if (req.method === 'POST' && path === '/_health') {
      healthy = url.searchParams.get('state') !== 'down';
      text(res, 200, `${healthy ? 'up' : 'down'} ${identity}\n`);
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      text(res, 405, `method not allowed ${identity}\n`);
      return;
    }
    switch (path) {
      case '/up':
        text(res, healthy ? 200 : 503, `${healthy ? 'up' : 'down'} ${identity}\n`);
        return;
      case '/':
        text(res, 200, `identity=${identity} path=/ ${END_MARKER}`);
        return;
      case '/identity':
        text(res, 200, `${identity}\n`);
        return;
      case '/slow': {
        const ms = Math.max(0, intParam(url, 'ms', 2000));
        const first = `identity=${identity} path=/slow ms=${ms} first-half `;
        const second = `second-half ${END_MARKER}`;
        later(ms / 2, () => {
          if (res.destroyed) return;
          res.writeHead(200, {
            'content-type': 'text/plain; charset=utf-8',
            'content-length': Buffer.byteLength(first) + Buffer.byteLength(second),
            [IDENTITY_HEADER]: identity,
          });
          res.write(first);
          later(ms / 2, () => res.end(second));
        });
        return;
      }
      case '/bytes': {
        const n = Math.max(0, Math.min(64 * 1024 * 1024, intParam(url, 'n', 10240)));
        const body = Buffer.concat([Buffer.alloc(n, 'x'), Buffer.from(END_MARKER)]);
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': body.length,
          [IDENTITY_HEADER]: identity,
        });
        res.end(body);
        return;
      }
      case '/sse':
        serveEvents(url, res);
        return;
      case '/fault/reset':
        req.socket.destroy();
        return;
      case '/fault/status': {
        const code = intParam(url, 'code', 500);
        text(res, code, `status ${code} ${identity}\n`);
        return;
      }
      case '/fault/truncate':
        res.writeHead(200, {
          'content-type': 'text/plain',
          'content-length': 100,
          [IDENTITY_HEADER]: identity,
        });
        res.write('0123456789', () => res.destroy());
        return;
      default:
        text(res, 404, `not found ${identity}\n`);
    }
  }

  function serveEvents(url: URL, res: ServerResponse): void {
    const count = Math.max(0, intParam(url, 'count', 20));
    const interval = Math.max(1, intParam(url, 'interval', 100));
    const skip = intParam(url, 'skip', -1);
    const cut = intParam(url, 'cut', -1);
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      [IDENTITY_HEADER]: identity,
    });
    res.flushHeaders();
    let n = 0;
    const tick = () => {
      if (res.destroyed) return;
      n += 1;
      if (n > count) {
        res.end(`event: end\ndata: ${count} ${identity}\n\n`);
        return;
      }
      if (n !== skip) res.write(`id: ${n}\nevent: tick\ndata: ${n} ${identity}\n\n`);
      if (n === cut) {
        res.destroy();
        return;
      }
      later(interval, tick);
    };
    later(interval, tick);
  }

  const server = createServer(handle);
  // Generous keep-alive like a production app server behind a proxy (the proxy baseline used 65 s).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://app.invalid');
    if (url.pathname !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => echo(ws, url));
  });

  function echo(ws: WebSocket, url: URL): void {
    const drop = intParam(url, 'drop', -1);
    const reset = intParam(url, 'reset', -1);
    const closeCode = intParam(url, 'close', -1);
    const closeAfter = intParam(url, 'after', -1);
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? Buffer.from(data as Buffer).toString('hex') : String(data);
      const seq = Number.parseInt(message, 10);
      if (seq !== drop) ws.send(`${message} ${identity}`);
      if (seq === reset) ws.terminate();
      else if (seq === closeAfter && closeCode > 0) ws.close(closeCode, 'test close');
    });
    ws.on('error', () => ws.terminate());
  }

  return {
    identity,
    server,
    setHealthy(value: boolean) {
      healthy = value;
    },
    listen(port = 0, host = '127.0.0.1') {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      for (const client of wss.clients) client.close(1001, 'app shutting down');
      return new Promise<void>((resolve) => {
        server.close(() => {
          for (const t of timers) clearTimeout(t);
          resolve();
        });
        server.closeIdleConnections();
        // Streams and sockets still open after a grace period are cut.
        setTimeout(() => {
          for (const s of sockets) s.destroy();
          for (const client of wss.clients) client.terminate();
        }, 3000).unref();
      });
    },
  };
}
