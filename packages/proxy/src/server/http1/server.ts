// The plain-HTTP listener's fast path: a net.Server whose connections are
// read by our own HTTP/1.1 head parser. Plain requests (no body or a
// Content-Length body, HTTP/1.1, no Upgrade/Expect/Transfer-Encoding) are
// served here; at the first request this path does not handle, the connection
// is handed, unread bytes included, to the node:http server, which owns it
// from then on (chunked bodies, upgrades, malformed and hostile requests).
import net, { type Socket } from 'node:net';
import type http from 'node:http';
import { InflightList, type InflightEntry } from '../../inflight.js';
import { HANDOFF, INCOMPLETE, parseRequestHead } from './head.js';
import { RawRequest, RawResponse, RequestBody, type ResponseOwner } from './message.js';

export interface FastHttp1Limits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderSize: number;
  maxConnections: number;
}

export type FastRequestListener = (req: RawRequest, res: RawResponse) => void;

/** Bytes of pipelined requests held while a response is in flight before reading pauses. */
const MAX_PENDING = 64 * 1024;

export class FastHttp1Server {
  readonly server: net.Server;
  /** Open connections (a list, not a Set: see ../../inflight.ts). */
  private readonly connections = new InflightList<Connection>();
  private readonly sweep: NodeJS.Timeout;
  closing = false;
  readonly keepAliveHeader: string;

  constructor(
    readonly limits: FastHttp1Limits,
    /** node:http server that takes the connections this path hands off. */
    readonly fallback: http.Server,
    readonly onRequest: FastRequestListener,
    /** Called first for every accepted socket (connection accounting); may destroy it. */
    onConnection: (socket: Socket) => void,
  ) {
    this.keepAliveHeader =
      limits.keepAliveTimeoutMs > 0
        ? `Connection: keep-alive\r\nKeep-Alive: timeout=${Math.floor(limits.keepAliveTimeoutMs / 1000)}\r\n`
        : 'Connection: keep-alive\r\n';
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      onConnection(socket);
      if (socket.destroyed) return;
      const c = new Connection(this, socket);
      c.entry = this.connections.add(c);
    });
    this.server.maxConnections = limits.maxConnections;
    // node:http checks its own timeouts only once 'listening' fired; it never listens itself here.
    fallback.emit('listening');
    const every = Math.max(
      10,
      Math.min(1_000, limits.headersTimeoutMs || 1_000, limits.keepAliveTimeoutMs || 1_000),
    );
    this.sweep = setInterval(() => this.checkTimeouts(), every).unref();
  }

  forget(c: Connection): void {
    if (c.entry !== null) this.connections.remove(c.entry);
  }

  /** Stop accepting; from now on every response closes its connection. */
  close(): void {
    this.closing = true;
    this.server.close();
  }

  /** Closes connections with no request in flight. */
  closeIdleConnections(): void {
    for (const c of this.connections.items()) if (c.idle()) c.socket.destroy();
  }

  closeAllConnections(): void {
    for (const c of this.connections.items()) c.socket.destroy();
    clearInterval(this.sweep);
  }

  private checkTimeouts(): void {
    const now = Date.now();
    for (const c of this.connections.items()) c.checkTimeouts(now);
  }
}

class Connection implements ResponseOwner {
  /** Its entry in the server's list of open connections. */
  entry: InflightEntry<Connection> | null = null;
  /** Unread bytes; while they grow by appends, a view on the start of `store`. */
  private pending: Buffer | null = null;
  /** Room for `pending` to grow into (doubling), so a head trickled in byte by byte costs O(n). */
  private store: Buffer | null = null;
  /** Bytes at the start of `pending` known to hold no complete head (the next search starts 3 before). */
  private scanned = 0;
  private current: RawResponse | null = null;
  private body: RequestBody | null = null;
  private bodyRemaining = 0;
  /** The response ended before the body was read: drop the rest of it. */
  private discard = false;
  private advancing = false;
  private handedOff = false;
  private paused = false;
  /** When the current head started (0 = not waiting for a head). */
  private headStart: number;
  /** When the connection became idle after a response (0 = not idle). */
  private idleSince = 0;
  private requestStart = 0;
  readonly keepAliveHeader: string;

  constructor(
    private readonly owner: FastHttp1Server,
    readonly socket: Socket,
  ) {
    this.keepAliveHeader = owner.keepAliveHeader;
    this.headStart = Date.now();
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', onSocketError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
  }

  closing(): boolean {
    return this.owner.closing;
  }

  idle(): boolean {
    return this.current === null;
  }

  // ---- reading ---------------------------------------------------------------

  private readonly onData = (chunk: Buffer): void => {
    try {
      this.read(chunk);
    } catch {
      // A bug here must cost this connection, never the process.
      this.socket.destroy();
    }
  };

  private read(chunk: Buffer): void {
    if (this.bodyRemaining > 0) {
      const n = Math.min(chunk.length, this.bodyRemaining);
      this.deliverBody(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n === chunk.length) {
        if (this.bodyRemaining === 0 && this.current === null) this.advance();
        return;
      }
      chunk = chunk.subarray(n);
    }
    const pending = this.append(chunk);
    if (this.current === null) this.advance();
    else if (pending.length > MAX_PENDING) this.pause();
  }

  /** `chunk` added to the unread bytes (copied once into a store that doubles as it fills). */
  private append(chunk: Buffer): Buffer {
    const p = this.pending;
    if (p === null) {
      this.scanned = 0;
      return (this.pending = chunk);
    }
    const size = p.length + chunk.length;
    let store = this.store;
    // Reusable only while `pending` is the start of it (views of it may have gone out before).
    if (
      store === null ||
      p.buffer !== store.buffer ||
      p.byteOffset !== store.byteOffset ||
      size > store.length
    ) {
      store = Buffer.allocUnsafeSlow(Math.max(size, 2 * p.length, 1024));
      p.copy(store, 0);
      this.store = store;
    }
    chunk.copy(store, p.length);
    return (this.pending = store.subarray(0, size));
  }

  private deliverBody(part: Buffer): void {
    this.bodyRemaining -= part.length;
    const body = this.body;
    if (this.discard || body === null) {
      if (this.bodyRemaining === 0) this.body = null;
      return;
    }
    if (!body.push(part)) this.pause();
    if (this.bodyRemaining === 0) {
      body.push(null);
      this.body = null;
    }
  }

  private readonly bodyWanted = (): void => {
    this.resume();
  };

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.socket.pause();
  }

  private resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
  }

  /** Parses and starts the next request when none is in flight. */
  private advance(): void {
    if (this.advancing) return;
    this.advancing = true;
    try {
      while (this.current === null && this.bodyRemaining === 0 && !this.handedOff) {
        const socket = this.socket;
        if (socket.destroyed) return;
        const buf = this.pending;
        if (buf === null) {
          this.headStart = 0;
          if (this.idleSince === 0) this.idleSince = Date.now();
          this.resume();
          return;
        }
        const head = parseRequestHead(buf, this.owner.limits.maxHeaderSize, Math.max(0, this.scanned - 3));
        if (head === INCOMPLETE) {
          this.scanned = buf.length;
          if (this.headStart === 0) this.headStart = Date.now();
          this.idleSince = 0;
          this.resume();
          return;
        }
        if (head === HANDOFF) {
          this.handoff();
          return;
        }
        this.pending = head.length === buf.length ? null : buf.subarray(head.length);
        this.scanned = 0;
        // The request timeout counts from the head's first bytes, as node:http's does.
        this.requestStart = this.headStart > 0 ? this.headStart : Date.now();
        this.headStart = 0;
        this.idleSince = 0;
        const req = new RawRequest(head.method, head.url, head.rawHeaders, socket);
        const res = new RawResponse(this, head.method === 'HEAD', head.keepAlive);
        this.current = res;
        this.discard = false;
        if (head.contentLength > 0) {
          const body = new RequestBody(this.bodyWanted);
          req.body = body;
          this.body = body;
          this.bodyRemaining = head.contentLength;
          const rest = this.pending;
          if (rest !== null) {
            const n = Math.min(rest.length, this.bodyRemaining);
            this.pending = n === rest.length ? null : rest.subarray(n);
            this.deliverBody(n === rest.length ? rest : rest.subarray(0, n));
          }
        }
        this.owner.onRequest(req, res);
      }
    } finally {
      this.advancing = false;
    }
  }

  /** Gives the connection, unread bytes first, to node:http (at a request boundary). */
  private handoff(): void {
    this.handedOff = true;
    this.owner.forget(this);
    const socket = this.socket;
    socket.off('data', this.onData);
    socket.off('end', this.onEnd);
    socket.off('error', onSocketError);
    socket.off('close', this.onClose);
    socket.off('drain', this.onDrain);
    socket.pause();
    const pending = this.pending;
    this.pending = null;
    if (pending !== null) socket.unshift(pending);
    this.owner.fallback.emit('connection', socket);
    socket.resume();
  }

  // ---- responses -------------------------------------------------------------

  responseDone(res: RawResponse, reuse: boolean): void {
    if (res !== this.current) return;
    this.current = null;
    const socket = this.socket;
    if (!reuse || this.owner.closing) {
      this.pending = null;
      socket.destroySoon();
      return;
    }
    if (this.bodyRemaining > 0) {
      // Read and drop the rest of the body, then go on with the next request.
      this.discard = true;
      if (this.body !== null) {
        this.body.destroy();
        this.body = null;
      }
      this.resume();
      return;
    }
    // Pipelined requests start once the caller's stack (often an upstream data event) has unwound.
    if (this.pending !== null) process.nextTick(this.advanceLater);
    else this.advance();
  }

  private readonly advanceLater = (): void => {
    if (!this.socket.destroyed) this.advance();
  };

  private readonly onDrain = (): void => {
    const res = this.current;
    if (res !== null) res.emit('drain');
  };

  // ---- end of the connection -------------------------------------------------

  private readonly onEnd = (): void => {
    // The client will send nothing more: a request in flight is abandoned, as node:http does.
    if (this.current !== null) this.socket.destroy();
    else this.socket.destroySoon();
  };

  private readonly onClose = (): void => {
    this.owner.forget(this);
    const body = this.body;
    if (body !== null) {
      this.body = null;
      body.destroy();
    }
    const res = this.current;
    this.current = null;
    if (res !== null) res.socketClosed();
  };

  checkTimeouts(now: number): void {
    const limits = this.owner.limits;
    if (this.current === null) {
      if (this.bodyRemaining > 0) return; // dropping a body after its response
      if (
        this.headStart > 0 &&
        limits.headersTimeoutMs > 0 &&
        now - this.headStart > limits.headersTimeoutMs
      ) {
        this.answerAndClose(408, 'Request Timeout');
      } else if (
        this.idleSince > 0 &&
        limits.keepAliveTimeoutMs > 0 &&
        now - this.idleSince > limits.keepAliveTimeoutMs
      ) {
        this.socket.destroy();
      }
      return;
    }
    if (
      this.bodyRemaining > 0 &&
      limits.requestTimeoutMs > 0 &&
      now - this.requestStart > limits.requestTimeoutMs
    ) {
      const res = this.current;
      if (res.headersSent) this.socket.destroy();
      else {
        res.ended = true;
        this.answerAndClose(408, 'Request Timeout');
      }
    }
  }

  /** The same answer node:http's clientError handler gives, then the connection closes. */
  private answerAndClose(status: number, text: string): void {
    const socket = this.socket;
    this.pending = null;
    this.socket.off('data', this.onData);
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    setTimeout(() => socket.destroy(), 1_000).unref();
  }
}

function onSocketError(): void {
  // 'close' follows; the exchange learns it from there.
}
