/**
 * One WebSocket "slot" of the load generator: a socket that sends numbered
 * text messages at a fixed interval and expects each echoed back, in order, as
 * "<n> <identity>". When the server side goes away with close code 1001 the slot
 * opens a new socket at once; any other close (1006 = reset, 1011, ...) is a
 * failure.
 *
 * Loss accounting: an echo that has not come `echoTimeoutMs` after its message
 * is lost. At a close, messages sent less than `lossGraceMs` before it may be
 * unanswered legitimately (the closing side may discard frames that cross its
 * Close frame); they are counted as in flight, older ones as lost.
 */
import WebSocket from 'ws';
import { bump, type FailureLog, type LatencyRecorder } from './load-stats.js';

export interface WsOptions {
  url: string;
  /** Sockets kept open at once. */
  sockets: number;
  /** One message per socket every this many ms; default 100. */
  intervalMs?: number;
  /** Default 500 ms; see the module comment. */
  lossGraceMs?: number;
  /** Default 5 s. */
  echoTimeoutMs?: number;
  /** Default 10 s. */
  connectTimeoutMs?: number;
  /** Extra headers for the upgrade request (e.g. Host). */
  headers?: Record<string, string>;
  insecure?: boolean;
}

export interface WsStats {
  connections: number;
  messagesSent: number;
  messagesEchoed: number;
  /** Close codes received, by code ("1001": 40). Closes the client started at stop are not counted. */
  closeCodes: Record<string, number>;
  goingAway: number;
  inFlightAtClose: number;
  servedBy: Record<string, number>;
  rtt: LatencyRecorder;
  connect: LatencyRecorder;
}

const SCENARIO = 'websocket';

export class WsSlot {
  private socket: WebSocket | undefined;
  private outstanding: { seq: number; sentAt: number }[] = [];
  private seq = 0;
  private stopping = false;
  private sendTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closed: Promise<void> = Promise.resolve();
  private readonly intervalMs: number;
  private readonly lossGraceMs: number;
  private readonly echoTimeoutMs: number;

  constructor(
    private readonly options: WsOptions,
    private readonly stats: WsStats,
    private readonly failures: FailureLog,
  ) {
    this.intervalMs = options.intervalMs ?? 100;
    this.lossGraceMs = options.lossGraceMs ?? 500;
    this.echoTimeoutMs = options.echoTimeoutMs ?? 5000;
  }

  start(): void {
    this.connect();
  }

  /** Stops sending, waits briefly for outstanding echoes, then closes with 1000. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.reconnectTimer);
    clearInterval(this.sendTimer);
    const deadline = performance.now() + this.lossGraceMs + 1000;
    while (
      this.outstanding.length > 0 &&
      this.socket?.readyState === WebSocket.OPEN &&
      performance.now() < deadline
    ) {
      await new Promise((r) => setTimeout(r, 10));
    }
    const socket = this.socket;
    if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) {
      const forced = setTimeout(() => socket.terminate(), 3000);
      socket.close(1000, 'load generator stopping');
      await this.closed;
      clearTimeout(forced);
    }
  }

  private connect(): void {
    if (this.stopping) return;
    const started = performance.now();
    const socket = new WebSocket(this.options.url, {
      handshakeTimeout: this.options.connectTimeoutMs ?? 10_000,
      headers: this.options.headers,
      rejectUnauthorized: !this.options.insecure,
    });
    this.socket = socket;
    this.seq = 0;
    this.outstanding = [];
    let opened = false;
    let refused = false;
    let identity: string | undefined;
    let resolveClosed!: () => void;
    this.closed = new Promise((r) => (resolveClosed = r));

    socket.on('unexpected-response', (req, res) => {
      refused = true;
      this.failures.record('status', SCENARIO, `upgrade refused with status ${res.statusCode}`);
      res.resume();
      req.destroy();
      resolveClosed();
      this.scheduleReconnect(100);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!opened && this.stopping) {
        // stop() closed a socket still connecting: not a failure.
        refused = true;
        resolveClosed();
      } else if (!opened && !refused) {
        refused = true;
        this.failures.record('connection', SCENARIO, `${error.code ?? ''} ${error.message}`.trim());
        resolveClosed();
        this.scheduleReconnect(100);
      }
      // After open, the close event that follows reports it (as 1006 for a reset).
    });
    socket.on('open', () => {
      opened = true;
      this.stats.connections += 1;
      this.stats.connect.add(performance.now() - started);
      this.sendTimer = setInterval(() => this.tick(socket), this.intervalMs);
    });
    socket.on('message', (data: WebSocket.RawData) => {
      const text = String(data);
      const space = text.indexOf(' ');
      const seq = Number.parseInt(space < 0 ? text : text.slice(0, space), 10);
      const from = space < 0 ? '' : text.slice(space + 1);
      if (identity === undefined && from) {
        identity = from;
        bump(this.stats.servedBy, from);
      }
      this.receive(seq);
    });
    socket.on('close', (code: number, reason: Buffer) => {
      clearInterval(this.sendTimer);
      if (!opened) {
        resolveClosed();
        if (!refused && !this.stopping) {
          refused = true;
          this.failures.record('connection', SCENARIO, `closed (${code}) before the handshake finished`);
          this.scheduleReconnect(100);
        }
        return;
      }
      const now = performance.now();
      let lost = 0;
      for (const m of this.outstanding) {
        if (now - m.sentAt > this.lossGraceMs) lost += 1;
        else this.stats.inFlightAtClose += 1;
      }
      if (lost > 0) {
        this.failures.record(
          'message_lost',
          SCENARIO,
          `${lost} echo(es) missing at close ${code}, oldest #${this.outstanding[0]!.seq}`,
          lost,
        );
      }
      this.outstanding = [];
      const initiatedByUs = this.stopping;
      if (code === 1001) {
        if (!initiatedByUs) {
          bump(this.stats.closeCodes, String(code));
          this.stats.goingAway += 1;
        }
      } else if (!(initiatedByUs && (code === 1000 || code === 1005))) {
        // Counted even while stopping: a target's own close (1011 as stop() began) is still the target's.
        bump(this.stats.closeCodes, String(code));
        this.failures.record(
          'ws_abnormal_close',
          SCENARIO,
          `closed with ${code}${reason.length ? ` (${reason})` : ''}${identity ? ` from ${identity}` : ''}`,
        );
      }
      resolveClosed();
      this.scheduleReconnect(0);
    });
  }

  private scheduleReconnect(delayMs: number): void {
    if (this.stopping) return;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delayMs);
  }

  private tick(socket: WebSocket): void {
    if (socket.readyState !== WebSocket.OPEN || this.stopping) return;
    const now = performance.now();
    // Echoes overdue while the socket is open are lost.
    while (this.outstanding.length > 0 && now - this.outstanding[0]!.sentAt > this.echoTimeoutMs) {
      const missing = this.outstanding.shift()!;
      this.failures.record(
        'message_lost',
        SCENARIO,
        `no echo for #${missing.seq} within ${this.echoTimeoutMs} ms`,
      );
    }
    this.seq += 1;
    this.outstanding.push({ seq: this.seq, sentAt: now });
    this.stats.messagesSent += 1;
    socket.send(String(this.seq));
  }

  private receive(seq: number): void {
    const index = this.outstanding.findIndex((m) => m.seq === seq);
    if (index < 0) {
      this.failures.record(
        'message_out_of_order',
        SCENARIO,
        `echo #${seq} was not expected (duplicate or late)`,
      );
      return;
    }
    if (index > 0) {
      // Earlier messages were skipped: lost, unless they still come (then they are out of order).
      const skipped = this.outstanding.splice(0, index);
      this.failures.record(
        'message_lost',
        SCENARIO,
        `echo #${seq} came before #${skipped.map((m) => m.seq).join(', #')}`,
        skipped.length,
      );
    }
    const message = this.outstanding.shift()!;
    this.stats.messagesEchoed += 1;
    this.stats.rtt.add(performance.now() - message.sentAt);
  }
}
