import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend, freePort } from './support/backend.js';
import { deployArgs, request, startTestProxy, waitFor } from './support/proxy.js';

test('round-robin across several targets; an unhealthy one leaves the pool and comes back', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const c = await startBackend('c');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [a.name, b.name, c.name]));
    const seen = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push((await request(proxy.httpPort, '/')).body.split(' ')[0]!);
      return out;
    };
    const first = await seen(6);
    assert.deepEqual([...new Set(first)].sort(), ['a', 'b', 'c']);
    assert.equal(first.filter((x) => x === 'a').length, 2);

    b.healthy = false;
    const targetB = proxy.router.services.get('app')!.active!.writers[1]!;
    await waitFor(() => targetB.state === 'unhealthy', 2_000, 'b unhealthy');
    assert.ok(!(await seen(6)).includes('b'));

    b.healthy = true;
    await waitFor(() => targetB.state === 'healthy', 2_000, 'b healthy again');
    assert.ok((await seen(6)).includes('b'));
  } finally {
    await proxy.stop();
    for (const x of [a, b, c]) await x.close();
  }
});

test('a target that refuses connections is ejected and idempotent requests retry on another target', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const proxy = await startTestProxy();
  try {
    // Slow health checks so the passive ejection is what we observe.
    await proxy.call('Deploy', deployArgs('app', [a.name, b.name], { healthCheck: { intervalMs: 60_000 } }));
    await a.close();
    const statuses: number[] = [];
    const bodies: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await request(proxy.httpPort, '/');
      statuses.push(r.status);
      bodies.push(r.body);
    }
    assert.deepEqual([...new Set(statuses)], [200], 'no client saw the refused connection');
    assert.ok(bodies.every((x) => x.startsWith('b ')));
    const targetA = proxy.router.services.get('app')!.active!.writers[0]!;
    assert.equal(targetA.state, 'unhealthy');
    assert.match(targetA.lastResult!.detail, /connection refused/);
  } finally {
    await proxy.stop();
    await b.close();
  }
});

test('a request that fails before any response is retried once when idempotent, never when not', async () => {
  let hits = 0;
  const boom = (req: http.IncomingMessage): void => {
    hits++;
    req.socket.destroy();
  };
  const a = await startBackend('a', boom);
  const b = await startBackend('b', boom);
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [a.name, b.name]));
    assert.equal((await request(proxy.httpPort, '/boom')).status, 502);
    assert.equal(hits, 2, 'GET tried on both targets');
    hits = 0;
    assert.equal((await request(proxy.httpPort, '/boom', { method: 'POST', body: 'x' })).status, 502);
    assert.equal(hits, 1, 'POST not retried');
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});

test('with one target, an idempotent request whose connection was reset is retried once on a new connection', async () => {
  let hits = 0;
  const flaky = await startBackend('flaky', (req, res) => {
    hits++;
    if (req.url === '/always') return void req.socket.destroy();
    if (hits % 2 === 1) return void req.socket.destroy();
    res.end('second try');
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [flaky.name]));
    const r = await request(proxy.httpPort, '/');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'second try');
    hits = 0;
    assert.equal((await request(proxy.httpPort, '/always')).status, 502);
    assert.equal(hits, 2, 'one retry, not more');
    hits = 0;
    assert.equal((await request(proxy.httpPort, '/', { method: 'POST', body: 'x' })).status, 502);
    assert.equal(hits, 1, 'POST not retried');
  } finally {
    await proxy.stop();
    await flaky.close();
  }
});

test('a single target that stops answering leaves the pool: 503 until it is healthy again', async () => {
  const port = await freePort();
  const live = await startBackend('live');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [live.name]));
    await proxy.call('Deploy', deployArgs('app', [`127.0.0.1:${port}`], { deployment: { force: true } }));
    const target = proxy.router.services.get('app')!.active!.writers[0]!;
    await waitFor(() => target.state === 'unhealthy', 2_000, 'dead target checked');
    assert.equal((await request(proxy.httpPort, '/')).status, 503);
  } finally {
    await proxy.stop();
    await live.close();
  }
});

test('read targets take GET/HEAD; writes set the writer-affinity cookie that pins reads to writers', async () => {
  const writer = await startBackend('writer');
  const reader = await startBackend('reader');
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [writer.name], {
        readers: [reader.name],
        service: { writerAffinityTimeoutMs: 2_000 },
      }),
    );
    assert.match((await request(proxy.httpPort, '/')).body, /^reader/);
    const post = await request(proxy.httpPort, '/', { method: 'POST', body: 'x' });
    assert.match(post.body, /^writer/);
    const cookie = String(post.headers['set-cookie']);
    assert.match(cookie, /^kamal-writer=\d+; Path=\/; Max-Age=2; HttpOnly$/);
    const pinned = await request(proxy.httpPort, '/', { headers: { cookie: cookie.split(';')[0]! } });
    assert.match(pinned.body, /^writer/);
    const expired = await request(proxy.httpPort, '/', {
      headers: { cookie: `kamal-writer=${Date.now() - 1}` },
    });
    assert.match(expired.body, /^reader/);
  } finally {
    await proxy.stop();
    await writer.close();
    await reader.close();
  }
});

test('the target timeout gives 504', async () => {
  const slow = await startBackend('slow', (_req, res) => {
    setTimeout(() => res.end('late'), 1_000);
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [slow.name], { target: { responseTimeoutMs: 200 } }));
    const r = await request(proxy.httpPort, '/');
    assert.equal(r.status, 504);
    assert.match(r.body, /504/);
  } finally {
    await proxy.stop();
    await slow.close();
  }
});

test('a client that goes away is logged as 499 and the upstream request is cancelled', async () => {
  let upstreamClosed = false;
  const slow = await startBackend('slow', (req) => {
    req.socket.on('close', () => (upstreamClosed = true));
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [slow.name]));
    const req = http.request({
      host: '127.0.0.1',
      port: proxy.httpPort,
      path: '/gone',
      headers: { host: 'x.com' },
    });
    req.on('error', () => undefined);
    req.end();
    await waitFor(() => slow.seen.some((s) => s.url === '/gone'), 2_000, 'request reached target');
    req.destroy();
    await waitFor(() => proxy.logs.some((l) => l.includes('"path":"/gone"')), 2_000, 'log line');
    proxy.logger.flush();
    const line = JSON.parse(proxy.logs.find((l) => l.includes('"path":"/gone"'))!);
    assert.equal(line.status, 499);
    await waitFor(() => upstreamClosed, 2_000, 'upstream cancelled');
  } finally {
    await proxy.stop();
    await slow.close();
  }
});
