// The proxy's HTTP/1.1 client (src/upstream.ts) against raw TCP servers that
// answer with exact bytes: framing (Content-Length, chunked, until close, no
// body), responses split at every byte, connection reuse and when not to
// reuse, strictness on ambiguous framing, timeouts, request bodies and
// backpressure.
import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { UpstreamPool, type UpstreamHandler, type UpstreamRequest } from '../src/upstream.js';
import { rawServer } from './support/raw-target.js';

interface Outcome {
  status: number;
  headers: string[];
  body: string;
  error: (Error & { code?: string }) | null;
}

function pool(
  port: number,
  overrides: Partial<ConstructorParameters<typeof UpstreamPool>[2]> = {},
): UpstreamPool {
  return new UpstreamPool('127.0.0.1', port, {
    connections: 8,
    keepAliveTimeoutMs: 4_000,
    headersTimeoutMs: 5_000,
    connectTimeoutMs: 2_000,
    maxHeaderSize: 16 * 1024,
    ...overrides,
  });
}

function send(p: UpstreamPool, request: Partial<UpstreamRequest> = {}, pauseFirst = 0): Promise<Outcome> {
  return new Promise((resolve) => {
    const outcome: Outcome = { status: 0, headers: [], body: '', error: null };
    let resumeFn: (() => void) | null = null;
    let pauses = pauseFirst;
    const handler: UpstreamHandler = {
      onConnect() {},
      onHeaders(status, headers, resume) {
        outcome.status = status;
        outcome.headers = headers;
        resumeFn = resume;
        return true;
      },
      onData(chunk) {
        outcome.body += chunk.toString('latin1');
        if (pauses > 0) {
          pauses--;
          setTimeout(() => resumeFn!(), 20);
          return false;
        }
        return true;
      },
      onComplete() {
        resolve(outcome);
      },
      onError(err) {
        outcome.error = err;
        resolve(outcome);
      },
    };
    p.dispatch(
      { path: '/', method: 'GET', headers: ['Host', 'example.test'], body: null, ...request },
      handler,
    );
  });
}

/** Every byte of a response as its own write. */
function bytewise(s: string): string[] {
  return [...s];
}

test('Content-Length response split at every byte; the connection is reused', async () => {
  const srv = await rawServer(() => bytewise('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello'));
  const p = pool(srv.port);
  try {
    const a = await send(p);
    assert.equal(a.error, null);
    assert.equal(a.status, 200);
    assert.deepEqual(a.headers, ['Content-Length', '5', 'X-A', 'b']);
    assert.equal(a.body, 'hello');
    const b = await send(p);
    assert.equal(b.body, 'hello');
    assert.equal(srv.received.connections.length, 1);
    assert.match(srv.received.connections[0]!, /^GET \/ HTTP\/1\.1\r\nHost: example\.test\r\n\r\n/);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('chunked response with extensions and trailers, byte by byte; reused after the last chunk', async () => {
  const srv = await rawServer(() =>
    bytewise(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n',
    ),
  );
  const p = pool(srv.port);
  try {
    const a = await send(p);
    assert.equal(a.error, null);
    assert.equal(a.body, 'hello0123456789');
    const b = await send(p);
    assert.equal(b.body, 'hello0123456789');
    assert.equal(srv.received.connections.length, 1);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('a response without framing is read until the target closes, and the connection is not reused', async () => {
  const srv = await rawServer(() => [
    'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n',
    'part1 ',
    'part2',
    'CLOSE',
  ]);
  const p = pool(srv.port);
  try {
    const a = await send(p);
    assert.equal(a.error, null);
    assert.equal(a.body, 'part1 part2');
    const b = await send(p);
    assert.equal(b.body, 'part1 part2');
    assert.equal(srv.received.connections.length, 2);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('1xx responses are skipped; HEAD, 204 and 304 have no body; Connection: close is honoured', async () => {
  const srv = await rawServer((req) => {
    if (req.startsWith('HEAD')) return ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n'];
    if (req.includes('/204')) return ['HTTP/1.1 204 No Content\r\n\r\n'];
    if (req.includes('/304')) return ['HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n'];
    if (req.includes('/close'))
      return ['HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok'];
    return [
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n',
      'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nhi',
    ];
  });
  const p = pool(srv.port);
  try {
    const a = await send(p);
    assert.equal(a.status, 201);
    assert.equal(a.body, 'hi');
    assert.equal((await send(p, { method: 'HEAD' })).body, '');
    assert.equal((await send(p, { path: '/204' })).status, 204);
    assert.equal((await send(p, { path: '/304' })).status, 304);
    assert.equal(srv.received.connections.length, 1, 'all of these reuse one connection');
    assert.equal((await send(p, { path: '/close' })).body, 'ok');
    assert.equal((await send(p)).body, 'hi');
    assert.equal(srv.received.connections.length, 2, 'Connection: close ends the reuse');
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('ambiguous or malformed framing fails the request instead of guessing', async () => {
  const cases: Record<string, string> = {
    '/cl-te': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    '/two-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
    '/bad-cl': 'HTTP/1.1 200 OK\r\nContent-Length: 3x\r\n\r\nabc',
    '/bad-chunk': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n',
    '/no-crlf': 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n0\r\n\r\n',
    '/space-name': 'HTTP/1.1 200 OK\r\nContent-Length : 3\r\n\r\nabc',
    '/folded': 'HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n',
    '/status': 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n',
    '/switch': 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n',
    '/bare-lf': 'HTTP/1.1 200 OK\r\nX-A: a\nContent-Length: 0\r\n\r\n',
    '/bare-cr': 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n',
    '/nul': 'HTTP/1.1 200 OK\r\nX-A: a\0b\r\nContent-Length: 0\r\n\r\n',
    '/no-colon': 'HTTP/1.1 200 OK\r\nX-A a\r\nContent-Length: 0\r\n\r\n',
    '/empty-name': 'HTTP/1.1 200 OK\r\n: a\r\nContent-Length: 0\r\n\r\n',
  };
  const srv = await rawServer((req) => [cases[/^GET (\S+)/.exec(req)![1]!]!]);
  const p = pool(srv.port);
  try {
    for (const path of Object.keys(cases)) {
      const r = await send(p, { path });
      assert.equal(r.error?.code, 'UND_ERR_PROTOCOL', `${path}: ${r.error?.message} status ${r.status}`);
    }
    assert.equal(
      srv.received.connections.length,
      Object.keys(cases).length,
      'a failed connection is never reused',
    );
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('header values lose surrounding spaces and tabs only; a status line without a reason phrase is fine', async () => {
  const srv = await rawServer(() => [
    'HTTP/1.1 200\r\nX-A: \t spaced  value \t\r\nX-B:tight\r\nX-C:\r\nContent-Length: 2\r\n\r\nok',
  ]);
  const p = pool(srv.port);
  try {
    const r = await send(p);
    assert.equal(r.error, null);
    assert.equal(r.status, 200);
    assert.deepEqual(r.headers, ['X-A', 'spaced  value', 'X-B', 'tight', 'X-C', '', 'Content-Length', '2']);
    assert.equal(r.body, 'ok');
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('bytes after a complete response make the connection unusable, not the next response', async () => {
  const srv = await rawServer((_req, i) =>
    i === 0
      ? ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nevil']
      : ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ngood'],
  );
  const p = pool(srv.port);
  try {
    assert.equal((await send(p)).body, 'ok');
    const b = await send(p);
    assert.equal(b.body, 'good');
    assert.equal(srv.received.connections.length, 2);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('errors carry the codes the proxy retries and ejects by', async () => {
  const closed = await rawServer(() => null);
  const port = closed.port;
  closed.close();
  const refused = pool(port);
  assert.equal((await send(refused)).error?.code, 'ECONNREFUSED');
  await refused.destroy();

  const silent = await rawServer(() => null);
  const slow = pool(silent.port, { headersTimeoutMs: 150 });
  const started = Date.now();
  const r = await send(slow);
  assert.equal(r.error?.code, 'UND_ERR_HEADERS_TIMEOUT');
  assert.ok(Date.now() - started < 2_000);
  await slow.destroy();
  silent.close();

  const hangup = await rawServer(() => ['CLOSE']);
  const p = pool(hangup.port);
  assert.equal((await send(p)).error?.code, 'ECONNRESET', 'closed before any byte: the retryable reset');
  await p.destroy();
  hangup.close();

  const cut = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', 'CLOSE']);
  const q = pool(cut.port);
  assert.equal((await send(q)).error?.code, 'UND_ERR_SOCKET');
  await q.destroy();
  cut.close();

  const closedPool = pool(port);
  await closedPool.destroy();
  assert.equal((await send(closedPool)).error?.code, 'UND_ERR_CLOSED');
});

test('a header value with CR or LF is refused before anything is sent', async () => {
  const srv = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
  const p = pool(srv.port);
  try {
    const r = await send(p, { headers: ['Host', 'a', 'X-Evil', 'x\r\nInjected: 1'] });
    assert.equal(r.error?.code, 'UND_ERR_INVALID_ARG');
    assert.ok(!srv.received.connections.join('').includes('Injected'));
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('an idle connection the target closed is replaced, not used', async () => {
  const srv = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'CLOSE']);
  const p = pool(srv.port);
  try {
    assert.equal((await send(p)).body, 'ok');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(p.size, 0);
    assert.equal((await send(p)).body, 'ok');
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('request bodies: streamed chunked without a length, raw with one, Buffer bodies get a length', async () => {
  const srv = await rawServer(() => ['HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n']);
  const p = pool(srv.port);
  try {
    const chunked = new PassThrough();
    const done = send(p, { method: 'POST', body: chunked });
    chunked.write('abc');
    setTimeout(() => chunked.end('defgh'), 20);
    assert.equal((await done).status, 200);
    const withLength = new PassThrough();
    const done2 = send(p, { method: 'PUT', headers: ['Host', 'h', 'Content-Length', '4'], body: withLength });
    withLength.end('wxyz');
    assert.equal((await done2).status, 200);
    assert.equal((await send(p, { method: 'POST', body: Buffer.from('12345') })).status, 200);
    assert.equal((await send(p, { method: 'POST' })).status, 200);
    const raw = srv.received.connections.join('');
    assert.match(
      raw,
      /^POST \/ HTTP\/1\.1\r\nHost: example\.test\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n/,
    );
    assert.match(raw, /PUT \/ HTTP\/1\.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nwxyzPOST/);
    assert.match(
      raw,
      /content-length: 5\r\n\r\n12345POST \/ HTTP\/1\.1\r\nHost: example\.test\r\ncontent-length: 0\r\n\r\n$/,
    );
    assert.equal(srv.received.connections.length, 1);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('a handler that returns false gets no more data until it resumes', async () => {
  const srv = await rawServer(() => [
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n',
    '3\r\nabc\r\n3\r\ndef\r\n3\r\nghi\r\n0\r\n\r\n',
  ]);
  const p = pool(srv.port);
  try {
    const r = await send(p, {}, 2);
    assert.equal(r.error, null);
    assert.equal(r.body, 'abcdefghi');
    assert.equal((await send(p)).body, 'abcdefghi');
    assert.equal(srv.received.connections.length, 1);
  } finally {
    await p.destroy();
    srv.close();
  }
});

test('requests beyond the connection limit wait for a free connection', async () => {
  const srv = await rawServer((_req, i) => [`HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n${i % 10}`]);
  const p = pool(srv.port, { connections: 2 });
  try {
    const all = await Promise.all(Array.from({ length: 10 }, () => send(p)));
    assert.ok(all.every((r) => r.status === 200 && r.error === null));
    assert.equal(srv.received.connections.length, 2);
  } finally {
    await p.destroy();
    srv.close();
  }
});
