// The fast HTTP/1.1 front end on its own: requests it serves, connections it
// hands to node:http (unread bytes included), its timeouts and its shutdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { FastHttp1Server, type FastHttp1Limits } from '../../src/server/http1/server.js';
import type { RawRequest, RawResponse } from '../../src/server/http1/message.js';

const LIMITS: FastHttp1Limits = {
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
  maxHeaderSize: 8 * 1024,
  maxConnections: 100,
};

interface Harness {
  port: number;
  fast: FastHttp1Server;
  accepted: number;
  close(): Promise<void>;
}

type Handler = (req: RawRequest, res: RawResponse) => void;

/** Answers "fast METHOD URL body=BODY" with a Content-Length. */
const echo: Handler = (req, res) => {
  const reply = (body: string): void => {
    const text = `fast ${req.method} ${req.url} body=${body}`;
    res.writeHead(200, ['Content-Type', 'text/plain', 'Content-Length', String(Buffer.byteLength(text))]);
    res.end(text);
  };
  if (req.body === null) return reply('');
  let body = '';
  req.body.on('data', (d: Buffer) => (body += d));
  req.body.on('end', () => reply(body));
};

async function start(handler: Handler = echo, limits: Partial<FastHttp1Limits> = {}): Promise<Harness> {
  const all = { ...LIMITS, ...limits };
  const node = http.createServer(
    {
      headersTimeout: all.headersTimeoutMs,
      requestTimeout: all.requestTimeoutMs,
      keepAliveTimeout: all.keepAliveTimeoutMs,
      maxHeaderSize: all.maxHeaderSize,
      connectionsCheckingInterval: 100,
      requireHostHeader: true,
    },
    (req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d));
      req.on('end', () => res.end(`node ${req.method} ${req.url} body=${body}`));
    },
  );
  node.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    const status =
      err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    if (socket.writable) socket.end(`HTTP/1.1 ${status} x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  const h = { accepted: 0 } as Harness;
  const fast = new FastHttp1Server(all, node, handler, () => h.accepted++);
  await new Promise<void>((resolve) => fast.server.listen(0, '127.0.0.1', resolve));
  h.port = (fast.server.address() as AddressInfo).port;
  h.fast = fast;
  h.close = async () => {
    fast.close();
    node.close();
    fast.closeAllConnections();
    node.closeAllConnections();
  };
  return h;
}

/** Writes each part (with a pause between) and collects everything until the server closes. */
function exchange(
  port: number,
  parts: Array<string | Buffer>,
  o: { gapMs?: number; waitMs?: number } = {},
): Promise<{ reply: string; closedAfter: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const s = net.connect(port, '127.0.0.1');
    let reply = '';
    s.on('data', (d) => (reply += d.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => resolve({ reply, closedAfter: Date.now() - started }));
    s.on('connect', async () => {
      for (const p of parts) {
        if (!s.writable) break;
        s.write(p);
        if (o.gapMs) await new Promise((r) => setTimeout(r, o.gapMs));
      }
    });
    setTimeout(() => s.destroy(), o.waitMs ?? 5_000).unref();
  });
}

/** Bodies of the responses in a reply stream, in order (Content-Length or chunked). */
function bodies(reply: string): string[] {
  const out: string[] = [];
  let rest = reply;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    const head = rest.slice(0, end);
    rest = rest.slice(end + 4);
    const cl = /\r\ncontent-length: (\d+)/i.exec(head);
    if (cl !== null) {
      out.push(rest.slice(0, Number(cl[1])));
      rest = rest.slice(Number(cl[1]));
    } else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      let body = '';
      for (;;) {
        const nl = rest.indexOf('\r\n');
        const size = parseInt(rest.slice(0, nl), 16);
        rest = rest.slice(nl + 2);
        if (size === 0) {
          rest = rest.slice(2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
      out.push(body);
    } else out.push('');
  }
  assert.equal(rest, '', 'nothing but whole responses');
  return out;
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x.com\r\n${extra}\r\n`;

test('pipelined requests in one packet are answered one by one, in order; Connection: close ends it', async () => {
  const h = await start();
  try {
    const r = await exchange(h.port, [
      GET('/a') +
        'POST /b HTTP/1.1\r\nHost: x.com\r\nContent-Length: 5\r\n\r\nhello' +
        GET('/c') +
        GET('/d', 'Connection: close\r\n') +
        GET('/never'),
    ]);
    assert.deepEqual(bodies(r.reply), [
      'fast GET /a body=',
      'fast POST /b body=hello',
      'fast GET /c body=',
      'fast GET /d body=',
    ]);
    assert.match(r.reply, /Connection: keep-alive\r\nKeep-Alive: timeout=60\r\n/);
    assert.match(r.reply.slice(r.reply.lastIndexOf('HTTP/1.1')), /\r\nConnection: close\r\n/);
    assert.ok(r.closedAfter < 3_000);
    assert.equal(h.accepted, 1);
  } finally {
    await h.close();
  }
});

test('a head and a body split across many packets are put together', async () => {
  const h = await start();
  try {
    const text =
      'POST /split?q=1 HTTP/1.1\r\nHost: x.com\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789';
    const parts = [...text].map((c) => c);
    const r = await exchange(h.port, parts, { gapMs: 2 });
    assert.deepEqual(bodies(r.reply), ['fast POST /split?q=1 body=0123456789']);
  } finally {
    await h.close();
  }
});

test('a long head trickled in small pieces behind a pipelined request is read whole, at every split', async () => {
  // Pieces of 7 bytes put the CR LF CR LF across piece boundaries; the second head grows while
  // the first request is answered, then after (the stored bytes grow in place, never rescanned).
  const h = await start();
  try {
    const filler = Array.from({ length: 60 }, (_, i) => `X-Filler-${i}: ${'v'.repeat(60)}\r\n`).join('');
    const second = `GET /long HTTP/1.1\r\nHost: x.com\r\n${filler}Connection: close\r\n\r\n`;
    const parts = [GET('/first')];
    for (let i = 0; i < second.length; i += 7) parts.push(second.slice(i, i + 7));
    const r = await exchange(h.port, parts, { gapMs: 0.2 });
    assert.deepEqual(bodies(r.reply), ['fast GET /first body=', 'fast GET /long body=']);
  } finally {
    await h.close();
  }
});

test('at the first request it does not handle, the connection goes to node:http with every unread byte', async () => {
  const h = await start();
  try {
    const r = await exchange(h.port, [
      GET('/fast') +
        'POST /chunked HTTP/1.1\r\nHost: x.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' +
        GET('/after', 'Connection: close\r\n'),
    ]);
    assert.deepEqual(bodies(r.reply), [
      'fast GET /fast body=',
      'node POST /chunked body=abc',
      'node GET /after body=',
    ]);
    for (const first of [
      'GET / HTTP/1.0\r\nHost: x.com\r\n\r\n',
      'POST /e HTTP/1.1\r\nHost: x.com\r\nContent-Length: 2\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nok',
    ]) {
      const one = await exchange(h.port, [first]);
      assert.match(one.reply, /^HTTP\/1\.1 (100 Continue\r\n\r\nHTTP\/1\.1 )?200 OK[\s\S]*\r\n\r\nnode /);
    }
  } finally {
    await h.close();
  }
});

test('malformed and oversized heads get node:http answers (400, 431), never the handler', async () => {
  let handled = 0;
  const h = await start((req, res) => {
    handled++;
    echo(req, res);
  });
  try {
    const smuggle = await exchange(h.port, [
      'POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x.com\r\n\r\n',
    ]);
    assert.match(smuggle.reply, /^HTTP\/1\.1 400/);
    const noHost = await exchange(h.port, ['GET / HTTP/1.1\r\n\r\n']);
    assert.match(noHost.reply, /^HTTP\/1\.1 400/);
    const big = await exchange(h.port, [
      `GET / HTTP/1.1\r\nHost: x.com\r\nX-Big: ${'a'.repeat(16 * 1024)}\r\n\r\n`,
    ]);
    assert.match(big.reply, /^HTTP\/1\.1 431/);
    assert.equal(handled, 0);
  } finally {
    await h.close();
  }
});

test('responses: chunked without a length, no body for HEAD, 204 and 304, Date added once', async () => {
  const h = await start((req, res) => {
    if (req.url === '/stream') {
      res.writeHead(200, ['Content-Type', 'text/plain']);
      res.flushHeaders();
      res.write(Buffer.from('one,'));
      setTimeout(() => res.end(Buffer.from('two')), 10);
    } else if (req.url === '/204') {
      res.writeHead(204, {});
      res.end();
    } else if (req.url === '/304') {
      res.writeHead(304, { etag: '"x"', date: 'Thu, 01 Jan 2026 00:00:00 GMT' });
      res.end();
    } else {
      res.writeHead(200, ['Content-Length', '5']);
      res.end(req.method === 'HEAD' ? undefined : Buffer.from('hello'));
    }
  });
  try {
    const r = await exchange(h.port, [
      GET('/stream') +
        'HEAD /h HTTP/1.1\r\nHost: x.com\r\n\r\n' +
        GET('/204') +
        GET('/304') +
        GET('/last', 'Connection: close\r\n'),
    ]);
    const heads = r.reply.split('HTTP/1.1 ').slice(1);
    assert.match(
      heads[0]!,
      /^200 OK\r\n[\s\S]*Transfer-Encoding: chunked\r\n[\s\S]*\r\n4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\n$/,
    );
    assert.match(heads[1]!, /^200 OK\r\nContent-Length: 5\r\n[\s\S]*\r\n\r\n$/, 'HEAD: length, no body');
    assert.match(heads[2]!, /^204 No Content\r\n[\s\S]*\r\n\r\n$/);
    assert.doesNotMatch(heads[2]!, /Transfer-Encoding/);
    assert.match(heads[3]!, /^304 Not Modified\r\netag: "x"\r\ndate: Thu, 01 Jan 2026[^\r]*\r\n(?!Date)/);
    assert.equal(heads[3]!.match(/date:/gi)!.length, 1);
    assert.match(
      heads[4]!,
      /^200 OK\r\nContent-Length: 5\r\nDate: [^\r]+ GMT\r\nConnection: close\r\n\r\nhello$/,
    );
  } finally {
    await h.close();
  }
});

test('a response with Connection: close closes the connection after it; a short body is never reused', async () => {
  const h = await start((req, res) => {
    if (req.url === '/close') res.writeHead(400, { connection: 'close', 'content-length': '2' }).end('no');
    else res.writeHead(200, { 'content-length': '10' }).end('short');
  });
  try {
    const closed = await exchange(h.port, [GET('/close') + GET('/never')]);
    assert.deepEqual(bodies(closed.reply), ['no']);
    assert.match(closed.reply, /\r\nConnection: close\r\n/);
    const short = await exchange(h.port, [GET('/short') + GET('/never')]);
    assert.match(short.reply, /short$/);
    assert.doesNotMatch(short.reply, /never/);
  } finally {
    await h.close();
  }
});

test('invalid response header values are refused before anything is sent', async () => {
  const h = await start((req, res) => {
    assert.throws(() => res.writeHead(200, ['X-Bad', 'a\r\nInjected: 1']));
    assert.equal(res.headersSent, false);
    res.writeHead(502, ['Content-Length', '0', 'Connection', 'close']).end();
  });
  try {
    const r = await exchange(h.port, [GET('/')]);
    assert.match(r.reply, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.doesNotMatch(r.reply, /Injected/);
  } finally {
    await h.close();
  }
});

test('a response ended before its request body was read drops the body and serves the next request', async () => {
  const h = await start((req, res) => {
    if (req.url === '/ignore') res.writeHead(404, { 'content-length': '4' }).end('nope');
    else echo(req, res);
  });
  try {
    const r = await exchange(
      h.port,
      [
        'POST /ignore HTTP/1.1\r\nHost: x.com\r\nContent-Length: 20\r\n\r\n0123456789',
        '0123456789' + GET('/next', 'Connection: close\r\n'),
      ],
      { gapMs: 50 },
    );
    assert.deepEqual(bodies(r.reply), ['nope', 'fast GET /next body=']);
  } finally {
    await h.close();
  }
});

test('slow heads get 408, slow bodies get 408, idle keep-alive connections close quietly', async () => {
  let served = 0;
  const h = await start(
    (req, res) => {
      served++;
      echo(req, res);
    },
    { headersTimeoutMs: 300, requestTimeoutMs: 600, keepAliveTimeoutMs: 400 },
  );
  try {
    const [slowHead, slowBody, idle, silent] = await Promise.all([
      exchange(h.port, ['GET / HTTP/1.1\r\n', 'Host: x.com\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n'], {
        gapMs: 150,
      }),
      exchange(h.port, ['POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: 100\r\n\r\n', ...'abcdefghij'], {
        gapMs: 100,
      }),
      exchange(h.port, [GET('/one')]),
      exchange(h.port, []),
    ]);
    assert.match(slowHead.reply, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(slowHead.closedAfter < 2_500, `slow head closed after ${slowHead.closedAfter} ms`);
    assert.match(slowBody.reply, /^HTTP\/1\.1 408 Request Timeout\r\n/);
    assert.ok(slowBody.closedAfter < 2_500, `slow body closed after ${slowBody.closedAfter} ms`);
    assert.deepEqual(bodies(idle.reply), ['fast GET /one body=']);
    assert.ok(
      idle.closedAfter >= 350 && idle.closedAfter < 2_500,
      `idle closed after ${idle.closedAfter} ms`,
    );
    assert.match(silent.reply, /^(HTTP\/1\.1 408|)/);
    assert.ok(silent.closedAfter < 2_500);
    assert.equal(served, 2, 'the slow body and /one reached the handler, the slow head never did');
  } finally {
    await h.close();
  }
});

test('a client that goes away mid-request closes the response; shutdown closes idle connections and ends in-flight ones', async () => {
  let pending: RawResponse | null = null;
  let closedEvents = 0;
  const h = await start((req, res) => {
    res.on('close', () => closedEvents++);
    if (req.url === '/hold') pending = res;
    else echo(req, res);
  });
  try {
    const gone = net.connect(h.port, '127.0.0.1');
    gone.on('error', () => undefined);
    gone.write(GET('/hold'));
    for (let i = 0; pending === null && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    gone.destroy();
    for (let i = 0; closedEvents === 0 && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(closedEvents, 1, 'the response learns the client left');

    pending = null;
    const inflight = exchange(h.port, [GET('/hold')]);
    const idle = exchange(h.port, [GET('/idle')]);
    for (let i = 0; pending === null && i < 100; i++) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 50));
    h.fast.close();
    h.fast.closeIdleConnections();
    const idleDone = await idle;
    assert.deepEqual(bodies(idleDone.reply), ['fast GET /idle body=']);
    (pending as unknown as RawResponse).writeHead(200, { 'content-length': '4' }).end('done');
    const r = await inflight;
    assert.match(r.reply, /\r\nConnection: close\r\n\r\ndone$/, 'the in-flight response ends its connection');
  } finally {
    await h.close();
  }
});

test('the request body is a stream with backpressure: a paused reader stops the socket', async () => {
  let received = 0;
  const size = 4 * 1024 * 1024;
  const h = await start((req, res) => {
    const body = req.body!;
    body.pause();
    setTimeout(() => {
      body.on('data', (d: Buffer) => (received += d.length));
      body.on('end', () =>
        res.writeHead(200, { 'content-length': String(received.toString().length) }).end(String(received)),
      );
      body.resume();
    }, 200);
  });
  try {
    const r = await exchange(h.port, [
      `POST / HTTP/1.1\r\nHost: x.com\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`,
      Buffer.alloc(size, 'z'),
    ]);
    assert.deepEqual(bodies(r.reply), [String(size)]);
  } finally {
    await h.close();
  }
});

test('a flood of pipelined requests is answered completely and in order (reading pauses while they wait)', async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const h = await start((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setImmediate(() => {
      inFlight--;
      echo(req, res);
    });
  });
  try {
    const n = 3_000;
    let data = '';
    for (let i = 0; i < n; i++)
      data += GET(`/${i}`, i === n - 1 ? 'Connection: close\r\n' : 'X-Pad: ' + 'p'.repeat(40) + '\r\n');
    const r = await exchange(h.port, [data], { waitMs: 20_000 });
    const got = bodies(r.reply);
    assert.equal(got.length, n);
    got.forEach((b, i) => assert.equal(b, `fast GET /${i} body=`));
    assert.equal(maxInFlight, 1, 'one request at a time per connection');
  } finally {
    await h.close();
  }
});
