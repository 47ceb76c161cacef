import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBackend, type Backend } from './support/backend.js';
import { deployArgs, request, sleep, startTestProxy, type TestProxy } from './support/proxy.js';

/** Sends raw bytes, returns what came back and how long until the proxy closed the connection. */
function raw(
  port: number,
  data: string | Buffer,
  o: { localAddress?: string; waitMs?: number } = {},
): Promise<{ reply: string; closedAfter: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect({ port, host: '127.0.0.1', localAddress: o.localAddress });
    let reply = '';
    s.on('connect', () => s.write(data));
    s.on('data', (d) => (reply += d));
    const done = (): void => resolve({ reply, closedAfter: Date.now() - started });
    s.on('close', done);
    s.on('error', () => undefined);
    setTimeout(() => s.destroy(), o.waitMs ?? 5_000).unref();
  });
}

async function setup(limits: Record<string, number> = {}): Promise<{ proxy: TestProxy; backend: Backend }> {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy({ limits });
  await proxy.call('Deploy', deployArgs('app', [backend.name]));
  return { proxy, backend };
}

test('request smuggling attempts are refused with 400 and never reach the target', async () => {
  const { proxy, backend } = await setup();
  try {
    const before = backend.seen.length;
    const clte = await raw(
      proxy.httpPort,
      'POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x.com\r\n\r\n',
    );
    assert.match(clte.reply, /^HTTP\/1\.1 400/);
    const doubleCl = await raw(
      proxy.httpPort,
      'POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: 3\r\nContent-Length: 40\r\n\r\nabc',
    );
    assert.match(doubleCl.reply, /^HTTP\/1\.1 400/);
    const badTe = await raw(
      proxy.httpPort,
      'POST / HTTP/1.1\r\nHost: x.com\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n',
    );
    assert.match(badTe.reply, /^HTTP\/1\.1 400/);
    const spaceBeforeColon = await raw(
      proxy.httpPort,
      'POST / HTTP/1.1\r\nHost: x.com\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n',
    );
    assert.match(spaceBeforeColon.reply, /^HTTP\/1\.1 400/);
    assert.equal(backend.seen.length, before, 'nothing reached the target');
    assert.ok(!backend.seen.some((s) => s.url === '/smuggled'));
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a missing or duplicated Host header gets 400', async () => {
  const { proxy, backend } = await setup();
  try {
    assert.match((await raw(proxy.httpPort, 'GET / HTTP/1.1\r\n\r\n')).reply, /^HTTP\/1\.1 400/);
    assert.match(
      (await raw(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: a.com\r\nHost: b.com\r\n\r\n')).reply,
      /^HTTP\/1\.1 400/,
    );
    assert.match((await raw(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n')).reply, /^HTTP\/1\.1 400/);
    assert.match(
      (await raw(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: evil.com/@x\r\n\r\n')).reply,
      /^HTTP\/1\.1 400/,
    );
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('absolute-form request targets are routed by their host; other forms get 400', async () => {
  const { proxy, backend } = await setup();
  try {
    const abs = await raw(
      proxy.httpPort,
      'GET http://example.com/abs?x=1 HTTP/1.1\r\nHost: other.com\r\nConnection: close\r\n\r\n',
    );
    assert.match(abs.reply, /^HTTP\/1\.1 200/);
    assert.match(abs.reply, /v1 GET \/abs\?x=1/);
    assert.equal(backend.seen.at(-1)!.headers.host, 'example.com');
    assert.match(
      (await raw(proxy.httpPort, 'OPTIONS * HTTP/1.1\r\nHost: x.com\r\n\r\n')).reply,
      /^HTTP\/1\.1 400/,
    );
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('oversized headers get 431', async () => {
  const { proxy, backend } = await setup({ maxHeaderSize: 8 * 1024 });
  try {
    const r = await raw(
      proxy.httpPort,
      `GET / HTTP/1.1\r\nHost: x.com\r\nX-Big: ${'a'.repeat(16 * 1024)}\r\n\r\n`,
    );
    assert.match(r.reply, /^HTTP\/1\.1 431/);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('slow headers and slow bodies are cut within the configured time, while others are served', async () => {
  const backend = await startBackend('v1', (req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  const proxy = await startTestProxy({ limits: { headersTimeoutMs: 400, requestTimeoutMs: 800 } });
  await proxy.call('Deploy', deployArgs('app', [backend.name]));
  try {
    // Slowloris: headers that never finish.
    const slowHeaders = new Promise<{ closedAfter: number; reply: string }>((resolve) => {
      const started = Date.now();
      const s = net.connect(proxy.httpPort, '127.0.0.1');
      let reply = '';
      s.on('data', (d) => (reply += d));
      s.write('GET / HTTP/1.1\r\nHost: x.com\r\n');
      const drip = setInterval(() => s.writable && s.write('X-A: b\r\n'), 100);
      s.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfter: Date.now() - started, reply });
      });
      s.on('error', () => undefined);
      setTimeout(() => s.destroy(), 5_000).unref();
    });
    // Slow body: a declared body that trickles in.
    const slowBody = new Promise<{ closedAfter: number }>((resolve) => {
      const started = Date.now();
      const s = net.connect(proxy.httpPort, '127.0.0.1');
      s.write('POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: 1000\r\n\r\n');
      const drip = setInterval(() => s.writable && s.write('a'), 100);
      s.on('close', () => {
        clearInterval(drip);
        resolve({ closedAfter: Date.now() - started });
      });
      s.on('error', () => undefined);
      setTimeout(() => s.destroy(), 5_000).unref();
    });
    await sleep(100);
    assert.equal(
      (await request(proxy.httpPort, '/', { method: 'POST', body: 'fine' })).body,
      'ok',
      'others are served meanwhile',
    );
    const h = await slowHeaders;
    assert.ok(h.closedAfter < 3_000, `slow headers closed after ${h.closedAfter} ms`);
    assert.match(h.reply, /^(HTTP\/1\.1 408|)/);
    const b = await slowBody;
    assert.ok(b.closedAfter < 3_500, `slow body closed after ${b.closedAfter} ms`);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a connection flood from one address is capped without affecting other clients', async () => {
  const { proxy, backend } = await setup({ maxConnectionsPerClient: 20 });
  const sockets: net.Socket[] = [];
  try {
    let closedByProxy = 0;
    for (let i = 0; i < 60; i++) {
      const s = net.connect({ port: proxy.httpPort, host: '127.0.0.1', localAddress: '127.0.0.2' });
      s.on('error', () => undefined);
      s.on('close', () => closedByProxy++);
      sockets.push(s);
    }
    // The proxy closes the excess at once; on a busy machine the 60 connects themselves take a while.
    for (let waited = 0; closedByProxy < 40 && waited < 5_000; waited += 50) await sleep(50);
    assert.ok(closedByProxy >= 40, `excess connections closed (${closedByProxy})`);
    // Another address is served normally.
    const other = await raw(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: x.com\r\nConnection: close\r\n\r\n', {
      localAddress: '127.0.0.3',
    });
    assert.match(other.reply, /^HTTP\/1\.1 200/);
    assert.match(other.reply, /v1 GET \//);
  } finally {
    for (const s of sockets) s.destroy();
    await proxy.stop();
    await backend.close();
  }
});

test('garbage and half-open connections do not disturb the proxy', async () => {
  const { proxy, backend } = await setup({ headersTimeoutMs: 300 });
  try {
    const garbage = await raw(
      proxy.httpPort,
      Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0x00, 0x00, 0x13, 0x37]),
    );
    assert.match(garbage.reply, /^(HTTP\/1\.1 400|)$/m);
    const idle = await raw(proxy.httpPort, '', { waitMs: 5_000 });
    assert.ok(idle.closedAfter < 3_000, `idle connection closed after ${idle.closedAfter} ms`);
    assert.equal((await request(proxy.httpPort, '/')).status, 200);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});
