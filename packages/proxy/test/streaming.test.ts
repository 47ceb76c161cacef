import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { startBackend } from './support/backend.js';
import { deployArgs, sleep, startTestProxy, waitFor } from './support/proxy.js';
import { FrameTracker, closeFrame } from '../src/server/websocket.js';

/** A backend that serves /up and echoes WebSocket messages with a prefix. */
async function startWsBackend(
  label: string,
): Promise<{ name: string; closes: number[]; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/up' ? 200 : 404);
    res.end();
  });
  const wss = new WebSocketServer({ server });
  const closes: number[] = [];
  wss.on('connection', (ws, req) => {
    ws.send(`${label} hello ${req.url} ${req.headers['x-forwarded-for']}`);
    ws.on('message', (m) => ws.send(`${label}: ${m.toString()}`));
    ws.on('close', (code) => closes.push(code));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    name: `127.0.0.1:${port}`,
    closes,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function connect(
  port: number,
  path = '/',
): Promise<{ ws: WebSocket; messages: string[]; closed: Promise<{ code: number; at: number }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { headers: { host: 'example.com' } });
    const messages: string[] = [];
    const closed = new Promise<{ code: number; at: number }>((r) =>
      ws.on('close', (code) => r({ code, at: Date.now() })),
    );
    ws.on('message', (m) => messages.push(m.toString()));
    ws.once('open', () => resolve({ ws, messages, closed }));
    ws.once('error', reject);
  });
}

test('WebSockets are proxied, and survive a deploy until the drain timeout, then get a 1001 close', async () => {
  const v1 = await startWsBackend('v1');
  const v2 = await startWsBackend('v2');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name], { service: { pathPrefixes: ['/cable'] } }));
    const c = await connect(proxy.httpPort, '/cable?x=1');
    await waitFor(() => c.messages.length === 1, 2_000, 'greeting');
    assert.equal(c.messages[0], 'v1 hello /?x=1 127.0.0.1');
    c.ws.send('ping');
    await waitFor(() => c.messages.includes('v1: ping'), 2_000, 'echo');

    const started = Date.now();
    const deploying = proxy.call(
      'Deploy',
      deployArgs('app', [v2.name], {
        service: { pathPrefixes: ['/cable'] },
        deployment: { drainTimeoutMs: 600 },
      }),
    );
    // During the drain the old connection keeps working.
    await sleep(200);
    c.ws.send('still here');
    await waitFor(() => c.messages.includes('v1: still here'), 2_000, 'echo during drain');
    // New connections go to v2.
    const d = await connect(proxy.httpPort, '/cable');
    await waitFor(() => d.messages.length === 1, 2_000, 'v2 greeting');
    assert.match(d.messages[0]!, /^v2 hello/);

    const closed = await c.closed;
    assert.equal(closed.code, 1001, 'client got a going-away close frame');
    assert.ok(closed.at - started >= 550, `closed at the end of the drain (${closed.at - started} ms)`);
    await waitFor(() => v1.closes.length === 1, 3_000, 'target saw the close');
    assert.equal(v1.closes[0], 1001, 'target got a going-away close frame too');
    await deploying;
    d.ws.close();
    await d.closed;
  } finally {
    await proxy.stop();
    await v1.close();
    await v2.close();
  }
});

test('a large message in transit is finished before the close frame is sent', async () => {
  const big = 'x'.repeat(2 * 1024 * 1024);
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/up' ? 200 : 404);
    res.end();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', () => ws.send(big)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const other = await startBackend('other');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [name]));
    const c = await connect(proxy.httpPort);
    c.ws.send('go');
    // Start the drain while the 2 MiB frame streams; the cancel comes at once.
    const deploying = proxy.call(
      'Deploy',
      deployArgs('app', [other.name], { deployment: { drainTimeoutMs: 1 } }),
    );
    const closed = await c.closed;
    assert.equal(closed.code, 1001);
    assert.ok(
      c.messages.length === 0 || c.messages[0]!.length === big.length,
      'no truncated message was delivered',
    );
    await deploying;
  } finally {
    await proxy.stop();
    for (const ws of wss.clients) ws.terminate();
    wss.close();
    server.closeAllConnections();
    server.close();
    await other.close();
  }
});

test('SSE streams are not buffered and get the drain window, then end cleanly', async () => {
  const sse = await startBackend('sse', (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    res.write('data: first\n\n');
    const timer = setInterval(() => res.write('data: tick\n\n'), 50);
    req.on('close', () => clearInterval(timer));
  });
  const next = await startBackend('next');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [sse.name], { target: { bufferResponses: true } }));
    const events: string[] = [];
    let ended = false;
    let errored = false;
    const res = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(
        { host: '127.0.0.1', port: proxy.httpPort, path: '/stream', headers: { host: 'x.com' } },
        resolve,
      ),
    );
    res.setEncoding('utf8');
    res.on('data', (d: string) => events.push(d));
    res.on('end', () => (ended = true));
    res.on('error', () => (errored = true));
    res.on('aborted', () => (errored = true));
    await waitFor(() => events.join('').includes('data: first'), 2_000, 'first event arrives unbuffered');
    const started = Date.now();
    await proxy.call('Deploy', deployArgs('app', [next.name], { deployment: { drainTimeoutMs: 400 } }));
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 350, `stream kept for the drain window (${elapsed} ms)`);
    await waitFor(() => ended, 2_000, 'stream ended');
    assert.equal(errored, false, 'the stream ended cleanly');
    assert.ok(events.join('').includes('data: tick'));
  } finally {
    await proxy.stop();
    await sse.close();
    await next.close();
  }
});

test('frame tracker follows boundaries across chunks and 16/64-bit lengths', () => {
  const frame = (len: number, masked: boolean): Buffer => {
    const header: number[] = [0x82];
    const m = masked ? 0x80 : 0;
    if (len < 126) header.push(m | len);
    else if (len < 65536) header.push(m | 126, len >> 8, len & 255);
    else header.push(m | 127, 0, 0, 0, 0, (len >>> 24) & 255, (len >> 16) & 255, (len >> 8) & 255, len & 255);
    if (masked) header.push(1, 2, 3, 4);
    return Buffer.concat([Buffer.from(header), Buffer.alloc(len)]);
  };
  const stream = Buffer.concat([frame(5, false), frame(300, true), frame(70_000, false), closeFrame(true)]);
  const t = new FrameTracker();
  // Feed in awkward chunk sizes, checking the boundary flag only at frame ends.
  const ends = new Set([7, 7 + 308, 7 + 308 + 70_010, stream.length]);
  const cuts: number[] = [];
  for (let i = 1; i <= 400; i++) cuts.push(i);
  for (let i = 401; i < stream.length; i += 997) cuts.push(i);
  for (const e of ends) cuts.push(e - 1, e, e + 1);
  const sorted = [...new Set(cuts.filter((c) => c > 0 && c <= stream.length))].sort((a, b) => a - b);
  let prev = 0;
  for (const cut of sorted) {
    t.feed(stream.subarray(prev, cut));
    assert.equal(t.atBoundary, ends.has(cut), `boundary after byte ${cut}`);
    prev = cut;
  }
  assert.equal(t.sawClose, true);
  const t2 = new FrameTracker();
  assert.equal(t2.step(stream, 0), 7);
  assert.equal(t2.step(stream, 7), 7 + 308);
});

test('an upgrade the target refuses is answered once and the connection closed, never left as a tunnel', async () => {
  const backend = await startBackend('plain');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.httpPort, '127.0.0.1', () => {
        s.write('GET /x HTTP/1.1\r\nHost: x.com\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n');
      });
      let data = '';
      s.on('data', (d) => {
        data += d;
        // A second request on the same connection must not reach the target.
        if (data.includes('plain GET /x')) s.write('GET /second HTTP/1.1\r\nHost: x.com\r\n\r\n');
      });
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
      setTimeout(() => s.destroy(), 3_000).unref();
    });
    assert.match(reply, /^HTTP\/1\.1 200/);
    assert.match(reply, /plain GET \/x/);
    assert.ok(!backend.seen.some((r) => r.url === '/second'));
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('shutdown closes WebSockets with 1001 instead of waiting out the timeout', async () => {
  const v1 = await startWsBackend('v1');
  const proxy = await startTestProxy({ shutdownTimeoutMs: 10_000 });
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    const c = await connect(proxy.httpPort);
    await waitFor(() => c.messages.length === 1, 2_000, 'greeting');
    const started = Date.now();
    await proxy.close();
    const closed = await c.closed;
    assert.equal(closed.code, 1001);
    assert.ok(Date.now() - started < 5_000, `shutdown took ${Date.now() - started} ms`);
  } finally {
    await proxy.stop();
    await v1.close();
  }
});
