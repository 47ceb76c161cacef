/**
 * One Server-Sent Events stream of the load generator. The stream must carry
 * events with ids 1..N in order and then an "end" event; anything else is a
 * failure (lost or out-of-order events, or a stream cut before its end).
 */
import http from 'node:http';
import https from 'node:https';
import type { HttpAgents } from './load-http.js';
import type { FailureKind } from './load-stats.js';

export interface SseOptions {
  url: string;
  /** How many streams stay open at once; each reopens as soon as it ends. */
  streams: number;
  /** A stream that has not ended after this is a timeout; default 30 s. */
  timeoutMs?: number;
}

export interface SseProblem {
  kind: FailureKind;
  detail: string;
  count?: number;
}

export interface SseOutcome {
  problems: SseProblem[];
  events: number;
  identity?: string;
  /** From the request to the first event, ms. */
  firstEventMs?: number;
  /** From the request to the end event, ms. */
  totalMs: number;
  completed: boolean;
}

interface ParsedEvent {
  id?: string;
  event: string;
  data: string;
}

/** Splits an SSE byte stream into events (text/event-stream framing). */
export class SseParser {
  private buffer = '';
  push(text: string): ParsedEvent[] {
    this.buffer += text.replace(/\r\n?/g, '\n');
    const events: ParsedEvent[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const event: ParsedEvent = { event: 'message', data: '' };
      const data: string[] = [];
      let any = false;
      for (const line of block.split('\n')) {
        if (line === '' || line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        any = true;
        if (field === 'id') event.id = value;
        else if (field === 'event') event.event = value;
        else if (field === 'data') data.push(value);
      }
      event.data = data.join('\n');
      if (any) events.push(event);
    }
    return events;
  }
}

/** Reads one stream to its end event; resolves with what went wrong, if anything. `abort` cuts it without blame. */
export function readEventStream(
  options: SseOptions,
  agents: HttpAgents,
  identityHeader: string,
  signal: AbortSignal,
): Promise<SseOutcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    const url = new URL(options.url);
    const secure = url.protocol === 'https:';
    const problems: SseProblem[] = [];
    const parser = new SseParser();
    let expected = 1;
    let events = 0;
    let identity: string | undefined;
    let firstEventMs: number | undefined;
    let ended = false;
    let settled = false;
    let gotResponse = false;

    const finish = (problem?: SseProblem) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (problem) problems.push(problem);
      resolve({
        problems,
        events,
        ...(identity ? { identity } : {}),
        ...(firstEventMs !== undefined ? { firstEventMs } : {}),
        totalMs: performance.now() - started,
        completed: ended,
      });
    };
    const onAbort = () => {
      finish();
      req.destroy();
    };

    const req = (secure ? https : http).request(url, {
      headers: { accept: 'text/event-stream', 'cache-control': 'no-cache' },
      agent: secure ? agents.https : agents.http,
    });
    req.on('socket', (socket) => socket.setTimeout(0));
    const timeoutMs = options.timeoutMs ?? 30_000;
    const timer = setTimeout(() => {
      finish({
        kind: 'timeout',
        detail: `stream not finished within ${timeoutMs} ms after ${events} events`,
      });
      req.destroy();
    }, timeoutMs);
    signal.addEventListener('abort', onAbort);

    req.on('error', (error: NodeJS.ErrnoException) => {
      if (!gotResponse) finish({ kind: 'connection', detail: `${error.code ?? ''} ${error.message}`.trim() });
    });
    req.on('response', (res) => {
      gotResponse = true;
      const header = res.headers[identityHeader];
      if (typeof header === 'string') identity = header;
      const status = res.statusCode ?? 0;
      if (status < 200 || status > 299) {
        res.resume();
        finish({ kind: 'status', detail: `status ${status}` });
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        for (const event of parser.push(chunk)) {
          if (event.event === 'end') {
            ended = true;
            const declared = Number.parseInt(event.data, 10);
            if (Number.isFinite(declared) && declared >= expected) {
              problems.push({
                kind: 'message_lost',
                detail: `events ${expected}..${declared} never arrived`,
                count: declared - expected + 1,
              });
            }
            continue;
          }
          events += 1;
          firstEventMs ??= performance.now() - started;
          const id = Number.parseInt(event.id ?? '', 10);
          if (id === expected) expected += 1;
          else if (id > expected) {
            problems.push({
              kind: 'message_lost',
              detail: `event ${id} came when ${expected} was due`,
              count: id - expected,
            });
            expected = id + 1;
          } else {
            problems.push({
              kind: 'message_out_of_order',
              detail: `event ${event.id} came when ${expected} was due`,
            });
          }
        }
      });
      res.on('error', () => {
        /* seen through 'close' */
      });
      res.on('close', () => {
        if (ended && res.complete) finish();
        else finish({ kind: 'truncated', detail: `stream cut after ${events} events without its end event` });
      });
    });
    req.end();
  });
}
