// A minimal PostgreSQL client: startup, authentication (SCRAM-SHA-256, MD5,
// cleartext), the simple query protocol, and a small pool. Enough for the
// heatwave example; values come back as text (int and bool columns converted).
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { connect } from 'node:net';

/** Quotes a value as an SQL literal (standard_conforming_strings on, the default). */
export function literal(value) {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (text.includes('\0')) throw new Error('a NUL byte cannot be sent to PostgreSQL');
  return `'${text.replace(/'/g, "''")}'`;
}

/** sql`SELECT ${a}` with every interpolated value quoted as a literal. */
export function sql(strings, ...values) {
  return strings.reduce((out, s, i) => out + s + (i < values.length ? literal(values[i]) : ''), '');
}

export class PgError extends Error {
  constructor(fields) {
    super(fields.M ?? 'PostgreSQL error');
    this.code = fields.C;
    this.severity = fields.S;
    this.detail = fields.D;
  }
}

const INT_TYPES = new Set([20, 21, 23, 26]); // int8, int2, int4, oid
const BOOL = 16;

function cstring(text) {
  return Buffer.concat([Buffer.from(text, 'utf8'), Buffer.from([0])]);
}

function message(type, body) {
  const head = Buffer.alloc(type ? 5 : 4);
  if (type) {
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
  } else head.writeInt32BE(body.length + 4, 0);
  return Buffer.concat([head, body]);
}

function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

function xor(a, b) {
  const out = Buffer.alloc(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] ^ b[i];
  return out;
}

const hmac = (key, text) => createHmac('sha256', key).update(text).digest();

/** One connection. `query` calls are serialized. */
export class PgConnection {
  constructor(options) {
    this.options = options;
    this.buffer = Buffer.alloc(0);
    this.waiting = []; // resolvers for the next message
    this.queue = Promise.resolve();
    this.closed = false;
    this.parameters = {};
  }

  async connect() {
    const { host = '127.0.0.1', port = 5432, connectTimeoutMs = 5000 } = this.options;
    this.socket = await new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`connect to PostgreSQL at ${host}:${port} timed out`));
      }, connectTimeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    this.socket.setNoDelay(true);
    this.socket.setKeepAlive(true, 10_000);
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('connection to PostgreSQL closed')));
    await this.startup();
    return this;
  }

  fail(error) {
    if (this.closed) return;
    this.closed = true;
    this.error = error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(error);
    this.socket?.destroy();
  }

  onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 5) {
      const length = this.buffer.readInt32BE(1);
      if (this.buffer.length < length + 1) break;
      const msg = { type: String.fromCharCode(this.buffer[0]), body: this.buffer.subarray(5, length + 1) };
      this.buffer = this.buffer.subarray(length + 1);
      if (msg.type === 'N' || msg.type === 'A') continue; // notices and notifications are ignored
      if (msg.type === 'S') {
        const [key, value] = msg.body.toString('utf8').split('\0');
        this.parameters[key] = value;
        continue;
      }
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(msg);
      else this.pending = [...(this.pending ?? []), msg];
    }
  }

  next() {
    if (this.pending?.length) return Promise.resolve(this.pending.shift());
    if (this.closed) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  send(buffer) {
    if (this.closed) throw this.error;
    this.socket.write(buffer);
  }

  static errorFields(body) {
    const fields = {};
    let i = 0;
    while (i < body.length && body[i] !== 0) {
      const code = String.fromCharCode(body[i]);
      const end = body.indexOf(0, i + 1);
      fields[code] = body.toString('utf8', i + 1, end);
      i = end + 1;
    }
    return fields;
  }

  async startup() {
    const { user, database = user, password = '', applicationName = 'heatwave' } = this.options;
    const params = Buffer.concat([
      int32(196608),
      cstring('user'),
      cstring(user),
      cstring('database'),
      cstring(database),
      cstring('application_name'),
      cstring(applicationName),
      Buffer.from([0]),
    ]);
    this.send(message('', params));
    let scram;
    for (;;) {
      const msg = await this.next();
      if (msg.type === 'E') throw new PgError(PgConnection.errorFields(msg.body));
      if (msg.type === 'K') continue;
      if (msg.type === 'Z') return;
      if (msg.type !== 'R') throw new Error(`unexpected PostgreSQL message ${msg.type} during startup`);
      const code = msg.body.readInt32BE(0);
      if (code === 0) continue;
      if (code === 3) {
        this.send(message('p', cstring(password)));
      } else if (code === 5) {
        const salt = msg.body.subarray(4, 8);
        const inner = createHash('md5')
          .update(password + user)
          .digest('hex');
        const outer = createHash('md5')
          .update(Buffer.concat([Buffer.from(inner), salt]))
          .digest('hex');
        this.send(message('p', cstring(`md5${outer}`)));
      } else if (code === 10) {
        const mechanisms = msg.body.subarray(4).toString('utf8').split('\0').filter(Boolean);
        if (!mechanisms.includes('SCRAM-SHA-256')) {
          throw new Error(
            `PostgreSQL offers only ${mechanisms.join(', ')}; this client speaks SCRAM-SHA-256`,
          );
        }
        const nonce = randomBytes(18).toString('base64');
        scram = { nonce, firstBare: `n=,r=${nonce}` };
        const first = Buffer.from(`n,,${scram.firstBare}`);
        this.send(message('p', Buffer.concat([cstring('SCRAM-SHA-256'), int32(first.length), first])));
      } else if (code === 11) {
        const serverFirst = msg.body.subarray(4).toString('utf8');
        const attrs = Object.fromEntries(serverFirst.split(',').map((kv) => [kv[0], kv.slice(2)]));
        if (!attrs.r?.startsWith(scram.nonce)) throw new Error('SCRAM: server nonce does not extend ours');
        const salted = pbkdf2Sync(
          password.normalize('NFKC'),
          Buffer.from(attrs.s, 'base64'),
          Number(attrs.i),
          32,
          'sha256',
        );
        const clientKey = hmac(salted, 'Client Key');
        const storedKey = createHash('sha256').update(clientKey).digest();
        const finalWithoutProof = `c=biws,r=${attrs.r}`;
        const authMessage = `${scram.firstBare},${serverFirst},${finalWithoutProof}`;
        const proof = xor(clientKey, hmac(storedKey, authMessage));
        scram.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
        this.send(message('p', Buffer.from(`${finalWithoutProof},p=${proof.toString('base64')}`)));
      } else if (code === 12) {
        const verifier = /v=([^,]+)/.exec(msg.body.subarray(4).toString('utf8'))?.[1] ?? '';
        const got = Buffer.from(verifier, 'base64');
        if (got.length !== scram.serverSignature.length || !timingSafeEqual(got, scram.serverSignature)) {
          throw new Error('SCRAM: the server signature does not verify');
        }
      } else {
        throw new Error(`unsupported PostgreSQL authentication method ${code}`);
      }
    }
  }

  /** Runs one simple query (may hold several statements); resolves with the last result. */
  query(text) {
    const run = async () => {
      this.send(message('Q', cstring(text)));
      let fields = [];
      let rows = [];
      let result = { rows: [], command: '' };
      let error;
      for (;;) {
        const msg = await this.next();
        switch (msg.type) {
          case 'T': {
            const n = msg.body.readInt16BE(0);
            fields = [];
            let i = 2;
            for (let f = 0; f < n; f++) {
              const end = msg.body.indexOf(0, i);
              const name = msg.body.toString('utf8', i, end);
              i = end + 1;
              const type = msg.body.readInt32BE(i + 6);
              fields.push({ name, type });
              i += 18;
            }
            rows = [];
            break;
          }
          case 'D': {
            const n = msg.body.readInt16BE(0);
            const row = {};
            let i = 2;
            for (let f = 0; f < n; f++) {
              const len = msg.body.readInt32BE(i);
              i += 4;
              let value = null;
              if (len >= 0) {
                value = msg.body.toString('utf8', i, i + len);
                i += len;
                const type = fields[f]?.type;
                if (INT_TYPES.has(type)) value = Number(value);
                else if (type === BOOL) value = value === 't';
              }
              row[fields[f]?.name ?? `column${f}`] = value;
            }
            rows.push(row);
            break;
          }
          case 'C':
            result = { rows, command: msg.body.toString('utf8', 0, msg.body.length - 1) };
            rows = [];
            break;
          case 'I':
            break;
          case 'E':
            error = new PgError(PgConnection.errorFields(msg.body));
            break;
          case 'Z':
            if (error) throw error;
            return result;
          default:
            break;
        }
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => {});
    return result;
  }

  end() {
    if (!this.closed) {
      try {
        this.send(message('X', Buffer.alloc(0)));
      } catch {
        /* closed already */
      }
      this.socket.end();
      this.closed = true;
    }
  }
}

/** A small pool: up to `max` connections, each used by one query at a time. */
export class PgPool {
  constructor(options) {
    this.options = options;
    this.max = options.max ?? 4;
    this.idle = [];
    this.size = 0;
    this.waiters = [];
  }

  async acquire() {
    for (;;) {
      const conn = this.idle.pop();
      if (!conn) break;
      if (!conn.closed) return conn;
      this.size--;
    }
    if (this.size < this.max) {
      this.size++;
      try {
        return await new PgConnection(this.options).connect();
      } catch (error) {
        this.size--;
        this.wake();
        throw error;
      }
    }
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  release(conn) {
    if (conn.closed) {
      this.size--;
      this.wake();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) waiter.resolve(conn);
    else this.idle.push(conn);
  }

  wake() {
    const waiter = this.waiters.shift();
    if (waiter) this.acquire().then(waiter.resolve, waiter.reject);
  }

  /** Runs a query; a connection that was closed under us (idle timeout, restart) is replaced once. */
  async query(text) {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.acquire();
      try {
        const result = await conn.query(text);
        this.release(conn);
        return result;
      } catch (error) {
        this.release(conn);
        if (error instanceof PgError || attempt >= 1) throw error;
      }
    }
  }

  end() {
    for (const conn of this.idle.splice(0)) conn.end();
  }
}
