// The client side of proxying: a keep-alive pool of HTTP/1.1 connections to
// one target, over plain net.Socket. One request at a time per connection (no
// pipelining). It parses responses itself (status line, headers,
// Content-Length, chunked, read-until-close, 1xx skipped) and is strict where
// a lenient parser could desynchronise a reused connection: Content-Length
// with Transfer-Encoding, differing Content-Lengths, bad chunk sizes, folded
// or malformed header lines and bytes after a complete response all fail the
// request and close the connection.
//
// The handler interface mirrors the subset of undici's dispatcher handlers the
// proxy used before (onConnect/onHeaders/onData/onComplete/onError), with the
// response headers as a flat list of latin1 strings. Error codes are the ones
// the proxy's retry and ejection rules know (ECONNREFUSED, ECONNRESET, …, and
// undici's UND_ERR_* names for the cases that have no errno).
import net from 'node:net';
import type { Readable } from 'node:stream';
import { InflightList, type InflightEntry } from './inflight.js';

export interface UpstreamRequest {
  /** Request target as sent (origin-form path and query). */
  path: string;
  method: string;
  /** Flat name/value list; Host included. */
  headers: string[];
  /** Nothing, a whole body, or a stream (sent as-is under Content-Length, else chunked). */
  body: Buffer | Readable | null;
}

export interface UpstreamHandler {
  /** Called once the request is on a connection; abort(err) ends it with onError(err). */
  onConnect(abort: (err: Error) => void): void;
  /** Final (non-1xx) response head. Return false to pause the body until resume(). */
  onHeaders(status: number, headers: string[], resume: () => void): boolean;
  /** A piece of the response body. Return false to pause until resume(). */
  onData(chunk: Buffer): boolean;
  onComplete(): void;
  /** Exactly one of onComplete/onError ends a request. */
  onError(err: Error): void;
}

export interface UpstreamPoolOptions {
  /** Most open connections; requests beyond wait in a queue. */
  connections: number;
  /** Idle connections are closed after this long (a target's Keep-Alive: timeout hint can shorten it). */
  keepAliveTimeoutMs: number;
  /** Time allowed for the response head after the request is sent (0 = none). */
  headersTimeoutMs: number;
  connectTimeoutMs: number;
  maxHeaderSize: number;
}

export class UpstreamError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'UpstreamError';
  }
}

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

const enum State {
  Idle,
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkEnd,
  Trailers,
  UntilClose,
}

type Queued = [UpstreamRequest, UpstreamHandler];

export class UpstreamPool {
  private readonly idle: Connection[] = [];
  /** Every open connection (a list, not a Set: see inflight.ts). */
  private readonly all = new InflightList<Connection>();
  private readonly queue: Queued[] = [];
  private closed = false;
  /** The last Keep-Alive header value seen and the idle limit it gives (-1: none). */
  lastHint = '';
  lastHintMs = -1;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly options: UpstreamPoolOptions,
  ) {}

  dispatch(request: UpstreamRequest, handler: UpstreamHandler): void {
    if (this.closed) {
      handler.onError(new UpstreamError('UND_ERR_CLOSED', 'the connection pool to the target is closed'));
      return;
    }
    const conn = this.take();
    if (conn === null) {
      this.queue.push([request, handler]);
      return;
    }
    conn.start(request, handler);
  }

  /** Open connections (idle and busy). */
  get size(): number {
    return this.all.size;
  }

  private take(): Connection | null {
    const now = Date.now();
    for (;;) {
      const conn = this.idle.pop();
      if (conn === undefined) break;
      if (now - conn.idleSince < conn.keepAliveMs) return conn;
      this.remove(conn);
      conn.socket.destroy();
    }
    if (this.all.size >= this.options.connections) return null;
    const conn = new Connection(this);
    conn.entry = this.all.add(conn);
    if (this.sweeper === null) {
      const t = this.options.headersTimeoutMs;
      this.sweeper = setInterval(this.sweep, t > 0 ? Math.min(500, Math.max(10, t >> 2)) : 500);
      this.sweeper.unref();
    }
    return conn;
  }

  /** A connection finished its request and can take another. */
  reuse(conn: Connection): void {
    const next = this.queue.shift();
    if (next !== undefined) {
      conn.start(next[0], next[1]);
      return;
    }
    conn.idleSince = Date.now();
    this.idle.push(conn);
  }

  /** A connection is gone (closed, failed, or not reusable). */
  remove(conn: Connection): void {
    if (conn.entry === null || !this.all.remove(conn.entry)) return;
    const i = this.idle.indexOf(conn);
    if (i !== -1) this.idle.splice(i, 1);
    if (this.queue.length > 0 && !this.closed) {
      const next = this.take();
      if (next !== null) {
        const [request, handler] = this.queue.shift()!;
        next.start(request, handler);
      }
    }
    if (this.all.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
  }

  private readonly sweep = (): void => {
    const now = Date.now();
    for (const conn of this.all.items()) conn.check(now);
  };

  /** Closes every connection; queued and in-flight requests fail with UND_ERR_CLOSED. */
  async destroy(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new UpstreamError('UND_ERR_CLOSED', 'the connection pool to the target is closed');
    for (const [, handler] of this.queue.splice(0)) handler.onError(err);
    for (const conn of this.all.items()) conn.fail(err);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}

class Connection {
  /** Its entry in the pool's list of open connections. */
  entry: InflightEntry<Connection> | null = null;
  readonly socket: net.Socket;
  idleSince = 0;
  keepAliveMs: number;
  private connected = false;
  private connectDeadline: number;
  private handler: UpstreamHandler | null = null;
  private state = State.Idle;
  /** Response head bytes received so far (head split across reads). */
  private partial: Buffer | null = null;
  /** A chunk-size or trailer line split across reads. */
  private line = '';
  private remaining = 0;
  private noBody = false;
  private keepAlive = true;
  private gotBytes = false;
  private requestSent = true;
  private body: Readable | null = null;
  private chunkedBody = false;
  private paused = false;
  private pending: Buffer | null = null;
  private headersDeadline = 0;

  constructor(private readonly pool: UpstreamPool) {
    const o = pool.options;
    this.keepAliveMs = o.keepAliveTimeoutMs;
    this.connectDeadline = Date.now() + o.connectTimeoutMs;
    this.socket = net.connect({ host: pool.host, port: pool.port, noDelay: true, keepAlive: true });
    this.socket.on('connect', this.onConnected);
    this.socket.on('data', this.onSocketData);
    this.socket.on('end', this.onSocketEnd);
    this.socket.on('error', this.onSocketError);
    this.socket.on('close', this.onSocketClose);
  }

  start(request: UpstreamRequest, handler: UpstreamHandler): void {
    this.handler = handler;
    this.state = State.Head;
    this.partial = null;
    this.line = '';
    this.gotBytes = false;
    this.paused = false;
    this.pending = null;
    this.noBody = request.method === 'HEAD';
    this.headersDeadline = request.body === null || Buffer.isBuffer(request.body) ? this.deadline() : 0;
    handler.onConnect((err) => {
      if (this.handler === handler) this.fail(err);
    });
    if (this.handler !== handler) return;

    const h = request.headers;
    let head = request.method + ' ' + request.path + ' HTTP/1.1\r\n';
    let hasLength = false;
    for (let i = 0; i < h.length; i += 2) {
      const name = h[i]!;
      const value = h[i + 1]!;
      if (!safeValue(value) || !safeValue(name)) {
        this.fail(new UpstreamError('UND_ERR_INVALID_ARG', `invalid request header ${JSON.stringify(name)}`));
        return;
      }
      if (name.length === 14 && name.toLowerCase() === 'content-length') hasLength = true;
      head += name + ': ' + value + '\r\n';
    }
    if (!safeValue(request.path) || request.path.includes(' ')) {
      this.fail(new UpstreamError('UND_ERR_INVALID_ARG', 'invalid request path'));
      return;
    }
    const body = request.body;
    const socket = this.socket;
    if (body === null) {
      if (!hasLength && expectsPayload(request.method)) head += 'content-length: 0\r\n';
      this.requestSent = true;
      socket.write(head + '\r\n', 'latin1');
    } else if (Buffer.isBuffer(body)) {
      if (!hasLength) head += 'content-length: ' + body.length + '\r\n';
      this.requestSent = true;
      socket.cork();
      socket.write(head + '\r\n', 'latin1');
      socket.write(body);
      socket.uncork();
    } else {
      this.chunkedBody = !hasLength;
      if (this.chunkedBody) head += 'transfer-encoding: chunked\r\n';
      socket.write(head + '\r\n', 'latin1');
      this.requestSent = false;
      this.body = body;
      body.on('data', this.onBodyData);
      body.on('end', this.onBodyEnd);
      body.on('error', this.onBodyError);
      body.on('close', this.onBodyClose);
    }
  }

  // ---- request body --------------------------------------------------------

  private readonly onBodyData = (chunk: Buffer | string): void => {
    const socket = this.socket;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length === 0) return;
    let ok: boolean;
    if (this.chunkedBody) {
      socket.cork();
      socket.write(buf.length.toString(16) + '\r\n', 'latin1');
      socket.write(buf);
      ok = socket.write('\r\n', 'latin1');
      socket.uncork();
    } else ok = socket.write(buf);
    if (!ok && this.body !== null) {
      this.body.pause();
      socket.once('drain', this.onSocketDrain);
    }
  };

  private readonly onSocketDrain = (): void => {
    this.body?.resume();
  };

  private readonly onBodyEnd = (): void => {
    if (this.chunkedBody) this.socket.write('0\r\n\r\n', 'latin1');
    this.detachBody();
    this.requestSent = true;
    if (this.state === State.Head) this.headersDeadline = this.deadline();
  };

  /** When the response head is due (0 = no limit), counted from the end of the request. */
  private deadline(): number {
    const timeout = this.pool.options.headersTimeoutMs;
    return timeout > 0 ? Date.now() + timeout : 0;
  }

  private readonly onBodyError = (err: Error): void => {
    this.detachBody();
    if (this.handler !== null) this.fail(err);
    else this.socket.destroy();
  };

  private readonly onBodyClose = (): void => {
    // Closed before its end: the client went away mid-body; the target must not see a short body as complete.
    if (this.body === null) return;
    this.onBodyError(new UpstreamError('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'request body ended early'));
  };

  private detachBody(): void {
    const body = this.body;
    if (body === null) return;
    this.body = null;
    body.off('data', this.onBodyData);
    body.off('end', this.onBodyEnd);
    body.off('error', this.onBodyError);
    body.off('close', this.onBodyClose);
    this.socket.off('drain', this.onSocketDrain);
  }

  // ---- socket events ---------------------------------------------------------

  private readonly onConnected = (): void => {
    this.connected = true;
  };

  private readonly onSocketData = (chunk: Buffer): void => {
    if (this.handler === null) {
      // Bytes nobody asked for (on an idle connection, or after a response): the connection is unusable.
      this.close();
      return;
    }
    this.gotBytes = true;
    if (this.paused) {
      this.pending = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
      return;
    }
    this.feedSafely(chunk);
  };

  /** A handler that throws costs its request and this connection, never the process. */
  private feedSafely(chunk: Buffer): void {
    try {
      this.feed(chunk);
    } catch (err) {
      if (this.handler !== null) this.fail(err instanceof Error ? err : new Error(String(err)));
      else this.close();
    }
  }

  private readonly onSocketEnd = (): void => {
    const handler = this.handler;
    if (handler !== null && this.state === State.UntilClose && !this.paused) {
      this.keepAlive = false;
      this.complete();
      return;
    }
    if (handler !== null && this.state === State.UntilClose) {
      // Paused: finish once the pending bytes are delivered.
      this.keepAlive = false;
      this.endedWhilePaused = true;
      return;
    }
    this.fail(
      this.gotBytes
        ? new UpstreamError('UND_ERR_SOCKET', 'the target closed the connection mid-response')
        : connectionReset(),
    );
  };

  private endedWhilePaused = false;

  private readonly onSocketError = (err: Error): void => {
    this.fail(err);
  };

  private readonly onSocketClose = (): void => {
    if (this.handler !== null && !this.endedWhilePaused) {
      this.fail(
        this.gotBytes
          ? new UpstreamError('UND_ERR_SOCKET', 'the target closed the connection mid-response')
          : connectionReset(),
      );
    }
    this.detachBody();
    this.pool.remove(this);
  };

  /** Timer sweep: headers timeout, connect timeout, idle keep-alive expiry. */
  check(now: number): void {
    if (this.handler !== null) {
      if (!this.connected && now > this.connectDeadline) {
        this.fail(new UpstreamError('UND_ERR_CONNECT_TIMEOUT', 'connecting to the target timed out'));
      } else if (this.headersDeadline !== 0 && now > this.headersDeadline && this.state === State.Head) {
        this.fail(new UpstreamError('UND_ERR_HEADERS_TIMEOUT', 'the target did not answer in time'));
      }
    } else if (now - this.idleSince >= this.keepAliveMs) {
      this.close();
    }
  }

  // ---- ending ----------------------------------------------------------------

  /** Ends the current request with an error and drops the connection. */
  fail(err: Error): void {
    const handler = this.handler;
    this.handler = null;
    this.state = State.Idle;
    this.close();
    if (handler !== null) handler.onError(err);
  }

  private close(): void {
    this.detachBody();
    this.socket.destroy();
    this.pool.remove(this);
  }

  private complete(): void {
    const handler = this.handler!;
    this.handler = null;
    this.state = State.Idle;
    const reusable = this.keepAlive && this.requestSent && this.pending === null && !this.endedWhilePaused;
    if (!reusable) this.close();
    handler.onComplete();
    if (reusable && !this.socket.destroyed) this.pool.reuse(this);
  }

  private protocolError(message: string): void {
    this.fail(new UpstreamError('UND_ERR_PROTOCOL', message));
  }

  private readonly resume = (): void => {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    const pending = this.pending;
    if (pending !== null) {
      this.pending = null;
      this.feedSafely(pending);
    }
    if (!this.paused && this.endedWhilePaused && this.handler !== null) {
      if (this.state === State.UntilClose) this.complete();
      else this.fail(new UpstreamError('UND_ERR_SOCKET', 'the target closed the connection mid-response'));
    }
  };

  private pause(rest: Buffer | null): void {
    this.paused = true;
    this.socket.pause();
    if (rest !== null && rest.length > 0) this.pending = rest;
  }

  // ---- response parsing ------------------------------------------------------

  private feed(input: Buffer): void {
    const handler = this.handler!;
    let chunk = input;
    let off = 0;
    while (off < chunk.length) {
      switch (this.state) {
        case State.Head: {
          if (this.partial !== null) {
            chunk = Buffer.concat([this.partial, chunk.subarray(off)]);
            off = 0;
            this.partial = null;
          }
          const end = chunk.indexOf(CRLFCRLF, off);
          if (end === -1) {
            if (chunk.length - off > this.pool.options.maxHeaderSize) {
              return this.fail(new UpstreamError('UND_ERR_HEADERS_OVERFLOW', 'response headers too large'));
            }
            this.partial = chunk.subarray(off);
            return;
          }
          if (end - off > this.pool.options.maxHeaderSize) {
            return this.fail(new UpstreamError('UND_ERR_HEADERS_OVERFLOW', 'response headers too large'));
          }
          const text = chunk.toString('latin1', off, end);
          off = end + 4;
          const status = this.parseHead(text);
          if (status === -1) return; // failed
          if (status < 200) continue; // informational: the final head follows
          this.headersDeadline = 0;
          const ok = handler.onHeaders(status, this.headers!, this.resume);
          this.headers = null;
          if (this.handler !== handler) return;
          if ((this.state as State) === State.Idle) {
            // No body.
            if (off < chunk.length) this.keepAlive = false;
            this.complete();
            return;
          }
          if (!ok) return this.pause(chunk.subarray(off));
          break;
        }
        case State.Length:
        case State.ChunkData:
        case State.UntilClose: {
          const avail = chunk.length - off;
          let piece: Buffer;
          if (this.state === State.UntilClose || avail <= this.remaining) {
            piece = off === 0 ? chunk : chunk.subarray(off);
            off = chunk.length;
          } else {
            piece = chunk.subarray(off, off + this.remaining);
            off += this.remaining;
          }
          if (this.state !== State.UntilClose) this.remaining -= piece.length;
          const last = this.state === State.Length && this.remaining === 0;
          if (this.remaining === 0 && this.state === State.ChunkData) this.state = State.ChunkEnd;
          const ok = handler.onData(piece);
          if (this.handler !== handler) return;
          if (last) {
            if (off < chunk.length) this.keepAlive = false;
            this.complete();
            return;
          }
          if (!ok) return this.pause(chunk.subarray(off));
          break;
        }
        case State.ChunkSize: {
          const nl = chunk.indexOf(10, off);
          if (nl === -1) {
            this.line += chunk.toString('latin1', off);
            if (this.line.length > 1024) return this.protocolError('chunk size line too long');
            return;
          }
          const line = this.line + chunk.toString('latin1', off, nl);
          this.line = '';
          off = nl + 1;
          const size = parseChunkSize(line);
          if (size < 0) return this.protocolError('invalid chunk size');
          if (size === 0) this.state = State.Trailers;
          else {
            this.remaining = size;
            this.state = State.ChunkData;
          }
          break;
        }
        case State.ChunkEnd: {
          // The CRLF after a chunk's data (may arrive split).
          const c = chunk[off]!;
          if (this.line === '' && c === 13) {
            this.line = '\r';
            off++;
          } else if (this.line === '\r' && c === 10) {
            this.line = '';
            off++;
            this.state = State.ChunkSize;
          } else return this.protocolError('missing CRLF after chunk data');
          break;
        }
        case State.Trailers: {
          const nl = chunk.indexOf(10, off);
          if (nl === -1) {
            this.line += chunk.toString('latin1', off);
            if (this.line.length > this.pool.options.maxHeaderSize) {
              return this.protocolError('trailers too large');
            }
            return;
          }
          const line = this.line + chunk.toString('latin1', off, nl);
          this.line = '';
          off = nl + 1;
          if (line.length > 0 && line.charCodeAt(line.length - 1) !== 13) {
            return this.protocolError('bare LF in trailers');
          }
          if (line === '\r') {
            if (off < chunk.length) this.keepAlive = false;
            this.complete();
            return;
          }
          // Trailer fields are dropped (the proxy does not forward them).
          break;
        }
        case State.Idle:
          // Bytes after a complete response (handled in complete()).
          return;
      }
    }
  }

  private headers: string[] | null = null;

  /** Parses a response head; returns its status, or -1 after failing the request. */
  private parseHead(text: string): number {
    const lines = text.split('\r\n');
    const first = lines[0]!;
    if (
      first.length < 12 ||
      !first.startsWith('HTTP/1.') ||
      (first.charCodeAt(7) !== 49 && first.charCodeAt(7) !== 48) ||
      first.charCodeAt(8) !== 32 ||
      (first.length > 12 && first.charCodeAt(12) !== 32)
    ) {
      this.protocolError('invalid status line');
      return -1;
    }
    const status = Number(first.slice(9, 12));
    if (!(status >= 100 && status <= 999) || !isDigits(first, 9, 12)) {
      this.protocolError('invalid status code');
      return -1;
    }
    const http10 = first.charCodeAt(7) === 48;
    const out: string[] = [];
    let contentLength = -1;
    let transferEncoding = '';
    let close = http10;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0 || !isToken(line, colon) || !safeValue(line)) {
        this.protocolError('invalid header line');
        return -1;
      }
      const name = line.slice(0, colon);
      const value = trimOws(line, colon + 1);
      switch (name.length) {
        case 14:
          if (name.toLowerCase() === 'content-length') {
            const n = parseLength(value);
            if (n < 0 || (contentLength !== -1 && contentLength !== n)) {
              this.protocolError('invalid Content-Length');
              return -1;
            }
            contentLength = n;
          }
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') {
            transferEncoding = transferEncoding === '' ? value : transferEncoding + ', ' + value;
          }
          break;
        case 10:
          if (name.toLowerCase() === 'connection') {
            const v = value.toLowerCase();
            if (v.includes('close')) close = true;
            else if (http10 && v.includes('keep-alive')) close = false;
          } else if (name.toLowerCase() === 'keep-alive') this.keepAliveHint(value);
          break;
      }
      out.push(name, value);
    }
    if (status < 200) {
      if (status === 101) {
        this.protocolError('unexpected protocol switch');
        return -1;
      }
      return status;
    }
    this.headers = out;
    this.keepAlive = !close;
    if (this.noBody || status === 204 || status === 304) {
      this.state = State.Idle;
    } else if (transferEncoding !== '') {
      if (contentLength !== -1) {
        this.protocolError('both Content-Length and Transfer-Encoding');
        return -1;
      }
      const last = transferEncoding
        .slice(transferEncoding.lastIndexOf(',') + 1)
        .trim()
        .toLowerCase();
      if (last === 'chunked') this.state = State.ChunkSize;
      else {
        this.state = State.UntilClose;
        this.keepAlive = false;
      }
    } else if (contentLength === 0) {
      this.state = State.Idle;
    } else if (contentLength > 0) {
      this.state = State.Length;
      this.remaining = contentLength;
    } else {
      this.state = State.UntilClose;
      this.keepAlive = false;
    }
    return status;
  }

  /** Keep-Alive: timeout=N from the target: close idle connections a second before it would. */
  private keepAliveHint(value: string): void {
    const pool = this.pool;
    if (value !== pool.lastHint) {
      // Targets send the same value on every response: parse it once.
      const m = /timeout=(\d+)/i.exec(value);
      pool.lastHint = value;
      pool.lastHintMs = m === null ? -1 : Math.max(Number(m[1]) * 1000 - 1000, 0);
    }
    const ms = pool.lastHintMs;
    if (ms !== -1 && ms < pool.options.keepAliveTimeoutMs) this.keepAliveMs = ms;
  }
}

function connectionReset(): UpstreamError {
  return new UpstreamError('ECONNRESET', 'the target closed the connection before answering');
}

function expectsPayload(method: string): boolean {
  return method === 'POST' || method === 'PUT' || method === 'PATCH';
}

/** No CR, LF or NUL (header injection on the request side, bad bytes on the response side). */
function safeValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}

/** RFC 9110 token characters up to `end` (a header name). */
function isToken(s: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (!(
      (c >= 97 && c <= 122) ||
      (c >= 65 && c <= 90) ||
      (c >= 48 && c <= 57) ||
      c === 45 ||
      c === 95 ||
      c === 46 ||
      c === 33 ||
      (c >= 35 && c <= 39) ||
      c === 42 ||
      c === 43 ||
      c === 94 ||
      c === 96 ||
      c === 124 ||
      c === 126
    ))
      return false;
  }
  return true;
}

function isDigits(s: string, from: number, to: number): boolean {
  if (from >= to) return false;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function trimOws(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return s.slice(a, b);
}

/** Content-Length value (also a list of equal values); -1 when invalid. */
function parseLength(value: string): number {
  if (isDigits(value, 0, value.length) && value.length <= 15) return Number(value);
  let n = -1;
  for (const part of value.split(',')) {
    const p = part.trim();
    if (!isDigits(p, 0, p.length) || p.length > 15) return -1;
    const v = Number(p);
    if (n !== -1 && v !== n) return -1;
    n = v;
  }
  return n;
}

/** A chunk-size line (hex, optional extensions, CRLF); -1 when invalid. */
function parseChunkSize(line: string): number {
  if (line.length === 0 || line.charCodeAt(line.length - 1) !== 13) return -1;
  let end = line.length - 1;
  const semi = line.indexOf(';');
  if (semi !== -1) end = semi;
  while (end > 0 && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  if (end === 0 || end > 12) return -1;
  let n = 0;
  for (let i = 0; i < end; i++) {
    const c = line.charCodeAt(i);
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else if (c >= 65 && c <= 70) d = c - 55;
    else return -1;
    n = n * 16 + d;
  }
  return n;
}
