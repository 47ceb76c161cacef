// The fast HTTP/1.1 front end inside the whole proxy, against the node:http
// front end (http1: 'node'): the same forwarded request, the same access log,
// the same answers; handoff in the middle of a keep-alive connection; shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBackend } from '../support/backend.js';
import { deployArgs, sleep, startTestProxy, type TestProxy } from '../support/proxy.js';

function send(port: number, data: string, waitMs = 5_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let reply = '';
    s.on('data', (d) => (reply += d));
    s.on('error', () => undefined);
    s.on('close', () => resolve(reply));
    s.write(data);
    setTimeout(() => s.destroy(), waitMs).unref();
  });
}

const REQUEST =
  'POST /form?a=1 HTTP/1.1\r\nHost: app.example.com\r\nUser-Agent: t/1\r\nContent-Type: text/plain\r\n' +
  'Content-Length: 5\r\nX-Forwarded-For: 10.0.0.1\r\nConnection: keep-alive, X-Hop\r\nX-Hop: drop me\r\n' +
  'Cookie: a=1\r\nCookie: b=2\r\n\r\nhello';

test('fast and node:http front ends forward the same request and write the same access log', async () => {
  const seen: Array<{ headers: Record<string, unknown>; body: string }> = [];
  const backend = await startBackend('v1', (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => {
      seen.push({ headers: { ...req.headers }, body });
      res.writeHead(201, { 'content-type': 'text/plain', 'x-app': 'yes' });
      res.end('made');
    });
  });
  const results: Array<{ reply: string; log: Record<string, unknown> }> = [];
  try {
    for (const http1 of ['node', 'fast'] as const) {
      const proxy = await startTestProxy({ http1 });
      try {
        await proxy.call(
          'Deploy',
          deployArgs('app', [backend.name], { target: { logRequestHeaders: ['Cookie'] } }),
        );
        const reply = await send(
          proxy.httpPort,
          REQUEST + 'GET /done HTTP/1.1\r\nHost: app.example.com\r\nConnection: close\r\n\r\n',
        );
        const line = proxy.logs.find((l) => l.includes('"path":"/form"'))!;
        results.push({ reply, log: JSON.parse(line) as Record<string, unknown> });
      } finally {
        await proxy.stop();
      }
    }
  } finally {
    await backend.close();
  }
  const [viaNode, viaFast] = seen.filter((s) => s.body === 'hello');
  const stable = (h: Record<string, unknown>): Record<string, unknown> => {
    const { 'x-request-id': id, 'x-request-start': start, ...rest } = h;
    assert.match(String(id), /^[0-9a-f-]{36}$/);
    assert.match(String(start), /^t=\d+$/);
    return rest;
  };
  assert.deepEqual(stable(viaFast!.headers), stable(viaNode!.headers));
  assert.equal(viaFast!.headers['x-forwarded-for'], '10.0.0.1, 127.0.0.1');
  assert.equal(viaFast!.headers['x-hop'], undefined, 'headers named by Connection are dropped');
  const fields = (l: Record<string, unknown>): Record<string, unknown> => {
    const { time, duration, duration_ms, request_id, port, client_port, ...rest } = l;
    return rest;
  };
  assert.deepEqual(fields(results[1]!.log), fields(results[0]!.log));
  assert.equal(results[1]!.log['status'], 201);
  assert.equal(results[1]!.log['req_cookie'], 'a=1; b=2');
  const withoutDate = (r: string): string => r.replace(/\r\nDate: [^\r]+/g, '\r\nDate: -');
  assert.equal(
    withoutDate(results[1]!.reply),
    withoutDate(results[0]!.reply),
    'byte for byte the same answers',
  );
  assert.match(
    results[1]!.reply,
    /^HTTP\/1\.1 201 Created\r\n[\s\S]*\r\nx-app: yes\r\n[\s\S]*\r\n\r\n4\r\nmade\r\n0\r\n\r\n/,
  );
});

test('a keep-alive connection moves to node:http at a chunked request and keeps serving in order', async () => {
  const backend = await startBackend('v1', (req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d));
    req.on('end', () => res.end(`[${req.method} ${req.url} ${body}]`));
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const reply = await send(
      proxy.httpPort,
      'GET /1 HTTP/1.1\r\nHost: x.com\r\n\r\n' +
        'POST /2 HTTP/1.1\r\nHost: x.com\r\nContent-Length: 3\r\n\r\nabc' +
        'POST /3 HTTP/1.1\r\nHost: x.com\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nde\r\n0\r\n\r\n' +
        'GET /4 HTTP/1.1\r\nHost: x.com\r\nConnection: close\r\n\r\n',
    );
    const order = [...reply.matchAll(/\[(GET|POST) \/(\d) (\w*)\]/g)].map((m) => `${m[2]}${m[3]}`);
    assert.deepEqual(order, ['1', '2abc', '3de', '4']);
    const paths = proxy.logs
      .filter((l) => l.includes('"msg":"Request"'))
      .map((l) => (JSON.parse(l) as { path: string }).path);
    assert.deepEqual(paths.sort(), ['/1', '/2', '/3', '/4']);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('close(): idle keep-alive connections close at once, an in-flight request finishes with Connection: close', async () => {
  const backend = await startBackend('v1', (req, res) => {
    if (req.url === '/slow') setTimeout(() => res.end('slow done'), 400);
    else res.end('quick');
  });
  const proxy: TestProxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const idle = net.connect(proxy.httpPort, '127.0.0.1');
    idle.on('error', () => undefined);
    idle.write('GET /quick HTTP/1.1\r\nHost: x.com\r\n\r\n');
    await new Promise((resolve) => idle.once('data', resolve));
    const idleClosed = new Promise<number>((resolve) => {
      const at = Date.now();
      idle.on('close', () => resolve(Date.now() - at));
    });
    const slow = send(proxy.httpPort, 'GET /slow HTTP/1.1\r\nHost: x.com\r\n\r\n');
    await sleep(150);
    const stopping = proxy.stop();
    const idleMs = await idleClosed;
    assert.ok(idleMs < 300, `the idle connection closed ${idleMs} ms after its response`);
    const reply = await slow;
    assert.match(reply, /^HTTP\/1\.1 200 OK\r\n[\s\S]*Connection: close\r\n[\s\S]*slow done$/);
    await stopping;
  } finally {
    await backend.close();
  }
});
