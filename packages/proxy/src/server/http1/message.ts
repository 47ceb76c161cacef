// Request and response objects of the fast HTTP/1.1 path. They implement the
// subset of node:http's IncomingMessage / ServerResponse that Exchange uses,
// so one Exchange serves node:http, HTTP/2 and this path alike.
import { EventEmitter } from 'node:events';
import { STATUS_CODES, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';

/** What a response needs from its connection. */
export interface ResponseOwner {
  readonly socket: Socket;
  /** Keep-Alive header value sent on reusable connections ("" = none). */
  readonly keepAliveHeader: string;
  /** True once the server is shutting down: every response closes its connection. */
  closing(): boolean;
  /** The response ended (reuse = the connection may carry the next request). */
  responseDone(res: RawResponse, reuse: boolean): void;
}

/** Request headers node:http keeps only once (later duplicates dropped). */
const SINGLE = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/** The request body stream: fed by the connection, pulls (resumes the socket) when read. */
export class RequestBody extends Readable {
  constructor(private readonly wanted: () => void) {
    super();
  }
  override _read(): void {
    this.wanted();
  }
}

export class RawRequest {
  readonly httpVersion = '1.1';
  readonly httpVersionMajor = 1;
  readonly httpVersionMinor = 1;
  /** The body, when the request declared one (Content-Length > 0). */
  body: RequestBody | null = null;
  private map: IncomingHttpHeaders | null = null;

  constructor(
    readonly method: string,
    readonly url: string,
    readonly rawHeaders: string[],
    readonly socket: Socket,
  ) {}

  /** Lower-cased header map with node:http's duplicate rules (built on first use). */
  get headers(): IncomingHttpHeaders {
    if (this.map !== null) return this.map;
    const map: Record<string, string | string[]> = Object.create(null);
    const raw = this.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!.toLowerCase();
      const value = raw[i + 1]!;
      const prev = map[name];
      if (prev === undefined) map[name] = name === 'set-cookie' ? [value] : value;
      else if (name === 'set-cookie') (prev as string[]).push(value);
      else if (SINGLE.has(name)) continue;
      else map[name] = prev + (name === 'cookie' ? '; ' : ', ') + value;
    }
    this.map = map as IncomingHttpHeaders;
    return this.map;
  }
}

const NONE = 0;
const LENGTH = 1;
const CHUNKED = 2;
/** Up to this size, head and body are copied into one buffer (one write); beyond, corked writes. */
const COPY_LIMIT = 16 * 1024;

let dateSecond = 0;
let dateText = '';
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function safeHeaderText(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 13 || c === 10 || c === 0) return false;
  }
  return true;
}

function emitClose(res: RawResponse): void {
  res.emit('close');
}

export class RawResponse extends EventEmitter {
  headersSent = false;
  statusCode = 200;
  /** end() was called (or the response was cut). */
  ended = false;
  /** 'close' was emitted. */
  closed = false;
  private head: string | null = null;
  private mode = NONE;
  private declared = 0;
  private written = 0;
  private reuse: boolean;

  constructor(
    private readonly owner: ResponseOwner,
    private readonly isHead: boolean,
    keepAlive: boolean,
  ) {
    super();
    this.reuse = keepAlive;
  }

  writeHead(status: number, headers?: Record<string, string | number | string[]> | string[]): this {
    if (this.headersSent) throw new Error('headers already sent');
    let list: string[];
    if (Array.isArray(headers)) list = headers;
    else {
      list = [];
      if (headers !== undefined) {
        for (const name of Object.keys(headers)) {
          const v = headers[name]!;
          if (Array.isArray(v)) for (const one of v) list.push(name, one);
          else list.push(name, String(v));
        }
      }
    }
    let head = 'HTTP/1.1 ' + status + ' ' + (STATUS_CODES[status] ?? 'unknown') + '\r\n';
    let length = -1;
    let date = false;
    let chunkedByCaller = false;
    let reuse = this.reuse;
    for (let i = 0; i < list.length; i += 2) {
      const name = list[i]!;
      const value = list[i + 1]!;
      if (name.length === 0 || !safeHeaderText(name) || !safeHeaderText(value)) {
        throw new Error(`invalid header ${JSON.stringify(name)}`);
      }
      switch (name.length) {
        case 4:
          if (name.toLowerCase() === 'date') date = true;
          break;
        case 10:
          if (name.toLowerCase() === 'connection') {
            if (/(^|,)\s*close\s*(,|$)/i.test(value)) reuse = false;
            continue; // the connection's own header is written below
          }
          break;
        case 14:
          if (name.toLowerCase() === 'content-length') length = Number(value);
          break;
        case 17:
          if (name.toLowerCase() === 'transfer-encoding') chunkedByCaller = true;
          break;
      }
      head += name + ': ' + value + '\r\n';
    }
    if (!date) head += 'Date: ' + httpDate() + '\r\n';
    if (this.owner.closing()) reuse = false;
    const noBody = this.isHead || status === 204 || status === 304 || status < 200;
    let framing = '';
    if (noBody) this.mode = NONE;
    else if (length >= 0) {
      this.mode = LENGTH;
      this.declared = length;
    } else if (chunkedByCaller) {
      // The caller frames the body itself; only a close marks its end safely.
      this.mode = LENGTH;
      this.declared = -1;
      reuse = false;
    } else {
      this.mode = CHUNKED;
      framing = 'Transfer-Encoding: chunked\r\n';
    }
    // Same order as node:http: Date, Connection (+ Keep-Alive), then the framing it adds.
    head += (reuse ? this.owner.keepAliveHeader : 'Connection: close\r\n') + framing;
    this.reuse = reuse;
    this.statusCode = status;
    this.head = head + '\r\n';
    this.headersSent = true;
    return this;
  }

  /** Sends the head now (streamed responses). */
  flushHeaders(): void {
    if (this.head !== null && !this.ended) this.out('', null, '');
  }

  write(chunk: Buffer | string): boolean {
    if (this.ended) return true;
    if (!this.headersSent) this.writeHead(this.statusCode);
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (buf.length === 0 || this.mode === NONE) return true;
    this.written += buf.length;
    if (this.mode === CHUNKED) return this.out(buf.length.toString(16) + '\r\n', buf, '\r\n');
    return this.out('', buf, '');
  }

  end(chunk?: Buffer | string): this {
    if (this.ended) return this;
    if (!this.headersSent) {
      const len = chunk === undefined ? 0 : Buffer.byteLength(chunk);
      this.writeHead(this.statusCode, { 'content-length': String(len) });
    }
    const buf = chunk === undefined ? null : typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const data = buf !== null && buf.length > 0 && this.mode !== NONE ? buf : null;
    if (data !== null) this.written += data.length;
    if (this.mode === CHUNKED) {
      if (data !== null) this.out(data.length.toString(16) + '\r\n', data, '\r\n0\r\n\r\n');
      else this.out('', null, '0\r\n\r\n');
    } else if (data !== null) this.out('', data, '');
    else if (this.head !== null) this.out('', null, '');
    this.ended = true;
    // A body shorter than declared leaves the framing broken: the connection must not be reused.
    if (this.mode === LENGTH && this.written !== this.declared) this.reuse = false;
    this.owner.responseDone(this, this.reuse);
    if (!this.closed) {
      this.closed = true;
      process.nextTick(emitClose, this);
    }
    return this;
  }

  /** Cuts the connection (the client sees an incomplete response). */
  destroy(): void {
    this.owner.socket.destroy();
  }

  /** Called by the connection when its socket closed before this response ended. */
  socketClosed(): void {
    this.ended = true;
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
  }

  private out(prefix: string, chunk: Buffer | null, suffix: string): boolean {
    const socket = this.owner.socket;
    if (socket.destroyed || !socket.writable) return true;
    let pre = prefix;
    if (this.head !== null) {
      pre = this.head + prefix;
      this.head = null;
    }
    if (chunk === null) return socket.write(pre + suffix, 'latin1');
    if (pre === '' && suffix === '') return socket.write(chunk);
    const total = pre.length + chunk.length + suffix.length;
    if (total <= COPY_LIMIT) {
      const b = Buffer.allocUnsafe(total);
      b.write(pre, 0, 'latin1');
      chunk.copy(b, pre.length);
      if (suffix !== '') b.write(suffix, pre.length + chunk.length, 'latin1');
      return socket.write(b);
    }
    socket.cork();
    if (pre !== '') socket.write(pre, 'latin1');
    let ok = socket.write(chunk);
    if (suffix !== '') ok = socket.write(suffix, 'latin1');
    socket.uncork();
    return ok;
  }
}
