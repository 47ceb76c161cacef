#!/usr/bin/env node
/**
 * Open-loop fixed-rate HTTP/1.1 client (wrk has no fixed-rate mode): sends
 * GET URL at RATE requests/s over at most CONNECTIONS keep-alive connections
 * for SECONDS, and prints a JSON summary. Latency runs from each request's
 * scheduled time, so queueing anywhere (client included) shows.
 *
 *   node bench/proxy/fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]
 *
 * A warm-up at the same rate (default 2 s) runs first and is discarded.
 *
 * It has to share a core with the backend, so it is built to cost little per
 * request: raw net sockets, one pre-serialized request written per send, and
 * the response only framed (status line, Content-Length or a chunked body's
 * last chunk), never parsed into objects. One request at a time per
 * connection (no pipelining); connections open on demand up to CONNECTIONS,
 * and a request that finds all of them busy waits for the next free one (its
 * wait counts in its latency). The summary also says how far the client fell
 * behind its own schedule (lagMs: scheduled time to the timer turn that sent
 * it) and its own CPU per request (clientCpuUsPerReq), so a starved client
 * shows instead of passing for a slow target.
 */
import net from 'node:net';
import { percentilesOf } from '../../packages/proxy/dist/test/support/load-stats.js';

const [url, rate = '5000', seconds = '10', connections = '50', warmup = '2'] = process.argv.slice(2);
if (!url) {
  process.stderr.write('usage: fixed-rate.mjs URL RATE SECONDS [CONNECTIONS] [WARMUP_SECONDS]\n');
  process.exit(2);
}
const target = new URL(url);
const PORT = Number(target.port || 80);
const HOST = target.hostname;
const MAX_CONNECTIONS = Number(connections);
const TIMEOUT_MS = 10_000;
const REQUEST = Buffer.from(
  `GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nUser-Agent: wharf-bench-fixed-rate\r\n\r\n`,
  'latin1',
);
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');

/** Counters of the current run (reset between warm-up and the measured run). */
let stats;
function newStats() {
  return { ok: 0, failed: 0, latencies: [], lags: [], waits: [], errors: new Map() };
}
function fail(why) {
  stats.failed++;
  stats.errors.set(why, (stats.errors.get(why) ?? 0) + 1);
}

const idle = [];
const waiting = []; // scheduled times of requests that found no free connection
let open = 0;

class Connection {
  constructor() {
    this.socket = net.connect(PORT, HOST);
    this.socket.setNoDelay(true);
    this.connected = false;
    this.scheduledAt = -1;
    this.sentAt = 0;
    this.head = null; // bytes of a response whose header block is not complete yet
    this.remaining = -1; // body bytes still expected (Content-Length framing)
    this.chunked = false;
    this.tail = null; // last bytes seen of a chunked body (to find 0\r\n\r\n across reads)
    this.status = 0;
    this.socket.on('connect', () => {
      this.connected = true;
      if (this.scheduledAt >= 0) this.socket.write(REQUEST);
      else this.release();
    });
    this.socket.on('data', (chunk) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.onClose());
  }

  send(scheduledAt) {
    this.scheduledAt = scheduledAt;
    this.sentAt = performance.now();
    this.status = 0;
    this.head = null;
    this.remaining = -1;
    this.chunked = false;
    this.tail = null;
    if (this.connected) this.socket.write(REQUEST);
  }

  onData(chunk) {
    if (this.scheduledAt < 0) {
      fail('unexpected bytes');
      this.socket.destroy();
      return;
    }
    if (this.status === 0) {
      const buf = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
      const end = buf.indexOf(CRLFCRLF);
      if (end === -1) {
        this.head = buf;
        return;
      }
      this.head = null;
      const headText = buf.latin1Slice(0, end);
      this.status = Number(headText.slice(9, 12));
      const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(headText);
      if (cl !== null) this.remaining = Number(cl[1]);
      else if (/\r\ntransfer-encoding:[^\r]*chunked/i.test(headText)) this.chunked = true;
      else {
        fail('response without Content-Length or chunked body');
        this.socket.destroy();
        return;
      }
      chunk = buf.subarray(end + 4);
    }
    if (this.chunked) {
      // No trailers expected: the body ends with the last chunk, 0 CRLF CRLF.
      const seen = this.tail === null ? chunk : Buffer.concat([this.tail, chunk]);
      if (seen.length >= 5 && seen.subarray(seen.length - 5).equals(LAST_CHUNK)) return this.done();
      this.tail = seen.subarray(Math.max(0, seen.length - 5));
      return;
    }
    this.remaining -= chunk.length;
    if (this.remaining === 0) this.done();
    else if (this.remaining < 0) {
      fail('more bytes than Content-Length');
      this.socket.destroy();
    }
  }

  done() {
    const now = performance.now();
    if (this.status >= 200 && this.status < 300) {
      stats.ok++;
      stats.latencies.push(now - this.scheduledAt);
    } else fail(`status ${this.status}`);
    this.scheduledAt = -1;
    this.release();
  }

  release() {
    if (waiting.length > 0) {
      const scheduledAt = waiting.shift();
      stats.waits.push(performance.now() - scheduledAt);
      this.send(scheduledAt);
    } else idle.push(this);
  }

  onClose() {
    open--;
    const i = idle.indexOf(this);
    if (i !== -1) idle.splice(i, 1);
    if (this.scheduledAt >= 0) {
      fail(this.connected ? 'connection closed mid-response' : 'connect failed');
      this.scheduledAt = -1;
    }
    // Someone still waiting gets a new connection (it takes the request once connected).
    if (waiting.length > 0 && open < MAX_CONNECTIONS) openConnection();
  }

  timedOut(now) {
    if (this.scheduledAt >= 0 && now - this.sentAt > TIMEOUT_MS) {
      this.socket.destroy();
      return true;
    }
    return false;
  }
}

const all = new Set();
function openConnection() {
  open++;
  const conn = new Connection();
  all.add(conn);
  conn.socket.once('close', () => all.delete(conn));
  return conn;
}

function dispatch(scheduledAt) {
  const c = idle.pop();
  if (c !== undefined) {
    stats.waits.push(0);
    c.send(scheduledAt);
  } else if (open < MAX_CONNECTIONS) {
    stats.waits.push(0);
    openConnection().send(scheduledAt);
  } else waiting.push(scheduledAt);
}

function expire() {
  const now = performance.now();
  for (const c of all) c.timedOut(now);
  while (waiting.length > 0 && now - waiting[0] > TIMEOUT_MS) {
    waiting.shift();
    fail('no free connection');
  }
}

async function run(durationMs) {
  stats = newStats();
  const interval = 1000 / Number(rate);
  let sent = 0;
  let lastExpiry = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  await new Promise((resolve) => {
    const tick = () => {
      const now = performance.now();
      if (now - start >= durationMs) return resolve();
      const due = Math.floor((now - start) / interval);
      while (sent < due) {
        const scheduledAt = start + sent++ * interval;
        stats.lags.push(now - scheduledAt);
        dispatch(scheduledAt);
      }
      if (now - lastExpiry > 100) {
        lastExpiry = now;
        expire();
      }
      setTimeout(tick, 1);
    };
    tick();
  });
  const elapsed = performance.now() - start;
  // Let the requests in flight finish (or time out).
  const deadline = performance.now() + TIMEOUT_MS + 1000;
  while (stats.ok + stats.failed < sent && performance.now() < deadline) {
    expire();
    await new Promise((r) => setTimeout(r, 5));
  }
  // Whatever is still queued or in flight fails in this run and cannot spill into the next one.
  while (waiting.length > 0) {
    waiting.shift();
    fail('no free connection');
  }
  for (const c of all) if (c.scheduledAt >= 0) c.socket.destroy();
  await new Promise((r) => setImmediate(r));
  const cpu = process.cpuUsage(cpu0);
  return {
    sentRate: Math.round((sent / elapsed) * 1000),
    ok: stats.ok,
    failed: stats.failed + (sent - stats.ok - stats.failed),
    errors: Object.fromEntries(stats.errors),
    latencyMs: percentilesOf(stats.latencies),
    lagMs: percentilesOf(stats.lags),
    connectionWaitMs: percentilesOf(stats.waits),
    connections: open,
    clientCpuUsPerReq: Math.round(((cpu.user + cpu.system) / Math.max(1, sent)) * 10) / 10,
  };
}

if (Number(warmup) > 0) await run(Number(warmup) * 1000);
const result = await run(Number(seconds) * 1000);
for (const c of all) c.socket.destroy();
process.stdout.write(`${JSON.stringify(result)}\n`);
