// The running proxy: HTTP and HTTPS (HTTP/2 + HTTP/1.1) listeners, the
// metrics listener, the control socket, state restore, connection limits and
// graceful shutdown.
import http from 'node:http';
import http2 from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { Logger, type LogSink } from '../logging.js';
import { Metrics } from '../metrics.js';
import { Router } from '../router.js';
import { defaultConfigDir, statePathIn } from '../state.js';
import { defaultSocketPath } from '../control/socket-path.js';
import { dispatchCall, startControlServer } from '../control/server.js';
import type { Calls, Method } from '../control/protocol.js';
import { DEFAULTS } from '../options.js';
import { ProxyError, describeError } from '../errors.js';
import { InflightList } from '../inflight.js';
import { Exchange, type AnyRequest, type AnyResponse } from './exchange.js';
import { handleUpgrade } from './websocket.js';
import type { ProxyContext } from './context.js';
import { clientAddress } from './context.js';
import type { AcmeSettings } from '../tls.js';
import { FastHttp1Server } from './http1/server.js';
import { join } from 'node:path';

export interface ProxyLimits {
  /** Time allowed to receive a request's headers (slowloris guard). */
  headersTimeoutMs: number;
  /** Time allowed to receive a whole request, body included (0 = none). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive client connection stays open. */
  keepAliveTimeoutMs: number;
  /** Largest request header block accepted, in bytes (431 beyond). */
  maxHeaderSize: number;
  /** Open client connections across all clients. */
  maxConnections: number;
  /** Open client connections from one address. */
  maxConnectionsPerClient: number;
  /** Time allowed for a TLS handshake. */
  tlsHandshakeTimeoutMs: number;
}

export const DEFAULT_LIMITS: ProxyLimits = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  maxHeaderSize: 32 * 1024,
  maxConnections: 16_384,
  maxConnectionsPerClient: 2_048,
  tlsHandshakeTimeoutMs: 10_000,
};

export interface ProxyServerOptions {
  /** Plain HTTP port; default 80; 0 picks a free port. */
  httpPort?: number;
  /** HTTPS port; default 443; 0 picks a free port; null disables HTTPS. */
  httpsPort?: number | null;
  /** Prometheus metrics port; default null (disabled); 0 picks a free port. */
  metricsPort?: number | null;
  /** Address to listen on; default all interfaces. */
  bind?: string;
  /** Control socket; default as kamal-proxy ($KAMAL_PROXY_SOCKET, …); null disables it. */
  socketPath?: string | null;
  /** Directory of kamal-proxy.state; default ~/.config/kamal-proxy; null keeps no state. */
  configDir?: string | null;
  /** Where log lines go: 'stdout' (default), a function, or null for none. */
  log?: 'stdout' | LogSink | null;
  debug?: boolean;
  limits?: Partial<ProxyLimits>;
  /** How long close() waits for in-flight requests; default 10 s. */
  shutdownTimeoutMs?: number;
  /** ACME client settings (extra trusted CA, renewal window, retry backoff); kamal-proxy's defaults otherwise. */
  acme?: AcmeSettings;
  /**
   * Plain-HTTP front end: 'fast' (default) serves plain HTTP/1.1 requests with
   * wharf's own parser and hands everything else to node:http; 'node' uses
   * node:http for every connection. Default: $WHARF_PROXY_HTTP1 when it is
   * 'node', else 'fast'.
   */
  http1?: 'fast' | 'node';
}

export interface ProxyServerHandle {
  readonly httpPort: number;
  readonly httpsPort: number | null;
  readonly metricsPort: number | null;
  readonly socketPath: string | null;
  readonly statePath: string | null;
  readonly router: Router;
  readonly logger: Logger;
  /** Runs a control call in-process (same calls as the socket). */
  call<M extends Method>(method: M, args: Calls[M]['args']): Promise<Calls[M]['result']>;
  /** Graceful stop: stop accepting, finish in-flight requests up to the timeout, then close everything. */
  close(timeoutMs?: number): Promise<void>;
}

export async function startProxyServer(options: ProxyServerOptions = {}): Promise<ProxyServerHandle> {
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const logSink =
    options.log === undefined || options.log === 'stdout'
      ? (c: string) => process.stdout.write(c)
      : options.log;
  const logger = new Logger(logSink, options.debug ?? false);
  const configDir = options.configDir === undefined ? defaultConfigDir() : options.configDir;
  const statePath = configDir === null ? null : statePathIn(configDir);
  const router = new Router(logger, statePath);
  router.certificates.configure({
    cachePath: configDir === null ? null : join(configDir, 'certs'),
    tlsAlpn: options.httpsPort !== null,
    ...options.acme,
  });
  const metricsPortOption = options.metricsPort ?? null;
  const metrics = metricsPortOption === null ? null : new Metrics();
  const ctx: ProxyContext = {
    router,
    logger,
    metrics,
    httpPort: 0,
    httpsPort: 0,
    active: 0,
    onIdle: null,
    tunnels: new Set(),
  };
  const bind = options.bind ?? '';

  try {
    router.restore();
  } catch (err) {
    logger.error('Could not restore saved state', { error: describeError(err) });
  }

  // Connection accounting shared by both listeners.
  // Open sockets in a list, not a Set: connections come and go too fast for a Set (see inflight.ts).
  const sockets = new InflightList<Socket>();
  const perClient = new Map<string, number>();
  const trackConnection = (socket: Socket): void => {
    const addr = clientAddress(socket.remoteAddress);
    const n = (perClient.get(addr) ?? 0) + 1;
    if (n > limits.maxConnectionsPerClient) {
      socket.destroy();
      return;
    }
    perClient.set(addr, n);
    const entry = sockets.add(socket);
    socket.once('close', () => {
      sockets.remove(entry);
      const left = (perClient.get(addr) ?? 1) - 1;
      if (left <= 0) perClient.delete(addr);
      else perClient.set(addr, left);
    });
  };

  const onRequest = (tls: boolean) => (req: AnyRequest, res: AnyResponse) => {
    const exchange = new Exchange(ctx, req, res, tls);
    try {
      exchange.handle();
    } catch (err) {
      // A bug must cost one request, never the process or the in-flight count.
      logger.error('Error while handling request', { path: req.url, error: describeError(err) });
      exchange.respondError(500, '');
    }
  };

  const httpServer = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      maxHeaderSize: limits.maxHeaderSize,
      connectionsCheckingInterval: Math.min(1_000, limits.headersTimeoutMs),
      requireHostHeader: true,
    },
    onRequest(false) as http.RequestListener,
  );
  // The listening plain-HTTP server: the fast path in front of node:http, or node:http itself.
  const fast =
    (options.http1 ?? (process.env.WHARF_PROXY_HTTP1 === 'node' ? 'node' : 'fast')) === 'fast'
      ? new FastHttp1Server(limits, httpServer, onRequest(false), trackConnection)
      : null;
  if (fast === null) {
    httpServer.maxConnections = limits.maxConnections;
    httpServer.on('connection', trackConnection);
  }
  const httpListener: http.Server | NetServer = fast === null ? httpServer : fast.server;
  httpServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
    safeUpgrade(ctx, req, socket, head, false),
  );
  httpServer.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) =>
    answerClientError(err, socket),
  );

  let httpsServer: http2.Http2SecureServer | null = null;
  const sessions = new Set<http2.ServerHttp2Session>();
  if (options.httpsPort !== null) {
    httpsServer = http2.createSecureServer(
      {
        allowHTTP1: true,
        handshakeTimeout: limits.tlsHandshakeTimeoutMs,
        maxSessionMemory: 10,
        settings: { maxConcurrentStreams: 250, maxHeaderListSize: limits.maxHeaderSize },
        maxHeaderListPairs: 256,
        SNICallback: router.certificates.sniCallback,
        ALPNCallback: router.certificates.alpnCallback,
      } as http2.SecureServerOptions,
      onRequest(true) as (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => void,
    );
    httpsServer.maxConnections = limits.maxConnections;
    httpsServer.setTimeout(limits.keepAliveTimeoutMs);
    httpsServer.on('connection', trackConnection);
    httpsServer.on('session', (session: http2.ServerHttp2Session) => {
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    });
    httpsServer.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) =>
      safeUpgrade(ctx, req, socket, head, true),
    );
    httpsServer.on('tlsClientError', () => undefined);
  }

  // Clients that send no SNI get the first TLS service's certificate (kamal-proxy's default TLS host).
  let defaultCert: Buffer | null = null;
  const refreshDefaultCertificate = (): void => {
    const cert = router.defaultCertificate();
    if (httpsServer === null || cert === null || cert.cert === defaultCert) return;
    defaultCert = cert.cert;
    try {
      httpsServer.setSecureContext({ cert: cert.cert, key: cert.key });
    } catch (err) {
      logger.error('Could not set the default certificate', { error: describeError(err) });
    }
  };
  router.onChange = refreshDefaultCertificate;
  refreshDefaultCertificate();

  let metricsServer: http.Server | null = null;
  if (metrics !== null) {
    metricsServer = http.createServer((req, res) => {
      if (req.url === '/metrics' || req.url?.startsWith('/metrics?')) {
        const body = metrics.render();
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(body);
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found\n');
      }
    });
  }

  const listening: Array<{ close(): void }> = [];
  const closeListeners = (): void => listening.forEach((s) => s.close());
  try {
    ctx.httpPort = await listen(httpListener, options.httpPort ?? DEFAULTS.httpPort, bind, 'HTTP');
    listening.push(httpListener);
    if (fast !== null) listening.push(httpServer);
    if (httpsServer !== null) {
      ctx.httpsPort = await listen(httpsServer, options.httpsPort ?? DEFAULTS.httpsPort, bind, 'HTTPS');
      listening.push(httpsServer);
    }
  } catch (err) {
    closeListeners();
    fast?.closeAllConnections();
    httpServer.close();
    await router.closeAll();
    throw err;
  }
  let metricsPort: number | null = null;
  if (metricsServer !== null) {
    metricsPort = await listen(metricsServer, metricsPortOption!, bind, 'metrics');
    listening.push(metricsServer);
  }
  const socketPath = options.socketPath === undefined ? defaultSocketPath() : options.socketPath;
  const control = socketPath === null ? null : await startControlServer(socketPath, router, logger);

  logger.info('Server started', {
    http: ctx.httpPort,
    https: httpsServer === null ? null : ctx.httpsPort,
    metrics: metricsPort,
    socket: socketPath,
    state: statePath,
  });

  let closing: Promise<void> | null = null;
  const close = (timeoutMs = options.shutdownTimeoutMs ?? 10_000): Promise<void> => {
    if (closing !== null) return closing;
    closing = (async () => {
      control?.close();
      fast?.close();
      httpServer.close();
      httpsServer?.close();
      metricsServer?.close();
      fast?.closeIdleConnections();
      httpServer.closeIdleConnections();
      for (const s of sessions) s.close();
      // WebSockets learn the server is going away (close 1001) instead of waiting out the timeout.
      for (const t of [...ctx.tunnels]) t.cancelForDrain();
      if (ctx.active > 0) {
        logger.info('Waiting for in-flight requests', { count: ctx.active });
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, timeoutMs);
          ctx.onIdle = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        if (ctx.active > 0) logger.info('Closing active connections', { count: ctx.active });
      }
      fast?.closeAllConnections();
      httpServer.closeAllConnections();
      for (const s of sessions) s.destroy();
      for (const s of sockets.items()) s.destroy();
      await router.closeAll();
      logger.info('Server stopped');
      logger.flush();
    })();
    return closing;
  };

  return {
    httpPort: ctx.httpPort,
    httpsPort: httpsServer === null ? null : ctx.httpsPort,
    metricsPort,
    socketPath,
    statePath,
    router,
    logger,
    call: (method, args) => dispatchCall(router, method, args) as Promise<never>,
    close,
  };
}

function safeUpgrade(
  ctx: ProxyContext,
  req: http.IncomingMessage,
  socket: Duplex,
  head: Buffer,
  tls: boolean,
): void {
  try {
    handleUpgrade(ctx, req, socket, head, tls);
  } catch (err) {
    ctx.logger.error('Error while handling upgrade', { path: req.url, error: describeError(err) });
    socket.destroy();
  }
}

function listen(
  server: http.Server | http2.Http2SecureServer | NetServer,
  port: number,
  bind: string,
  what: string,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new ProxyError(
          err.code === 'EADDRINUSE'
            ? `cannot listen for ${what} on port ${port}: the port is in use; stop the other server or pick another port`
            : `cannot listen for ${what} on port ${port} (${describeError(err)})`,
        ),
      );
    };
    server.once('error', onError);
    const done = (): void => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    if (bind === '') server.listen(port, done);
    else server.listen(port, bind, done);
  });
}

/** Malformed requests (bad framing, smuggling attempts, oversized headers, timeouts). */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  const inProgress = (socket as Socket & { _httpMessage?: http.ServerResponse | null })._httpMessage;
  if (!socket.writable || (inProgress && inProgress.headersSent)) {
    socket.destroy();
    return;
  }
  let status = 400;
  if (err.code === 'HPE_HEADER_OVERFLOW') status = 431;
  else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') status = 408;
  const text = http.STATUS_CODES[status] ?? 'Bad Request';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  setTimeout(() => socket.destroy(), 1_000).unref();
}
