// How a WebSocket ends when a deploy's drain timeout runs out: the app is
// closed first (1001), its last frames still reach the client, and only then
// does the client get its 1001 close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import { startBackend } from './support/backend.js';
import { deployArgs, startTestProxy, waitFor } from './support/proxy.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** An unmasked server frame with a payload under 126 bytes. */
function frame(opcode: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0x80 | opcode, payload.length]), payload]);
}

interface WireApp {
  name: string;
  /** Close frames the app received from the proxy, with the time they came. */
  closes: { code: number; at: number }[];
  close(): Promise<void>;
}

/**
 * A WebSocket app written against the wire protocol, so its timing is exact:
 * it echoes each text message `m` as "echo: m" `echoDelayMs` after receiving
 * it and answers a close frame only after the echoes still due have gone out
 * (or never, with `answerClose: false`), as an app finishing its work would.
 */
async function startWireApp(echoDelayMs: number, answerClose = true): Promise<WireApp> {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/up' ? 200 : 404);
    res.end();
  });
  const closes: { code: number; at: number }[] = [];
  const sockets = new Set<Duplex>();
  server.on('upgrade', (req, socket: Duplex) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const accept = createHash('sha1')
      .update(String(req.headers['sec-websocket-key']) + WS_GUID)
      .digest('base64');
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    let buffered = Buffer.alloc(0);
    let due: Promise<void> = Promise.resolve();
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered[1]! & 0x7f;
        const masked = (buffered[1]! & 0x80) !== 0;
        const headerLength = 2 + (masked ? 4 : 0);
        if (length >= 126) throw new Error('the wire app handles only short frames');
        if (buffered.length < headerLength + length) break;
        const payload = Buffer.from(buffered.subarray(headerLength, headerLength + length));
        if (masked) for (let i = 0; i < payload.length; i++) payload[i]! ^= buffered[2 + (i % 4)]!;
        const opcode = buffered[0]! & 0x0f;
        buffered = buffered.subarray(headerLength + length);
        if (opcode === 1) {
          const at = Date.now() + echoDelayMs;
          due = due
            .then(() => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now()))))
            .then(() => {
              if (socket.writable) socket.write(frame(1, Buffer.from(`echo: ${payload.toString()}`)));
            });
        } else if (opcode === 8) {
          closes.push({ code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, at: Date.now() });
          if (answerClose) {
            due = due.then(() => {
              if (socket.writable) socket.end(frame(8, payload.subarray(0, 2)));
            });
          }
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    name: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    closes,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

interface Client {
  ws: WebSocket;
  /** Messages, then "close <code>", in the order the client saw them. */
  events: string[];
  closed: Promise<{ code: number; at: number }>;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { headers: { host: 'example.com' } });
    const events: string[] = [];
    const closed = new Promise<{ code: number; at: number }>((r) =>
      ws.on('close', (code) => {
        events.push(`close ${code}`);
        r({ code, at: Date.now() });
      }),
    );
    ws.on('message', (m) => events.push(m.toString()));
    ws.on('error', () => undefined);
    ws.once('open', () => resolve({ ws, events, closed }));
    ws.once('error', reject);
  });
}

test('at the drain timeout the app is closed first, and its late echo reaches the client before the 1001 close', async () => {
  // The echo leaves the app 1200 ms after the message, well after the 300 ms drain deadline.
  const app = await startWireApp(1200);
  const next = await startBackend('next');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [app.name]));
    const c = await connect(proxy.httpPort);
    c.ws.send('early');
    await waitFor(() => c.events.includes('echo: early'), 3_000, 'echo before the deploy');

    const deploying = proxy.call(
      'Deploy',
      deployArgs('app', [next.name], { deployment: { drainTimeoutMs: 300 } }),
    );
    const sentAt = Date.now();
    c.ws.send('last words'); // before the drain deadline
    const closed = await c.closed;
    await deploying;

    assert.deepEqual(c.events, ['echo: early', 'echo: last words', 'close 1001']);
    assert.equal(app.closes.length, 1, 'the app got one close frame');
    assert.equal(app.closes[0]!.code, 1001, 'the app was told the proxy is going away');
    // The app was closed before its echo left (so it crossed the deadline), the client only after.
    assert.ok(
      app.closes[0]!.at - sentAt < 1_150,
      `app closed ${app.closes[0]!.at - sentAt} ms after the send`,
    );
    assert.ok(closed.at - sentAt >= 1_190, `client closed ${closed.at - sentAt} ms after the send`);
  } finally {
    await proxy.stop();
    await app.close();
    await next.close();
  }
});

test('an app that never answers the close still lets the client go with 1001 after a grace', async () => {
  const app = await startWireApp(0, false);
  const next = await startBackend('next');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [app.name]));
    const c = await connect(proxy.httpPort);
    c.ws.send('hi');
    await waitFor(() => c.events.includes('echo: hi'), 3_000, 'echo');
    await proxy.call('Deploy', deployArgs('app', [next.name], { deployment: { drainTimeoutMs: 100 } }));
    const closed = await c.closed;
    assert.equal(closed.code, 1001);
    assert.equal(app.closes[0]?.code, 1001, 'the app was sent its close first');
    const waited = closed.at - app.closes[0]!.at;
    assert.ok(waited >= 1_500 && waited < 5_000, `client closed ${waited} ms after the app was`);
  } finally {
    await proxy.stop();
    await app.close();
    await next.close();
  }
});

test('client frames sent after the app was closed are dropped, not relayed', async () => {
  const app = await startWireApp(400);
  const next = await startBackend('next');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [app.name]));
    const c = await connect(proxy.httpPort);
    c.ws.send('before');
    const deploying = proxy.call(
      'Deploy',
      deployArgs('app', [next.name], { deployment: { drainTimeoutMs: 100 } }),
    );
    await waitFor(() => app.closes.length === 1, 3_000, 'the app-side close');
    c.ws.send('after');
    const closed = await c.closed;
    await deploying;
    assert.equal(closed.code, 1001);
    assert.deepEqual(c.events, ['echo: before', 'close 1001']);
  } finally {
    await proxy.stop();
    await app.close();
    await next.close();
  }
});
