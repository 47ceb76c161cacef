import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { startBackend, freePort } from './support/backend.js';
import { deployArgs, request, sleep, startTestProxy, waitFor } from './support/proxy.js';

test('deploy routes requests to the target with forwarding headers', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const res = await request(proxy.httpPort, '/hello?x=1', { host: 'example.com' });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'v1 GET /hello?x=1');
    const seen = backend.seen.at(-1)!;
    assert.equal(seen.headers.host, 'example.com');
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], 'example.com');
    assert.equal(seen.headers['x-kamal-target'], backend.name);
    assert.match(String(seen.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    assert.match(String(seen.headers['x-request-start']), /^t=\d{13}$/);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('forward headers: incoming X-Forwarded-* kept and appended when enabled, replaced when not', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const headers = {
      'x-forwarded-for': '10.10.10.10',
      'x-forwarded-proto': 'https',
      'x-request-id': 'abc',
      'x-request-start': 't=1',
      'x-kamal-target': 'edge',
    };
    await request(proxy.httpPort, '/', { headers });
    let seen = backend.seen.at(-1)!;
    assert.equal(seen.headers['x-kamal-target'], `edge, ${backend.name}`);
    assert.equal(seen.headers['x-forwarded-for'], '10.10.10.10, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-request-id'], 'abc');
    assert.equal(seen.headers['x-request-start'], 't=1');

    await proxy.call('Deploy', deployArgs('app', [backend.name], { target: { forwardHeaders: false } }));
    await request(proxy.httpPort, '/', { headers });
    seen = backend.seen.at(-1)!;
    assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-kamal-target'], backend.name);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a deploy whose target never becomes healthy fails with the last check result and keeps the old target', async () => {
  const good = await startBackend('good');
  const bad = await startBackend('bad');
  bad.healthy = false;
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [good.name]));
    await assert.rejects(
      proxy.call('Deploy', deployArgs('app', [bad.name], { deployment: { deployTimeoutMs: 300 } })),
      (err: Error) => {
        assert.match(err.message, /failed to become healthy within configured timeout \(300ms\)/);
        assert.match(err.message, /status 503: not ready yet/);
        assert.match(err.message, new RegExp(bad.name));
        return true;
      },
    );
    const res = await request(proxy.httpPort, '/');
    assert.equal(res.body, 'good GET /');

    const nothing = await freePort();
    await assert.rejects(
      proxy.call(
        'Deploy',
        deployArgs('app', [`127.0.0.1:${nothing}`], { deployment: { deployTimeoutMs: 300 } }),
      ),
      /connection refused/,
    );
    assert.equal((await request(proxy.httpPort, '/')).body, 'good GET /');
  } finally {
    await proxy.stop();
    await good.close();
    await bad.close();
  }
});

test('redeploy switches atomically and lets in-flight requests on the old target finish', async () => {
  let release: () => void = () => undefined;
  const v1 = await startBackend('v1', (req, res) => {
    if (req.url === '/slow') {
      release = () => res.end('v1 slow done');
      res.writeHead(200);
      return;
    }
    res.end('v1');
  });
  const v2 = await startBackend('v2');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    const slow = request(proxy.httpPort, '/slow');
    await waitFor(() => v1.seen.some((s) => s.url === '/slow'), 2_000, 'slow request');
    const deploying = proxy.call(
      'Deploy',
      deployArgs('app', [v2.name], { deployment: { drainTimeoutMs: 5_000 } }),
    );
    // The switch happens before the drain ends: new requests reach v2 at once.
    await waitFor(
      async () => (await request(proxy.httpPort, '/')).body.startsWith('v2'),
      3_000,
      'switch to v2',
    );
    let deployed = false;
    void deploying.then(() => (deployed = true));
    await sleep(100);
    assert.equal(deployed, false, 'deploy waits for the drain');
    release();
    assert.equal((await slow).body, 'v1 slow done');
    await deploying;
  } finally {
    await proxy.stop();
    await v1.close();
    await v2.close();
  }
});

test('requests still running at the end of the drain timeout get 504', async () => {
  const v1 = await startBackend('v1', (req, res) => {
    if (req.url === '/hang') return; // never answers
    res.end('v1');
  });
  const v2 = await startBackend('v2');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    const hung = request(proxy.httpPort, '/hang');
    await waitFor(() => v1.seen.some((s) => s.url === '/hang'), 2_000, 'hung request');
    const started = Date.now();
    await proxy.call('Deploy', deployArgs('app', [v2.name], { deployment: { drainTimeoutMs: 300 } }));
    assert.ok(Date.now() - started < 3_000);
    assert.equal((await hung).status, 504);
  } finally {
    await proxy.stop();
    await v1.close();
    await v2.close();
  }
});

test('old target idle upstream connections are closed after the drain', async () => {
  const v1 = await startBackend('v1');
  const v2 = await startBackend('v2');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    await request(proxy.httpPort, '/');
    const open = await new Promise<number>((r) => v1.server.getConnections((_e, n) => r(n)));
    assert.ok(open >= 1, 'a pooled upstream connection exists');
    await proxy.call('Deploy', deployArgs('app', [v2.name]));
    await waitFor(
      async () => (await new Promise<number>((r) => v1.server.getConnections((_e, n) => r(n)))) === 0,
      2_000,
      'old pool closed',
    );
  } finally {
    await proxy.stop();
    await v1.close();
    await v2.close();
  }
});

test('remove, list and 404 for unknown hosts', async () => {
  const a = await startBackend('a');
  const b = await startBackend('b');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app-a', [a.name], { service: { hosts: ['a.example.com'] } }));
    await proxy.call(
      'Deploy',
      deployArgs('app-b', [b.name], { service: { hosts: ['b.example.com'], pathPrefixes: ['/api'] } }),
    );
    assert.deepEqual(await proxy.call('List', {}), {
      'app-a': { host: 'a.example.com', path: '/', target: a.name, state: 'running', tls: false },
      'app-b': { host: 'b.example.com', path: '/api', target: b.name, state: 'running', tls: false },
    });
    assert.equal((await request(proxy.httpPort, '/', { host: 'c.example.com' })).status, 404);
    await proxy.call('Remove', { service: 'app-a' });
    assert.equal((await request(proxy.httpPort, '/', { host: 'a.example.com' })).status, 404);
    await assert.rejects(proxy.call('Remove', { service: 'app-a' }), /service not found: app-a/);
  } finally {
    await proxy.stop();
    await a.close();
    await b.close();
  }
});

test('state is written atomically and restored on start; restored targets serve, then get checked', async () => {
  const backend = await startBackend('v1');
  const first = await startTestProxy({}, undefined);
  const dir = first.dir;
  try {
    await first.call('Deploy', deployArgs('app', [backend.name], { service: { hosts: ['example.com'] } }));
    await first.call('Pause', { service: 'app', drainTimeoutMs: 100, pauseTimeoutMs: 1_000 });
    await first.call('Resume', { service: 'app' });
    assert.ok(existsSync(first.statePath!));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );
    const state = JSON.parse(readFileSync(first.statePath!, 'utf8'));
    assert.equal(state.services[0].name, 'app');
    assert.deepEqual(state.services[0].activeTargets, [backend.name]);
    await first.close();

    const second = await startTestProxy({}, dir);
    try {
      // Served at once, before any check has passed.
      const res = await request(second.httpPort, '/x');
      assert.equal(res.body, 'v1 GET /x');
      const target = second.router.services.get('app')!.active!.writers[0]!;
      await waitFor(() => target.state === 'healthy', 2_000, 'restored target checked');
      backend.healthy = false;
      await waitFor(() => target.state === 'unhealthy', 2_000, 'restored target marked unhealthy');
      assert.equal((await request(second.httpPort, '/x')).status, 503);
    } finally {
      await second.stop();
    }
  } finally {
    await first.stop();
    await backend.close();
  }
});

test('a second deploy of the same target list and keep-alive clients see no errors', async () => {
  const v1 = await startBackend('v1');
  const v2 = await startBackend('v2');
  const proxy = await startTestProxy();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    let stop = false;
    const statuses: number[] = [];
    const load = (async () => {
      while (!stop) statuses.push((await request(proxy.httpPort, '/', { agent })).status);
    })();
    await sleep(50);
    await proxy.call('Deploy', deployArgs('app', [v2.name]));
    await proxy.call('Deploy', deployArgs('app', [v1.name]));
    const during = statuses.length;
    await waitFor(() => statuses.length >= during + 10, 5_000, 'requests after the deploys');
    stop = true;
    await load;
    assert.ok(during > 0, 'requests ran during the deploys');
    assert.deepEqual([...new Set(statuses)], [200]);
  } finally {
    agent.destroy();
    await proxy.stop();
    await v1.close();
    await v2.close();
  }
});

test('HEAD, 204, 304 and repeated response headers pass through unchanged', async () => {
  const backend = await startBackend('v1', (req, res) => {
    if (req.url === '/empty') {
      res.writeHead(204, { 'x-a': '1' });
      res.end();
      return;
    }
    if (req.url === '/cached') {
      res.writeHead(304, { etag: '"abc"' });
      res.end();
      return;
    }
    res.setHeader('set-cookie', ['a=1; Path=/', 'b=2; Path=/']);
    res.setHeader('connection', 'keep-alive, x-private');
    res.setHeader('x-private', 'hop');
    res.setHeader('content-type', 'text/plain');
    res.end('body');
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const head = await request(proxy.httpPort, '/', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.body, '');
    const get = await request(proxy.httpPort, '/');
    assert.deepEqual(get.headers['set-cookie'], ['a=1; Path=/', 'b=2; Path=/']);
    assert.equal(get.headers['x-private'], undefined, 'headers named in Connection are dropped');
    assert.equal(get.body, 'body');
    const empty = await request(proxy.httpPort, '/empty');
    assert.equal(empty.status, 204);
    assert.equal(empty.headers['x-a'], '1');
    const cached = await request(proxy.httpPort, '/cached', { headers: { 'if-none-match': '"abc"' } });
    assert.equal(cached.status, 304);
    assert.equal(cached.headers.etag, '"abc"');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('health checks use --health-check-port and --health-check-host', async () => {
  const hosts: string[] = [];
  const checker = await startBackend('checker', (req, res) => {
    hosts.push(String(req.headers.host));
    res.end('ok');
  });
  // The app's own port fails its checks: only the check port can make it healthy.
  const app = await startBackend('app');
  app.healthy = false;
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [app.name], {
        healthCheck: { port: checker.port, host: 'health.internal', path: '/status' },
      }),
    );
    assert.equal((await request(proxy.httpPort, '/')).body, 'app GET /');
    assert.ok(checker.seen.some((r) => r.url === '/status' && r.headers['user-agent'] === 'kamal-proxy'));
    assert.ok(hosts.includes('health.internal'));
  } finally {
    await proxy.stop();
    await checker.close();
    await app.close();
  }
});

test('--client-ip-header feeds X-Forwarded-For and the log; --scope-cookie-paths rewrites cookie paths', async () => {
  const backend = await startBackend('v1', (_req, res) => {
    res.setHeader('set-cookie', ['s=1; Path=/', 'other=2; Path=/x; Domain=elsewhere.com', 'n=3']);
    res.end('ok');
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        service: { clientIpHeader: 'CF-Connecting-IP', pathPrefixes: ['/app'] },
        target: { scopeCookiePaths: true },
      }),
    );
    const r = await request(proxy.httpPort, '/app/page', { headers: { 'cf-connecting-ip': '203.0.113.7' } });
    assert.equal(backend.seen.at(-1)!.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.deepEqual(r.headers['set-cookie'], [
      's=1; Path=/app',
      'other=2; Path=/x; Domain=elsewhere.com',
      'n=3; Path=/app',
    ]);
    await waitFor(() => proxy.logs.some((l) => l.includes('"msg":"Request"')), 2_000, 'log');
    const line = JSON.parse(proxy.logs.find((l) => l.includes('"msg":"Request"'))!);
    assert.equal(line.remote_addr, '203.0.113.7');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a new target that is not healthy yet is re-checked soon (25 ms, doubling), then every interval once healthy', async () => {
  let checks = 0;
  let ready = false;
  const app = http.createServer((req, res) => {
    if (req.url === '/up') {
      checks++;
      res.writeHead(ready ? 200 : 503);
      res.end();
      return;
    }
    res.end('ok');
  });
  await new Promise<void>((r) => app.listen(0, '127.0.0.1', r));
  const target = `127.0.0.1:${(app.address() as { port: number }).port}`;
  const proxy = await startTestProxy();
  try {
    setTimeout(() => (ready = true), 300);
    const started = Date.now();
    // A 3 s interval: waiting for the next tick would take 3 s.
    await proxy.call('Deploy', deployArgs('app', [target], { healthCheck: { intervalMs: 3_000 } }));
    const waited = Date.now() - started;
    assert.ok(waited < 2_000, `healthy ${waited} ms after the deploy began, not at the next 3 s tick`);
    assert.ok(checks >= 3 && checks <= 12, `${checks} checks while the app was starting`);
    // Healthy now: back to the interval, no more quick re-checks.
    const after = checks;
    await sleep(1_000);
    assert.ok(checks - after <= 1, `${checks - after} checks in the second after the deploy`);
  } finally {
    await proxy.stop();
    await new Promise<void>((r) => app.close(() => r()));
  }
});
