// A minimal Redis/Valkey client speaking RESP2: commands are arrays of bulk
// strings, replies are parsed as they arrive, several commands may be in
// flight at once (pipelined, answered in order). A dropped connection fails the
// commands in flight and is reopened by the next command. Use a separate client
// for blocking commands (BLMOVE) so they don't hold up the others.
import { connect } from 'node:net';

export class RespError extends Error {}

/** "host:port" (or "redis://host:port/…") → { host, port }. */
export function parseAddress(text, defaultPort = 6379) {
  const bare = text.replace(/^rediss?:\/\//, '').replace(/\/.*$/, '');
  const i = bare.lastIndexOf(':');
  return i > 0
    ? { host: bare.slice(0, i), port: Number(bare.slice(i + 1)) }
    : { host: bare, port: defaultPort };
}

function encode(args) {
  const parts = [`*${args.length}\r\n`];
  for (const arg of args) {
    const text = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg), 'utf8');
    parts.push(`$${text.length}\r\n`, text, '\r\n');
  }
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p, 'utf8'))));
}

/** Parses one reply at `offset`; returns [value, nextOffset] or undefined when incomplete. */
export function parseReply(buf, offset = 0) {
  if (offset >= buf.length) return undefined;
  const lineEnd = buf.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buf[offset]);
  const line = buf.toString('utf8', offset + 1, lineEnd);
  const after = lineEnd + 2;
  switch (type) {
    case '+':
      return [line, after];
    case '-':
      return [new RespError(line), after];
    case ':':
      return [Number(line), after];
    case '$': {
      const len = Number(line);
      if (len < 0) return [null, after];
      if (buf.length < after + len + 2) return undefined;
      return [buf.toString('utf8', after, after + len), after + len + 2];
    }
    case '*': {
      const n = Number(line);
      if (n < 0) return [null, after];
      const items = [];
      let at = after;
      for (let i = 0; i < n; i++) {
        const parsed = parseReply(buf, at);
        if (!parsed) return undefined;
        items.push(parsed[0]);
        at = parsed[1];
      }
      return [items, at];
    }
    default:
      throw new Error(`unexpected RESP type byte ${JSON.stringify(type)}`);
  }
}

export class RespClient {
  constructor(address, { connectTimeoutMs = 5000, name } = {}) {
    Object.assign(this, typeof address === 'string' ? parseAddress(address) : address);
    this.connectTimeoutMs = connectTimeoutMs;
    this.name = name;
    this.socket = undefined;
    this.pending = [];
    this.buffer = Buffer.alloc(0);
  }

  open() {
    if (this.socket) return this.ready;
    const socket = connect({ host: this.host, port: this.port });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    this.buffer = Buffer.alloc(0);
    this.ready = new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => socket.destroy(new Error(`connect to ${this.host}:${this.port} timed out`)),
        this.connectTimeoutMs,
      );
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    this.ready.catch(() => {});
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket === socket) this.socket = undefined;
      const error = new Error(`connection to ${this.host}:${this.port} closed`);
      for (const p of this.pending.splice(0)) p.reject(error);
    });
    if (this.name) this.command('CLIENT', 'SETNAME', this.name).catch(() => {});
    return this.ready;
  }

  onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    let offset = 0;
    for (;;) {
      const parsed = parseReply(this.buffer, offset);
      if (!parsed) break;
      offset = parsed[1];
      const p = this.pending.shift();
      if (!p) continue;
      if (parsed[0] instanceof RespError) p.reject(parsed[0]);
      else p.resolve(parsed[0]);
    }
    this.buffer = this.buffer.subarray(offset);
  }

  /** Sends one command; resolves with its reply (errors reject with RespError). */
  command(...args) {
    if (!this.socket) this.open();
    const socket = this.socket;
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      socket.write(encode(args));
    });
  }

  close() {
    this.socket?.end();
    this.socket = undefined;
  }
}
