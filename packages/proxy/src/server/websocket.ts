// Upgraded connections (WebSocket and others): routed like requests, then
// tunnelled byte for byte to the target. WebSocket frames are tracked in both
// directions so that, when a drain runs out of time, the proxy can end the
// connection cleanly instead of cutting the socket, in two steps:
//   1. it finishes the client's frame in transit and sends the app a close
//      frame with status 1001 (going away); the client's later frames are
//      dropped, while the app's frames (echoes of earlier messages) are still
//      relayed to the client;
//   2. when the app's close reply arrives (or the app goes, or
//      APP_CLOSE_GRACE_MS passes), it sends the client its own 1001 close at a
//      frame boundary, in place of the app's close, and ends both sockets once
//      the client has answered (or CLOSE_GRACE_MS passes).
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { randomUUID, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { STATUS_CODES } from 'node:http';
import { errorPage } from '../pages.js';
import { ROLLOUT_COOKIE, cookieValue } from '../rollout.js';
import type { Service } from '../service.js';
import type { PauseOutcome } from '../pause.js';
import type { InflightEntry } from '../inflight.js';
import type { InflightRequest, Target } from '../target.js';
import { type ProxyContext, clientAddress, requestEnded, requestStarted } from './context.js';

const CLOSE_GRACE_MS = 1_000;
/** How long the app gets to answer the proxy's close before the client is closed anyway. */
const APP_CLOSE_GRACE_MS = 2_000;
const DROP = new Set([
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'proxy-authorization',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-host',
  'x-kamal-target',
  'host',
]);

/** Follows WebSocket frame boundaries in one direction of a connection. */
export class FrameTracker {
  private remaining = 0;
  private header: number[] = [];
  /** Set once a close frame (opcode 8) has been seen. */
  sawClose = false;

  get atBoundary(): boolean {
    return this.remaining === 0 && this.header.length === 0;
  }

  /**
   * Consumes bytes from `chunk[start..]` up to the end of the current frame.
   * Returns the index just past that frame's end, or -1 when the chunk ended
   * before the frame did.
   */
  step(chunk: Buffer, start: number): number {
    let i = start;
    while (i < chunk.length) {
      if (this.remaining > 0) {
        const take = Math.min(this.remaining, chunk.length - i);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) return i;
        continue;
      }
      this.header.push(chunk[i++]!);
      const h = this.header;
      if (h.length < 2) continue;
      const len7 = h[1]! & 0x7f;
      const need = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (h[1]! & 0x80 ? 4 : 0);
      if (h.length < need) continue;
      let payload = len7;
      if (len7 === 126) payload = (h[2]! << 8) | h[3]!;
      else if (len7 === 127) {
        payload = 0;
        for (let k = 2; k < 10; k++) payload = payload * 256 + h[k]!;
      }
      if ((h[0]! & 0x0f) === 8) this.sawClose = true;
      this.header = [];
      this.remaining = payload;
      if (payload === 0) return i;
    }
    return -1;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      const r = this.step(chunk, i);
      if (r === -1) return;
      i = r;
    }
  }
}

/** A close frame with status 1001; masked when it goes to the server side. */
export function closeFrame(masked: boolean): Buffer {
  const payload = Buffer.from([0x03, 0xe9]);
  if (!masked) return Buffer.concat([Buffer.from([0x88, 0x02]), payload]);
  const mask = randomBytes(4);
  const body = Buffer.from([payload[0]! ^ mask[0]!, payload[1]! ^ mask[1]!]);
  return Buffer.concat([Buffer.from([0x88, 0x82]), mask, body]);
}

type Direction = {
  tracker: FrameTracker;
  /**
   * forward: relay everything.
   * untilClose: relay whole frames up to the sender's close frame, which is
   *   replaced by the proxy's own close (target → client, drain step 1).
   * closing: relay up to the end of the frame in transit, then inject a close.
   * dropping: the proxy's close went out; drop frames, watch for the close reply.
   */
  mode: 'forward' | 'untilClose' | 'closing' | 'dropping';
};

/** Where a drain-timeout close stands: none, waiting for the app's close reply, or for the client's. */
type DrainClose = 'none' | 'awaitingApp' | 'awaitingClient';

export function handleUpgrade(
  ctx: ProxyContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  tls: boolean,
): void {
  new Tunnel(ctx, req, socket, head, tls).start();
}

class Tunnel implements InflightRequest {
  private readonly started = performance.now();
  private service: Service | null = null;
  private target: Target | null = null;
  /** This tunnel's entry in its target's in-flight list (null when not claimed). */
  private claimed: InflightEntry<InflightRequest> | null = null;
  private upstream: net.Socket | null = null;
  private status = 0;
  private bytesToClient = 0;
  private finished = false;
  private responseHeadDone = false;
  private responseHead: Buffer[] = [];
  private notUpgraded = false;
  private remainingBody = -1;
  private isWebSocket: boolean;
  private readonly up: Direction = { tracker: new FrameTracker(), mode: 'forward' }; // client → target
  private readonly down: Direction = { tracker: new FrameTracker(), mode: 'forward' }; // target → client
  private requestId: string;
  private closeTimer: NodeJS.Timeout | null = null;
  private drainClose: DrainClose = 'none';
  private clientCloseSent = false;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly req: IncomingMessage,
    private readonly client: Duplex,
    private readonly head: Buffer,
    private readonly tls: boolean,
  ) {
    requestStarted(ctx);
    ctx.tunnels.add(this);
    this.isWebSocket = String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';
    const id = req.headers['x-request-id'];
    this.requestId = typeof id === 'string' && id !== '' ? id : randomUUID();
    client.on('error', () => this.close());
    client.on('close', () => this.close());
  }

  start(): void {
    const req = this.req;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    const binding = this.ctx.router.route(req.headers.host, path);
    if (binding === null) return this.reject(404, '');
    const service = binding.service;
    this.service = service;
    if (this.tls && !service.tlsEnabled) return this.reject(503, '');
    if (service.tlsEnabled && service.tlsRedirect && !this.tls) {
      return this.reject(301, '', `https://${(req.headers.host ?? '').replace(/:\d+$/, '')}${url}`);
    }
    let upstreamPath = url;
    if (service.options.stripPrefix && binding.prefix !== '/') {
      const rest = path.slice(binding.prefix.length) || '/';
      upstreamPath = q === -1 ? rest : rest + url.slice(q);
    }
    const outcome = service.pause.wait();
    const go = (o: PauseOutcome): void => {
      if (this.finished) return;
      if (!o.proceed) return this.reject(o.status, o.message);
      this.connect(service, upstreamPath);
    };
    if (outcome instanceof Promise) outcome.then(go, () => this.reject(502, ''));
    else go(outcome);
  }

  private connect(service: Service, upstreamPath: string): void {
    let lb = service.active;
    const rc = service.rolloutController;
    if (
      rc !== null &&
      service.rollout !== null &&
      rc.usesRollout(cookieValue(this.req.headers.cookie, ROLLOUT_COOKIE))
    ) {
      lb = service.rollout;
    }
    if (lb === null) return this.reject(503, '');
    const useReader =
      lb.hasReaders && service.options.readTargetsAcceptWebsockets && this.req.method === 'GET';
    const target = useReader ? lb.pickReader() : lb.pickWriter();
    const claimed = target?.claim(this) ?? null;
    if (target === null || claimed === null) return this.reject(503, '');
    this.claimed = claimed;
    this.target = target;

    const upstream = net.connect({ host: target.host, port: target.port });
    this.upstream = upstream;
    upstream.setNoDelay(true);
    upstream.on('error', () => {
      if (!this.responseHeadDone) this.reject(502, '');
      else if (this.drainClose === 'none') this.close();
      else this.closeClientSide();
    });
    upstream.on('close', () => {
      if (this.drainClose === 'none') this.close();
      else this.closeClientSide();
    });
    upstream.write(this.requestHead(service, target, upstreamPath));
    if (this.head.length > 0) this.forwardUp(this.head);
    this.client.on('data', (chunk: Buffer) => this.forwardUp(chunk));
    upstream.on('data', (chunk: Buffer) => this.forwardDown(chunk));
    this.client.on('drain', () => upstream.resume());
    upstream.on('drain', () => this.client.resume());
    upstream.on('end', () => {
      if (this.drainClose === 'none') this.client.end();
      else this.closeClientSide();
    });
    this.client.on('end', () => upstream.end());
  }

  private requestHead(service: Service, target: Target, upstreamPath: string): string {
    const req = this.req;
    const raw = req.rawHeaders;
    const forward = service.targetOptions.forwardHeaders;
    const host = req.headers.host ?? '';
    const client = clientAddress(req.socket.remoteAddress);
    let head = `${req.method} ${upstreamPath} HTTP/1.1\r\nHost: ${host}\r\n`;
    let hasId = false;
    let hasStart = false;
    for (let i = 0; i < raw.length; i += 2) {
      const lower = raw[i]!.toLowerCase();
      if (DROP.has(lower)) continue;
      if (lower === 'x-request-id') hasId = true;
      if (lower === 'x-request-start') hasStart = true;
      head += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    const xff = req.headers['x-forwarded-for'];
    const xfp = req.headers['x-forwarded-proto'];
    const xfh = req.headers['x-forwarded-host'];
    head += `X-Forwarded-For: ${forward && typeof xff === 'string' && xff !== '' ? xff + ', ' + client : client}\r\n`;
    head += `X-Forwarded-Proto: ${forward && typeof xfp === 'string' && xfp !== '' ? xfp : this.tls ? 'https' : 'http'}\r\n`;
    head += `X-Forwarded-Host: ${forward && typeof xfh === 'string' && xfh !== '' ? xfh : host}\r\n`;
    head += `X-Kamal-Target: ${target.name}\r\n`;
    if (!hasId) head += `X-Request-ID: ${this.requestId}\r\n`;
    if (!hasStart) head += `X-Request-Start: t=${Date.now()}\r\n`;
    return head + '\r\n';
  }

  private forwardUp(chunk: Buffer): void {
    if (this.notUpgraded) return;
    const upstream = this.upstream!;
    this.pass(chunk, this.up, upstream, this.client, true);
  }

  private forwardDown(chunk: Buffer): void {
    if (!this.responseHeadDone) {
      this.responseHead.push(chunk);
      const all = Buffer.concat(this.responseHead);
      const end = all.indexOf('\r\n\r\n');
      if (end === -1) {
        if (all.length > 65536) this.close();
        return;
      }
      this.responseHeadDone = true;
      this.responseHead = [];
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(all.subarray(0, Math.min(end, 64)).toString('latin1'));
      this.status = m ? Number(m[1]) : 502;
      if (this.status !== 101) {
        // Not upgraded: pass this one response through, then close, so the
        // connection never becomes an unrouted tunnel for further requests.
        this.isWebSocket = false;
        this.notUpgraded = true;
        const cl = /\r\ncontent-length:\s*(\d+)/i.exec(all.subarray(0, end + 4).toString('latin1'));
        this.remainingBody = cl ? Number(cl[1]) : -1;
      }
      this.write(this.client, all.subarray(0, end + 4), this.upstream!);
      if (this.remainingBody === 0) return this.endAfterResponse();
      const rest = all.subarray(end + 4);
      if (rest.length > 0) this.forwardDown(rest);
      return;
    }
    this.bytesToClient += chunk.length;
    if (this.notUpgraded) {
      if (this.remainingBody < 0) {
        this.write(this.client, chunk, this.upstream!);
        return;
      }
      const part = chunk.subarray(0, this.remainingBody);
      this.remainingBody -= part.length;
      this.write(this.client, part, this.upstream!);
      if (this.remainingBody === 0) this.endAfterResponse();
      return;
    }
    this.pass(chunk, this.down, this.client, this.upstream!, false);
  }

  private endAfterResponse(): void {
    this.client.end();
    this.upstream?.destroy();
  }

  /** Forwards a chunk in one direction, honouring the closing state. */
  private pass(chunk: Buffer, dir: Direction, dest: Duplex, source: Duplex, toServer: boolean): void {
    if (dir.mode === 'forward') {
      if (this.isWebSocket) dir.tracker.feed(chunk);
      this.write(dest, chunk, source);
      return;
    }
    if (dir.mode === 'dropping') {
      // After our close went out, the peer's close reply ends its side.
      dir.tracker.feed(chunk);
      if (!dir.tracker.sawClose) return;
      // The client's frames are dropped from drain step 1 on; only a close
      // received after the proxy's own close to the client ends the client.
      if (dir === this.up && !this.clientCloseSent) return;
      source.end();
      return;
    }
    if (dir.mode === 'untilClose') {
      let i = 0;
      while (i < chunk.length) {
        if (dir.tracker.atBoundary && (chunk[i]! & 0x0f) === 8) {
          // The app's close (its reply to ours, most likely): the client gets the proxy's 1001 instead.
          this.closeClientSide();
          if ((dir.mode as Direction['mode']) === 'dropping')
            this.pass(chunk.subarray(i), dir, dest, source, toServer);
          return;
        }
        const end = dir.tracker.step(chunk, i);
        if (end === -1) {
          this.write(dest, chunk.subarray(i), source);
          return;
        }
        this.write(dest, chunk.subarray(i, end), source);
        i = end;
      }
      return;
    }
    // closing: forward to the end of the frame in transit, then close.
    const boundary = dir.tracker.step(chunk, 0);
    if (boundary === -1) {
      this.write(dest, chunk, source);
      return;
    }
    this.write(dest, chunk.subarray(0, boundary), source);
    this.injectClose(dir, dest, toServer);
    const rest = chunk.subarray(boundary);
    if (rest.length > 0) this.pass(rest, dir, dest, source, toServer);
  }

  private write(dest: Duplex, chunk: Buffer, source: Duplex): void {
    if (dest.destroyed || !dest.writable) return;
    if (!dest.write(chunk)) source.pause();
  }

  private injectClose(dir: Direction, dest: Duplex, toServer: boolean): void {
    dir.mode = 'dropping';
    dir.tracker = new FrameTracker();
    if (!dest.destroyed && dest.writable) dest.write(closeFrame(toServer));
    if (dir === this.down) {
      this.clientCloseSent = true;
      // A client that already sent its own close has nothing more to say.
      if (this.up.mode === 'dropping' && this.up.tracker.sawClose) this.client.end();
    }
  }

  /**
   * Drain timeout reached: cut an upgraded connection that is not a WebSocket;
   * close a WebSocket with 1001, first towards the app (relaying its last
   * frames to the client), then towards the client (see the module comment).
   */
  cancelForDrain(): void {
    if (this.finished || this.drainClose !== 'none') return;
    if (!this.isWebSocket || !this.responseHeadDone || this.upstream === null) {
      this.close();
      return;
    }
    this.drainClose = 'awaitingApp';
    if (this.up.mode === 'forward') {
      this.up.mode = 'closing';
      if (this.up.tracker.atBoundary) this.injectClose(this.up, this.upstream, true);
    }
    if (this.down.mode === 'forward') this.down.mode = 'untilClose';
    this.closeTimer = setTimeout(() => this.closeClientSide(), APP_CLOSE_GRACE_MS);
  }

  /**
   * Drain step 2: the app has answered the close, gone, or run out of time;
   * send the client its 1001 close at the next frame boundary, then give both
   * peers a moment before ending the sockets.
   */
  private closeClientSide(): void {
    if (this.finished || this.drainClose !== 'awaitingApp') return;
    this.drainClose = 'awaitingClient';
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    const upstreamGone = this.upstream === null || this.upstream.destroyed || this.upstream.readableEnded;
    if (this.down.mode !== 'dropping') {
      if (this.down.tracker.atBoundary) this.injectClose(this.down, this.client, false);
      else if (upstreamGone) {
        // The app left in the middle of a frame: nothing clean can follow it.
        this.close();
        return;
      } else this.down.mode = 'closing';
    }
    this.closeTimer = setTimeout(() => {
      this.client.end();
      this.upstream?.end();
      this.closeTimer = setTimeout(() => this.close(), CLOSE_GRACE_MS);
    }, CLOSE_GRACE_MS);
  }

  private reject(status: number, message: string, location?: string): void {
    if (this.finished) return;
    this.status = status;
    const body = status === 301 ? '' : errorPage(status, message, this.service?.errorPages ?? null);
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    if (body !== '') head += 'Content-Type: text/html; charset=utf-8\r\n';
    if (location) head += `Location: ${location}\r\n`;
    if (this.client.writable) this.client.end(head + '\r\n' + body);
    this.upstream?.destroy();
    this.finish();
    setTimeout(() => this.client.destroy(), CLOSE_GRACE_MS).unref();
  }

  private close(): void {
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    this.client.destroy();
    this.upstream?.destroy();
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.tunnels.delete(this);
    if (this.claimed !== null) this.target!.release(this.claimed);
    const elapsed = performance.now() - this.started;
    const service = this.service;
    if (this.ctx.metrics !== null && service !== null) {
      this.ctx.metrics.requestStarted(service.name);
      this.ctx.metrics.requestFinished(
        service.name,
        this.req.method ?? 'GET',
        this.status,
        elapsed / 1000,
        true,
      );
    }
    const req = this.req;
    const clientAddr = clientAddress(req.socket.remoteAddress);
    const xff = req.headers['x-forwarded-for'];
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.ctx.logger.info('Request', {
      host: req.headers.host ?? '',
      port: this.tls ? this.ctx.httpsPort : this.ctx.httpPort,
      path: q === -1 ? url : url.slice(0, q),
      request_id: this.requestId,
      status: this.status,
      service: service?.name ?? '',
      target: this.target?.name ?? '',
      duration: Math.round(elapsed * 1e6),
      duration_ms: Math.round(elapsed * 1000) / 1000,
      method: req.method ?? '',
      req_content_length: -1,
      req_content_type: req.headers['content-type'] ?? '',
      resp_content_length: this.bytesToClient,
      resp_content_type: '',
      client_addr: clientAddr,
      client_port: String(req.socket.remotePort ?? ''),
      remote_addr: typeof xff === 'string' && xff !== '' ? xff : clientAddr,
      user_agent: req.headers['user-agent'] ?? '',
      proto: `HTTP/${req.httpVersion}`,
      scheme: this.tls ? 'https' : 'http',
      query: q === -1 ? '' : url.slice(q + 1),
    });
    requestEnded(this.ctx);
  }
}
