/**
 * The load generator must see every kind of failure it claims to count, and
 * none against a healthy app; otherwise "0 failures" in the proxy tests would
 * mean nothing. Runs against the real test app on loopback (no proxy, no Docker).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createServer } from 'node:net';
import { createApp, END_MARKER, type TestApp } from '../support/app.js';
import { formatReport, runLoad, type LoadReport } from '../support/load.js';
import { percentilesOf } from '../support/load-stats.js';
import { SseParser } from '../support/load-sse.js';

let app: TestApp;
let base: string;

before(async () => {
  app = createApp({ identity: 'blue' });
  const port = await app.listen();
  base = `http://127.0.0.1:${port}`;
});
after(() => app.close());

function onlyFailures(report: LoadReport): Record<string, number> {
  return Object.fromEntries(Object.entries(report.failures).filter(([, n]) => n > 0));
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('percentiles', () => {
  test('nearest rank over the samples', () => {
    const p = percentilesOf(Array.from({ length: 100 }, (_, i) => 100 - i));
    assert.equal(p.count, 100);
    assert.equal(p.min, 1);
    assert.equal(p.p50, 50);
    assert.equal(p.p90, 90);
    assert.equal(p.p99, 99);
    assert.equal(p.max, 100);
    assert.equal(p.mean, 50.5);
    assert.equal(percentilesOf([]).count, 0);
  });
});

describe('SSE parser', () => {
  test('splits events across chunk boundaries and CRLF framing', () => {
    const parser = new SseParser();
    assert.deepEqual(parser.push('id: 1\nevent: tick\nda'), []);
    const events = parser.push('ta: a\ndata: b\n\n: comment\n\nid: 2\r\ndata: c\r\n\r\n');
    assert.deepEqual(events, [
      { id: '1', event: 'tick', data: 'a\nb' },
      { id: '2', event: 'message', data: 'c' },
    ]);
  });
});

describe('load generator against a healthy app', () => {
  test('an open-loop mix with SSE and WebSockets has no failures and is fully accounted for', async () => {
    const report = await runLoad(
      {
        rate: 200,
        requests: [
          { name: 'short', url: `${base}/`, weight: 9, endMarker: END_MARKER },
          { name: 'slow', url: `${base}/slow?ms=500`, weight: 1, endMarker: END_MARKER },
        ],
        sse: { url: `${base}/sse?count=5&interval=20`, streams: 2 },
        websockets: { url: `${base.replace('http', 'ws')}/ws`, sockets: 2, intervalMs: 20 },
      },
      2000,
    );
    assert.equal(report.totalFailures, 0, formatReport(report));
    const { short, slow } = report.requests;
    // Open loop at 200/s for ~2 s: ~400 sent, 9:1 mix.
    assert.ok(short!.sent + slow!.sent >= 350, formatReport(report));
    assert.equal(short!.ok, short!.sent);
    assert.equal(slow!.ok, slow!.sent, 'every slow request completes before stop() returns');
    assert.ok(Math.abs(short!.sent - 9 * slow!.sent) <= 9, 'the mix follows the weights');
    assert.equal(short!.servedBy.blue, short!.sent);
    assert.ok(slow!.latencyMs.p50 >= 500, 'latency covers the whole response');
    assert.ok(
      report.sse!.completed >= 2 && report.sse!.events === report.sse!.completed * 5,
      formatReport(report),
    );
    const ws = report.websockets!;
    assert.equal(ws.connections, 2);
    assert.ok(ws.messagesSent > 0);
    assert.equal(ws.messagesEchoed, ws.messagesSent);
    assert.deepEqual(ws.closeCodes, {}, 'closes the client started itself are not counted');
    assert.equal(ws.servedBy.blue, 2);
  });
});

describe('load generator counts each failure kind', () => {
  test('connection errors, non-2xx, truncated bodies, missing end markers and timeouts', async () => {
    const refused = await closedPort();
    const report = await runLoad(
      {
        rate: 100,
        requests: [
          { name: 'reset', url: `${base}/fault/reset`, weight: 1 },
          { name: 'refused', url: `http://127.0.0.1:${refused}/`, weight: 1 },
          { name: 'status', url: `${base}/fault/status?code=502`, weight: 1 },
          { name: 'truncate', url: `${base}/fault/truncate`, weight: 1 },
          { name: 'marker', url: `${base}/identity`, weight: 1, endMarker: END_MARKER },
          { name: 'timeout', url: `${base}/slow?ms=2000`, weight: 1, timeoutMs: 300 },
        ],
      },
      600,
    );
    const r = report.requests;
    assert.ok(r.reset!.sent >= 5, formatReport(report));
    assert.deepEqual(onlyFailures(report), {
      connection: r.reset!.sent + r.refused!.sent,
      status: r.status!.sent,
      truncated: r.truncate!.sent + r.marker!.sent,
      timeout: r.timeout!.sent,
    });
    for (const s of Object.values(r)) assert.equal(s.ok, 0);
  });

  test('SSE: a missing event is lost, a cut stream is truncated', async () => {
    const skipped = await runLoad(
      { rate: 0, requests: [], sse: { url: `${base}/sse?count=5&interval=10&skip=3`, streams: 1 } },
      300,
    );
    assert.ok(skipped.failures.message_lost >= 1, formatReport(skipped));
    assert.deepEqual(Object.keys(onlyFailures(skipped)), ['message_lost']);
    const cut = await runLoad(
      { rate: 0, requests: [], sse: { url: `${base}/sse?count=5&interval=10&cut=2`, streams: 1 } },
      300,
    );
    assert.ok(cut.failures.truncated >= 1, formatReport(cut));
    assert.deepEqual(Object.keys(onlyFailures(cut)), ['truncated']);
    const status = await runLoad({ rate: 0, requests: [], sse: { url: `${base}/nowhere`, streams: 1 } }, 200);
    assert.deepEqual(Object.keys(onlyFailures(status)), ['status']);
  });

  test('WebSocket: a dropped echo is lost; a reset or a 1011 close is abnormal; a 1001 close is not a failure', async () => {
    const ws = (query: string) => ({
      url: `${base.replace('http', 'ws')}/ws?${query}`,
      sockets: 1,
      intervalMs: 10,
    });
    const dropped = await runLoad({ rate: 0, requests: [], websockets: ws('drop=3') }, 1000);
    assert.deepEqual(onlyFailures(dropped), { message_lost: 1 }, formatReport(dropped));

    const reset = await runLoad({ rate: 0, requests: [], websockets: ws('reset=2') }, 1000);
    assert.ok(reset.failures.ws_abnormal_close >= 1, formatReport(reset));
    assert.ok((reset.websockets!.closeCodes['1006'] ?? 0) >= 1);
    assert.equal(reset.websockets!.goingAway, 0);

    const errored = await runLoad({ rate: 0, requests: [], websockets: ws('close=1011&after=2') }, 1000);
    assert.ok(errored.failures.ws_abnormal_close >= 1, formatReport(errored));
    assert.equal(errored.failures.ws_abnormal_close, errored.websockets!.closeCodes['1011']);

    const goingAway = await runLoad({ rate: 0, requests: [], websockets: ws('close=1001&after=3') }, 1000);
    assert.equal(goingAway.totalFailures, 0, formatReport(goingAway));
    assert.ok(goingAway.websockets!.goingAway >= 1, 'each 1001 close is counted and the socket reopened');
    // Every 1001 close was followed by a reconnect; the last reconnect may still be
    // connecting when the run stops (then it never opened and is not counted).
    const { connections, goingAway: closes } = goingAway.websockets!;
    assert.ok(
      connections === closes + 1 || connections === closes,
      `${connections} connections after ${closes} 1001 closes`,
    );

    const refused = await runLoad(
      { rate: 0, requests: [], websockets: { ...ws(''), url: `${base.replace('http', 'ws')}/not-ws` } },
      200,
    );
    assert.ok(refused.failures.status >= 1, formatReport(refused));
  });
});
