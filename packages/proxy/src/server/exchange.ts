// One proxied HTTP request: routing, service rules (TLS, redirects, pause),
// target choice, header rewriting in place, the upstream dispatch (the
// handler interface of ../upstream.ts, no intermediate streams), retries, buffering, the access
// log line and metrics. One object per request holds all of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { BodyTooLargeError, SpillBuffer, bufferStream } from '../buffer.js';
import { isoNow, jsonString } from '../logging.js';
import type { LoadBalancer } from '../loadbalancer.js';
import { errorPage } from '../pages.js';
import type { Binding } from '../router.js';
import { ROLLOUT_COOKIE, cookieValue } from '../rollout.js';
import type { Service } from '../service.js';
import type { InflightEntry } from '../inflight.js';
import type { InflightRequest, Target } from '../target.js';
import type { UpstreamHandler } from '../upstream.js';
import { type ProxyContext, clientAddress, requestEnded, requestStarted } from './context.js';
import { RawRequest, type RawResponse } from './http1/message.js';

export type AnyRequest = IncomingMessage | Http2ServerRequest | RawRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse | RawResponse;

/**
 * What an exchange needs from the response of any front end (node:http,
 * HTTP/2 compat, the fast HTTP/1.1 path): one narrow view of all three.
 */
interface ClientResponse {
  readonly headersSent: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: Buffer): boolean;
  end(chunk?: Buffer | string): unknown;
  flushHeaders?(): void;
  destroy(): void;
  on(event: 'close', listener: () => void): unknown;
  once(event: 'drain', listener: () => void): unknown;
}

/** The request body as a stream (node:http's and HTTP/2's requests are their own body). */
function requestBody(req: AnyRequest): Readable {
  return req instanceof RawRequest ? req.body! : (req as Readable);
}

export const WRITER_COOKIE = 'kamal-writer';

/** Request headers never forwarded as-is (hop-by-hop, or rewritten by the proxy). */
const DROP_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'proxy-authorization',
  'proxy-authenticate',
  'expect',
  'http2-settings',
]);

const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Errors of a connection that was open (reset, closed): the same target may well answer on a new one. */
const SAME_TARGET_RETRY = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

const EJECTING = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
]);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);

class DrainCancel extends Error {
  constructor() {
    super('request cancelled because its target is draining');
    this.name = 'DrainCancel';
  }
}
class ClientGone extends Error {
  constructor() {
    super('client closed the request');
    this.name = 'ClientGone';
  }
}
class ResponseTooLarge extends Error {}

/** The exchange a response belongs to, so one shared 'close' listener serves every request. */
const EXCHANGE = Symbol('wharf.exchange');
type TaggedResponse = AnyResponse & { [EXCHANGE]?: Exchange };

function onResponseClose(this: TaggedResponse): void {
  this[EXCHANGE]?.clientClosed();
}

export class Exchange implements InflightRequest, UpstreamHandler {
  private readonly start = performance.now();
  private service: Service | null = null;
  private binding: Binding | null = null;
  private target: Target | null = null;
  /** This request's entry in its target's in-flight list (null when not claimed). */
  private claimed: InflightEntry<InflightRequest> | null = null;
  private lb: LoadBalancer | null = null;
  status = 0;
  private bytes = 0;
  private requestId = '';
  private host = '';
  private path = '';
  private query = '';
  private upstreamPath = '';
  private headers: string[] = [];
  private xffIn = '';
  private kamalTargetPrefix = '';
  private clientAddr = '';
  private clientPort = 0;
  private userAgent = '';
  private reqContentType = '';
  private reqContentLength = -1;
  private cookie: string | undefined = undefined;
  private hasBody = false;
  private isRead = false;
  private retried = false;
  private finished = false;
  private responseStarted = false;
  private responseHasLength = false;
  /** Content-Length of the target's response (-1: none or not forwarded as a body). */
  private responseLength = -1;
  /** The last body chunk was written with res.end() (the whole declared body arrived). */
  private bodyEnded = false;
  private respContentType = '';
  private respLogHeaders: string[] | null = null;
  private abortUpstream: ((err: Error) => void) | null = null;
  private cancelReason: Error | null = null;
  private respBuffer: SpillBuffer | null = null;
  private reqBuffer: SpillBuffer | null = null;
  private pendingHeaders: string[] | null = null;
  private resumeUpstream: (() => void) | null = null;
  private tracked = false;
  private readonly http2: boolean;
  private readonly res: ClientResponse;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: AnyRequest,
    response: AnyResponse,
    private readonly tls: boolean,
  ) {
    const res = response as unknown as ClientResponse;
    this.res = res;
    this.http2 = req.httpVersionMajor === 2;
    requestStarted(ctx);
    (res as TaggedResponse)[EXCHANGE] = this;
    res.on('close', onResponseClose);
  }

  // ---- entry ---------------------------------------------------------------

  handle(): void {
    const req = this.req;
    const socket = req.socket;
    if (socket !== undefined && socket !== null) {
      this.clientAddr = clientAddress(socket.remoteAddress);
      this.clientPort = socket.remotePort ?? 0;
    }
    const raw = req.rawHeaders;
    const out = this.headers;
    let host: string | undefined;
    let xfp = '';
    let xfh = '';
    let xkt = '';
    let requestStart = false;
    let connection = '';
    let chunked = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const value = raw[i + 1]!;
      const lower = name.toLowerCase();
      switch (lower) {
        case 'host':
          if (host !== undefined && !this.http2) return this.respondError(400, '', true);
          host = value;
          continue;
        case ':authority':
          if (host === undefined) host = value;
          continue;
        case 'x-forwarded-for':
          this.xffIn = this.xffIn === '' ? value : this.xffIn + ', ' + value;
          continue;
        case 'x-forwarded-proto':
          xfp = value;
          continue;
        case 'x-forwarded-host':
          xfh = value;
          continue;
        case 'x-kamal-target':
          xkt = xkt === '' ? value : xkt + ', ' + value;
          continue;
        case 'connection':
          connection = value;
          continue;
        case 'transfer-encoding':
          chunked = true;
          continue;
        case 'x-request-id':
          if (this.requestId === '') this.requestId = value;
          break;
        case 'x-request-start':
          requestStart = true;
          break;
        case 'cookie':
          this.cookie = this.cookie === undefined ? value : this.cookie + '; ' + value;
          break;
        case 'content-length':
          this.reqContentLength = Number(value);
          break;
        case 'content-type':
          this.reqContentType = value;
          break;
        case 'user-agent':
          this.userAgent = value;
          break;
        default:
          if (lower.charCodeAt(0) === 58 /* : */ || DROP_REQUEST.has(lower)) continue;
      }
      out.push(name, value);
    }
    if (connection !== '') dropConnectionTokens(out, connection);
    if (host === undefined) host = '';
    this.host = host;
    if (!validHost(host)) return this.respondError(400, '', true);
    this.hasBody =
      chunked ||
      this.reqContentLength > 0 ||
      (this.http2 && !(req as Http2ServerRequest).stream.endAfterHeaders);
    if (this.requestId === '') {
      this.requestId = randomUUID();
      out.push('X-Request-ID', this.requestId);
    }
    if (!requestStart) out.push('X-Request-Start', 't=' + Date.now());

    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* / */) {
      // absolute-form (GET http://host/path): its host wins over the Host header.
      const m = /^https?:\/\/([^/?#]+)([^#]*)/i.exec(url);
      if (m === null) return this.respondError(400, '', true);
      host = m[1]!;
      this.host = host;
      url = m[2] === '' ? '/' : m[2]!.charCodeAt(0) === 63 ? '/' + m[2] : m[2]!;
      if (!validHost(host)) return this.respondError(400, '', true);
    }
    const q = url.indexOf('?');
    this.path = q === -1 ? url : url.slice(0, q);
    this.query = q === -1 ? '' : url.slice(q + 1);

    if (
      !this.tls &&
      this.path.charCodeAt(1) === 46 /* . */ &&
      this.path.startsWith('/.well-known/acme-challenge/')
    ) {
      const answer = this.ctx.router.certificates.challengeAnswer(host, this.path);
      if (answer !== null) return this.respondChallenge(answer);
    }
    const binding = this.ctx.router.route(host, this.path);
    if (binding === null) return this.respondError(404, '');
    this.binding = binding;
    const service = binding.service;
    this.service = service;

    const options = service.options;
    if (options.clientIpHeader !== '') {
      const v = req.headers[options.clientIpHeader.toLowerCase()];
      if (typeof v === 'string' && v !== '') this.xffIn = v;
    }

    // Upstream path: strip the matched prefix when asked.
    if (options.stripPrefix && binding.prefix !== '/') {
      const rest = this.path.slice(binding.prefix.length);
      const p = rest === '' ? '/' : rest;
      this.upstreamPath = q === -1 ? p : p + url.slice(q);
    } else {
      this.upstreamPath = url;
    }
    if (this.ctx.metrics !== null && service.excludeMetricsPaths.size > 0) {
      // Matched against the path the target sees (after prefix stripping), as kamal-proxy does.
      const qi = this.upstreamPath.indexOf('?');
      this.tracked = !service.excludeMetricsPaths.has(
        qi === -1 ? this.upstreamPath : this.upstreamPath.slice(0, qi),
      );
    } else this.tracked = true;
    if (this.ctx.metrics !== null && this.tracked) this.ctx.metrics.requestStarted(service.name);

    if (this.tls && !service.tlsEnabled) return this.respondError(503, '');
    const redirect = this.redirectLocation(service, host, url);
    if (redirect !== null) return this.respondRedirect(redirect);

    // Forwarding headers (values computed once; X-Kamal-Target filled per target).
    const forward = service.targetOptions.forwardHeaders;
    const client = this.clientAddr;
    out.push('Host', host);
    out.push('X-Forwarded-For', forward && this.xffIn !== '' ? this.xffIn + ', ' + client : client);
    out.push('X-Forwarded-Proto', forward && xfp !== '' ? xfp : this.tls ? 'https' : 'http');
    out.push('X-Forwarded-Host', forward && xfh !== '' ? xfh : host);
    this.kamalTargetPrefix = forward && xkt !== '' ? xkt + ', ' : '';
    out.push('X-Kamal-Target', '');

    if (service.pause.state !== 'running') {
      const targetPath =
        q === -1 ? this.upstreamPath : this.upstreamPath.slice(0, this.upstreamPath.indexOf('?'));
      if (
        (req.method === 'GET' || req.method === 'HEAD') &&
        targetPath === service.targetOptions.healthCheck.path
      ) {
        return this.respondEmpty(200);
      }
      const outcome = service.pause.wait();
      if (outcome instanceof Promise) {
        outcome.then(
          (o) => {
            if (this.finished) return;
            if (o.proceed) this.continueWithBody();
            else this.respondError(o.status, o.message);
          },
          () => this.respondError(502, ''),
        );
        return;
      }
      if (!outcome.proceed) return this.respondError(outcome.status, outcome.message);
    }
    this.continueWithBody();
  }

  private continueWithBody(): void {
    const service = this.service!;
    const to = service.targetOptions;
    if (to.bufferRequests && this.hasBody) {
      if (to.maxRequestBodySize > 0 && this.reqContentLength > to.maxRequestBodySize) {
        return this.respondError(413, '', true);
      }
      const buffer = new SpillBuffer(to.maxMemoryBufferSize, to.maxRequestBodySize);
      this.reqBuffer = buffer;
      bufferStream(requestBody(this.req), buffer).then(
        () => {
          if (this.finished) return;
          setHeader(this.headers, 'content-length', String(buffer.size));
          this.pickAndDispatch();
        },
        (err: unknown) => {
          if (this.finished) return;
          if (err instanceof BodyTooLargeError) this.respondError(413, '', true);
          else this.respondError(400, '', true);
        },
      );
      return;
    }
    this.pickAndDispatch();
  }

  private pickAndDispatch(): void {
    const service = this.service!;
    let lb = service.active;
    const rc = service.rolloutController;
    if (rc !== null && service.rollout !== null && rc.usesRollout(cookieValue(this.cookie, ROLLOUT_COOKIE))) {
      lb = service.rollout;
    }
    if (lb === null) return this.respondError(503, '');
    this.lb = lb;
    let target: Target | null;
    if (lb.hasReaders) {
      const method = this.req.method;
      this.isRead = method === 'GET' || method === 'HEAD';
      if (this.isRead && !this.writerAffinityActive()) target = lb.pickReader();
      else target = lb.pickWriter();
    } else {
      target = lb.pickWriter();
    }
    const claimed = target?.claim(this) ?? null;
    if (target === null || claimed === null) return this.respondError(503, '');
    this.claimed = claimed;
    this.dispatchTo(target);
  }

  private writerAffinityActive(): boolean {
    const v = cookieValue(this.cookie, WRITER_COOKIE);
    if (v === null) return false;
    const until = Number(v);
    return Number.isFinite(until) && until > Date.now();
  }

  private dispatchTo(target: Target): void {
    this.target = target;
    const h = this.headers;
    h[h.length - 1] = this.kamalTargetPrefix === '' ? target.name : this.kamalTargetPrefix + target.name;
    let body: Buffer | Readable | null = null;
    if (this.reqBuffer !== null) body = this.reqBuffer.body();
    else if (this.hasBody) body = requestBody(this.req);
    try {
      target.pool.dispatch(
        {
          path: this.upstreamPath,
          method: this.req.method!,
          headers: h,
          body,
        },
        this,
      );
    } catch (err) {
      this.onError(err as Error);
    }
  }

  // ---- upstream handler ------------------------------------------------------

  onConnect(abort: (err: Error) => void): void {
    this.abortUpstream = abort;
    if (this.cancelReason !== null) abort(this.cancelReason);
  }

  onHeaders(status: number, rawHeaders: string[], resume: () => void): boolean {
    if (status < 200) return true;
    if (this.finished) return false;
    const out: string[] = [];
    let contentLength = -1;
    let chunked = false;
    let writerAffinity = true;
    let connection = '';
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!;
      const value = rawHeaders[i + 1]!;
      const lower = name.toLowerCase();
      switch (lower) {
        case 'connection':
          connection = value;
          continue;
        case 'keep-alive':
        case 'proxy-connection':
        case 'upgrade':
        case 'te':
        case 'trailer':
          continue;
        case 'transfer-encoding':
          chunked = true;
          continue;
        case 'content-length':
          contentLength = Number(value);
          break;
        case 'content-type':
          this.respContentType = value;
          break;
        case 'x-writer-affinity':
          if (value.trim().toLowerCase() === 'false') writerAffinity = false;
          continue;
      }
      out.push(name, value);
    }
    if (connection !== '') dropConnectionTokens(out, connection);
    this.status = status;
    this.responseHasLength = contentLength >= 0;
    this.responseLength = this.req.method === 'HEAD' ? -1 : contentLength;
    const service = this.service!;
    const lb = this.lb!;
    if (lb.hasReaders && !this.isRead && writerAffinity && service.options.writerAffinityTimeoutMs > 0) {
      const until = Date.now() + service.options.writerAffinityTimeoutMs;
      out.push(
        'Set-Cookie',
        `${WRITER_COOKIE}=${until}; Path=/; Max-Age=${Math.ceil(service.options.writerAffinityTimeoutMs / 1000)}; HttpOnly`,
      );
    }
    if (
      service.targetOptions.scopeCookiePaths &&
      service.options.stripPrefix &&
      this.binding!.prefix !== '/'
    ) {
      scopeCookies(out, this.binding!.prefix, normalizeHostForCookie(this.host));
    }
    if (service.logResponseHeaders.length > 0) this.respLogHeaders = out;

    const to = service.targetOptions;
    const streaming = chunked || isEventStream(this.respContentType);
    if (to.bufferResponses && !streaming && this.req.method !== 'HEAD') {
      if (to.maxResponseBodySize > 0 && contentLength > to.maxResponseBodySize) {
        this.abortWith(new ResponseTooLarge());
        return false;
      }
      this.respBuffer = new SpillBuffer(to.maxMemoryBufferSize, to.maxResponseBodySize);
      this.pendingHeaders = out;
      this.resumeUpstream = resume;
      return true;
    }
    try {
      this.res.writeHead(status, out as unknown as Record<string, string>);
    } catch {
      this.abortWith(new Error('invalid response headers from target'));
      this.status = 502;
      return false;
    }
    this.responseStarted = true;
    this.resumeUpstream = resume;
    if (this.http2 === false && this.res.flushHeaders !== undefined && streaming) {
      this.res.flushHeaders();
    }
    return true;
  }

  onData(chunk: Buffer): boolean {
    if (this.finished) return false;
    if (chunk.length === 0) return true;
    const buffer = this.respBuffer;
    if (buffer !== null) {
      let r: true | Promise<void>;
      try {
        r = buffer.write(chunk);
      } catch {
        this.abortWith(new ResponseTooLarge());
        return false;
      }
      if (r === true) return true;
      r.then(
        () => this.resumeUpstream?.(),
        () => this.abortWith(new ResponseTooLarge()),
      );
      return false;
    }
    this.bytes += chunk.length;
    if (this.bytes === this.responseLength) {
      // The whole declared body is here: write it and end in one go (one writev, no extra tick).
      this.bodyEnded = true;
      this.res.end(chunk);
      return true;
    }
    if (this.res.write(chunk)) return true;
    this.res.once('drain', this.resumeUpstream!);
    return false;
  }

  onComplete(): void {
    if (this.finished) return;
    const buffer = this.respBuffer;
    if (buffer !== null) {
      buffer.finish().then(
        () => this.sendBuffered(buffer),
        () => this.respondError(502, ''),
      );
      return;
    }
    if (!this.bodyEnded) this.res.end();
    this.finish();
  }

  onError(err: Error): void {
    if (this.finished) return;
    if (this.bodyEnded) {
      // The client already has the whole response; whatever failed after it is the target's business.
      this.finish();
      return;
    }
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const target = this.target;
    if (!this.responseStarted && this.respBuffer === null && target !== null && this.cancelReason === null) {
      if (EJECTING.has(code))
        this.lb?.ejectIfOthers(target, code === 'ECONNREFUSED' ? 'connection refused' : code);
      if (!this.retried && !this.hasBody && RETRYABLE.has(code) && IDEMPOTENT.has(this.req.method ?? '')) {
        const lb = this.lb!;
        const next = this.isRead && lb.hasReaders ? lb.pickReader(target) : lb.pickWriter(target);
        if ((next === null || next === target) && SAME_TARGET_RETRY.has(code) && !target.draining) {
          // No other target: a reused keep-alive connection the target had just
          // closed is worth one more try on a fresh connection.
          this.retried = true;
          this.abortUpstream = null;
          this.ctx.logger.debug('Retrying request on the same target', { target: target.name, error: code });
          this.dispatchTo(target);
          return;
        }
        const claimed = next !== null && next !== target ? next.claim(this) : null;
        if (next !== null && claimed !== null) {
          this.retried = true;
          target.release(this.claimed!);
          this.claimed = claimed;
          this.abortUpstream = null;
          this.ctx.logger.debug('Retrying request on another target', {
            from: target.name,
            to: next.name,
            error: code,
          });
          this.dispatchTo(next);
          return;
        }
      }
    }
    if (err instanceof ClientGone || this.cancelReason instanceof ClientGone) {
      this.status = 499;
      this.finish();
      return;
    }
    if (!this.responseStarted) {
      let status = 502;
      if (err instanceof DrainCancel || code === 'UND_ERR_HEADERS_TIMEOUT') status = 504;
      else if (err instanceof ResponseTooLarge) status = 500;
      else if (code === 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH') status = 400;
      if (status === 502) {
        this.ctx.logger.info('Error while proxying', {
          target: target?.name ?? '',
          path: this.path,
          error: err.message,
          code,
        });
      }
      this.respondError(status, '');
      return;
    }
    // The response already started: end it cleanly when it is a stream cut by a
    // drain, otherwise cut the connection so the client sees it is incomplete.
    if (err instanceof DrainCancel && !this.responseHasLength) this.res.end();
    else this.res.destroy();
    this.finish();
  }

  // ---- cancellation ----------------------------------------------------------

  cancelForDrain(): void {
    this.abortWith(new DrainCancel());
  }

  /** The client connection closed (normally after the response, or early: abort upstream work). */
  clientClosed(): void {
    if (this.finished) return;
    if (this.bodyEnded) {
      // The whole response was sent; the upstream exchange ends on its own.
      this.finish();
      return;
    }
    if (this.abortUpstream === null && this.target === null) {
      // Waiting in a pause or buffering the request body.
      this.status = 499;
      this.finish();
      return;
    }
    this.abortWith(new ClientGone());
    if (!this.finished) {
      this.status = 499;
      this.finish();
    }
  }

  private abortWith(err: Error): void {
    if (this.cancelReason === null) this.cancelReason = err;
    if (this.abortUpstream !== null) this.abortUpstream(err);
    else if (this.target === null) this.onError(err);
  }

  // ---- responses made by the proxy ------------------------------------------

  private sendBuffered(buffer: SpillBuffer): void {
    if (this.finished) return;
    const out = this.pendingHeaders!;
    setHeader(out, 'content-length', String(buffer.size));
    try {
      this.res.writeHead(this.status, out as unknown as Record<string, string>);
    } catch {
      this.respondError(502, '');
      return;
    }
    this.responseStarted = true;
    this.bytes = buffer.size;
    if (!buffer.spilled) {
      for (const c of buffer.memoryChunks()) this.res.write(c);
      this.res.end();
      this.finish();
      return;
    }
    const stream = buffer.body() as Readable;
    stream.on('error', () => this.res.destroy());
    stream.on('end', () => {
      this.res.end();
      this.finish();
    });
    stream.pipe(this.res as unknown as ServerResponse, { end: false });
  }

  private redirectLocation(service: Service, host: string, url: string): string | null {
    const o = service.options;
    const needsTLS = service.tlsEnabled && service.tlsRedirect && !this.tls;
    if (!needsTLS && o.canonicalHost === '') return null;
    const bare = hostWithoutPort(host);
    const wrongHost = o.canonicalHost !== '' && bare.toLowerCase() !== o.canonicalHost;
    if (!needsTLS && !wrongHost) return null;
    const scheme = needsTLS || this.tls ? 'https' : 'http';
    return `${scheme}://${wrongHost ? o.canonicalHost : bare}${url}`;
  }

  private respondRedirect(location: string): void {
    this.status = 301;
    const res = this.res;
    if (this.http2) res.writeHead(301, { location });
    else res.writeHead(301, { location, connection: 'close', 'content-length': '0' });
    res.end();
    this.finish();
  }

  /** An ACME HTTP-01 key authorization (RFC 8555 §8.3), answered before routing. */
  private respondChallenge(keyAuthorization: string): void {
    this.status = 200;
    this.respContentType = 'application/octet-stream';
    this.bytes = Buffer.byteLength(keyAuthorization);
    this.res.writeHead(200, { 'content-type': this.respContentType, 'content-length': String(this.bytes) });
    this.res.end(keyAuthorization);
    this.finish();
  }

  private respondEmpty(status: number): void {
    this.status = status;
    this.res.writeHead(status, { 'content-length': '0' });
    this.res.end();
    this.finish();
  }

  respondError(status: number, message: string, close = false): void {
    if (this.finished) return;
    this.status = status;
    const res = this.res;
    if (res.headersSent || this.responseStarted) {
      res.destroy();
      this.finish();
      return;
    }
    const body = errorPage(status, message, this.service?.errorPages ?? null);
    this.respContentType = 'text/html; charset=utf-8';
    const headers: Record<string, string> = {
      'content-type': this.respContentType,
      'content-length': String(Buffer.byteLength(body)),
    };
    if (close && !this.http2) headers['connection'] = 'close';
    try {
      res.writeHead(status, headers);
      this.bytes = Buffer.byteLength(body);
      if (this.req.method === 'HEAD') res.end();
      else res.end(body);
    } catch {
      res.destroy();
    }
    this.finish();
  }

  // ---- bookkeeping -----------------------------------------------------------

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.claimed !== null) this.target!.release(this.claimed);
    if (this.reqBuffer !== null) void this.reqBuffer.dispose();
    if (this.respBuffer !== null) void this.respBuffer.dispose();
    const elapsed = performance.now() - this.start;
    const service = this.service;
    if (this.ctx.metrics !== null && service !== null && this.tracked) {
      this.ctx.metrics.requestFinished(
        service.name,
        this.req.method ?? '',
        this.status,
        elapsed / 1000,
        true,
      );
    }
    if (this.ctx.logger.enabled) this.log(elapsed);
    requestEnded(this.ctx);
  }

  private log(elapsedMs: number): void {
    const req = this.req;
    const clientAddr = this.clientAddr;
    const service = this.service;
    let line =
      '{"time":"' +
      isoNow() +
      '","level":"INFO","msg":"Request","host":' +
      jsonString(this.host) +
      ',"port":' +
      (this.tls ? this.ctx.httpsPort : this.ctx.httpPort) +
      ',"path":' +
      jsonString(this.path) +
      ',"request_id":' +
      jsonString(this.requestId) +
      ',"status":' +
      this.status +
      ',"service":' +
      jsonString(service?.name ?? '') +
      ',"target":' +
      jsonString(this.target?.name ?? '') +
      ',"duration":' +
      Math.round(elapsedMs * 1e6) +
      ',"duration_ms":' +
      Math.round(elapsedMs * 1000) / 1000 +
      ',"method":' +
      jsonString(req.method ?? '') +
      ',"req_content_length":' +
      (Number.isFinite(this.reqContentLength) ? this.reqContentLength : -1) +
      ',"req_content_type":' +
      jsonString(this.reqContentType) +
      ',"resp_content_length":' +
      this.bytes +
      ',"resp_content_type":' +
      jsonString(this.respContentType) +
      ',"client_addr":' +
      jsonString(clientAddr) +
      ',"client_port":' +
      (this.clientPort === 0 ? '""' : '"' + this.clientPort + '"') +
      ',"remote_addr":' +
      jsonString(this.xffIn !== '' ? this.xffIn : clientAddr) +
      ',"user_agent":' +
      jsonString(this.userAgent) +
      ',"proto":"HTTP/' +
      req.httpVersion +
      '","scheme":"' +
      (this.tls ? 'https' : 'http') +
      '","query":' +
      jsonString(this.query);
    if (service !== null) {
      for (const name of service.logRequestHeaders) {
        const v = req.headers[name];
        line +=
          ',' +
          jsonString('req_' + name.replace(/-/g, '_')) +
          ':' +
          jsonString(Array.isArray(v) ? v.join(',') : (v ?? ''));
      }
      for (const name of service.logResponseHeaders) {
        line +=
          ',' +
          jsonString('resp_' + name.replace(/-/g, '_')) +
          ':' +
          jsonString(headerFrom(this.respLogHeaders, name));
      }
    }
    this.ctx.logger.raw(line + '}\n');
  }
}

// ---- helpers -------------------------------------------------------------------

/** Host header syntax: name or IP literal, optional port; nothing else. */
function validHost(host: string): boolean {
  for (let i = 0; i < host.length; i++) {
    const c = host.charCodeAt(i);
    const ok =
      (c >= 97 && c <= 122) || // a-z
      (c >= 65 && c <= 90) || // A-Z
      (c >= 48 && c <= 58) || // 0-9 and ':'
      c === 45 || // -
      c === 46 || // .
      c === 95 || // _
      c === 91 || // [
      c === 93; // ]
    if (!ok) return false;
  }
  return true;
}

function isEventStream(contentType: string): boolean {
  return contentType.length >= 17 && contentType.slice(0, 17).toLowerCase() === 'text/event-stream';
}

function hostWithoutPort(host: string): string {
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    return close === -1 ? host : host.slice(0, close + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

function normalizeHostForCookie(host: string): string {
  return hostWithoutPort(host).toLowerCase();
}

/** Removes the headers a Connection header names (besides the standard tokens). */
function dropConnectionTokens(out: string[], connection: string): void {
  const l = connection.length;
  if ((l === 10 || l === 5) && /^(keep-alive|close)$/i.test(connection)) return;
  for (const token of connection.split(',')) {
    const t = token.trim().toLowerCase();
    if (t === '' || t === 'close' || t === 'keep-alive' || t === 'upgrade') continue;
    for (let i = out.length - 2; i >= 0; i -= 2) {
      if (out[i]!.toLowerCase() === t) out.splice(i, 2);
    }
  }
}

/** Replaces (or adds, at the front, keeping X-Kamal-Target last) a header in a flat name/value list. */
export function setHeader(out: string[], name: string, value: string): void {
  let found = false;
  for (let i = out.length - 2; i >= 0; i -= 2) {
    if (out[i]!.toLowerCase() === name) {
      if (found) out.splice(i, 2);
      else {
        out[i + 1] = value;
        found = true;
      }
    }
  }
  if (!found) out.unshift(name, value);
}

function headerFrom(out: string[] | null, name: string): string {
  if (out === null) return '';
  const values: string[] = [];
  for (let i = 0; i < out.length; i += 2) if (out[i]!.toLowerCase() === name) values.push(out[i + 1]!);
  return values.join(',');
}

/** Rewrites Set-Cookie paths under the matched prefix (--scope-cookie-paths). */
function scopeCookies(out: string[], prefix: string, host: string): void {
  for (let i = 0; i < out.length; i += 2) {
    if (out[i]!.toLowerCase() !== 'set-cookie') continue;
    const parts = out[i + 1]!.split(';');
    const domain = parts.find((p) => p.trim().toLowerCase().startsWith('domain='));
    if (domain !== undefined) {
      const d = domain.trim().slice(7).replace(/^\./, '').toLowerCase();
      if (d !== host) continue;
    }
    let replaced = false;
    for (let j = 1; j < parts.length; j++) {
      const p = parts[j]!.trim();
      if (p.toLowerCase().startsWith('path=')) {
        const path = p.slice(5);
        parts[j] = ' Path=' + prefix + (path.startsWith('/') ? (path === '/' ? '' : path) : '/' + path);
        replaced = true;
      }
    }
    if (!replaced) parts.push(' Path=' + prefix);
    out[i + 1] = parts.join(';');
  }
}
