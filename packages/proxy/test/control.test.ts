import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startBackend } from './support/backend.js';
import { deployArgs, request, sleep, startTestProxy, waitFor } from './support/proxy.js';
import { fnv32a, RolloutController } from '../src/rollout.js';

test('pause holds requests until resume; the health-check path keeps answering 200', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name], { service: { pathPrefixes: ['/app'] } }));
    await proxy.call('Pause', { service: 'app', drainTimeoutMs: 1_000, pauseTimeoutMs: 5_000 });
    let done = false;
    const held = request(proxy.httpPort, '/app/x').then((r) => {
      done = true;
      return r;
    });
    await sleep(150);
    assert.equal(done, false, 'request waits while paused');
    // Health path is compared after prefix stripping.
    const health = await request(proxy.httpPort, '/app/up');
    assert.equal(health.status, 200);
    assert.equal(health.body, '');
    await proxy.call('Resume', { service: 'app' });
    const r = await held;
    assert.equal(r.status, 200);
    assert.equal(r.body, 'v1 GET /x');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a pause longer than --max-pause sheds requests with 504; stop fails waiting requests with 503', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    await proxy.call('Pause', { service: 'app', drainTimeoutMs: 100, pauseTimeoutMs: 150 });
    assert.equal((await request(proxy.httpPort, '/')).status, 504);
    await proxy.call('Pause', { service: 'app', drainTimeoutMs: 100, pauseTimeoutMs: 5_000 });
    const waiting = request(proxy.httpPort, '/');
    await sleep(100);
    await proxy.call('Stop', { service: 'app', drainTimeoutMs: 100, message: 'Upgrading <now>' });
    const r = await waiting;
    assert.equal(r.status, 503);
    assert.match(r.body, /Upgrading &lt;now&gt;/);
    assert.equal((await request(proxy.httpPort, '/up')).status, 200);
    assert.deepEqual((await proxy.call('List', {}))['app']!.state, 'stopped');
    // Pause state survives a redeploy.
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    assert.equal((await request(proxy.httpPort, '/')).status, 503);
    await proxy.call('Resume', { service: 'app' });
    assert.equal((await request(proxy.httpPort, '/')).status, 200);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('stop uses the service error pages when given', async () => {
  const { mkdtempSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const pages = mkdtempSync(join(tmpdir(), 'pages-'));
  writeFileSync(join(pages, '503.html'), '<p>custom: {{ .Message }}</p>');
  const backend = await startBackend('v1');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name], { service: { errorPagePath: pages } }));
    await proxy.call('Stop', { service: 'app', drainTimeoutMs: 10, message: 'brb' });
    const r = await request(proxy.httpPort, '/');
    assert.equal(r.body, '<p>custom: brb</p>');
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    await assert.rejects(
      proxy.call(
        'Deploy',
        deployArgs('app', [backend.name], { service: { errorPagePath: '/nonexistent-pages' } }),
      ),
      /cannot read error pages directory \/nonexistent-pages/,
    );
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('rollout by cookie allowlist and by percentage', async () => {
  const stable = await startBackend('stable');
  const canary = await startBackend('canary');
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [stable.name]));
    await assert.rejects(
      proxy.call('RolloutSet', { service: 'app', percentage: 10, allowlist: [] }),
      /rollout target not set/,
    );
    await proxy.call('RolloutDeploy', {
      service: 'app',
      targets: [canary.name],
      readers: [],
      deployment: { deployTimeoutMs: 5_000, drainTimeoutMs: 1_000, force: false },
    });
    const who = async (cookie?: string): Promise<string> =>
      (await request(proxy.httpPort, '/', { headers: cookie ? { cookie } : {} })).body.split(' ')[0]!;
    assert.equal(await who('kamal-rollout=alice'), 'stable', 'no split until rollout set');
    await proxy.call('RolloutSet', { service: 'app', percentage: 0, allowlist: ['alice'] });
    assert.equal(await who('kamal-rollout=alice'), 'canary');
    assert.equal(await who('other=1; kamal-rollout=alice'), 'canary');
    assert.equal(await who('kamal-rollout=bob'), 'stable');
    assert.equal(await who(), 'stable');

    await proxy.call('RolloutSet', { service: 'app', percentage: 50, allowlist: [] });
    const values = Array.from({ length: 40 }, (_, i) => `user-${i}`);
    const controller = new RolloutController(50, []);
    for (const v of values) {
      assert.equal(await who(`kamal-rollout=${v}`), controller.usesRollout(v) ? 'canary' : 'stable');
    }
    const canaries = values.filter((v) => controller.usesRollout(v)).length;
    assert.ok(canaries > 5 && canaries < 35, `about half go to the canary (${canaries}/40)`);

    await proxy.call('RolloutStop', { service: 'app' });
    assert.equal(await who('kamal-rollout=alice'), 'stable');
  } finally {
    await proxy.stop();
    await stable.close();
    await canary.close();
  }
});

test('fnv32a matches the reference values', () => {
  assert.equal(fnv32a(''), 0x811c9dc5);
  assert.equal(fnv32a('a'), 0xe40c292c);
  assert.equal(fnv32a('foobar'), 0xbf9cf968);
});

test('access log: one JSON line per request with kamal-proxy fields, durations in ns and ms', async () => {
  const backend = await startBackend('v1', (_req, res) => {
    res.writeHead(201, { 'content-type': 'application/json', 'x-runtime': '0.1' });
    res.end('{"ok":true}');
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        target: { logRequestHeaders: ['Cache-Control'], logResponseHeaders: ['X-Runtime'] },
      }),
    );
    await request(proxy.httpPort, '/things?page=2', {
      method: 'POST',
      body: 'abc',
      headers: {
        'content-type': 'text/plain',
        'user-agent': 'tester',
        'cache-control': 'no-cache',
        'x-request-id': 'rid-1',
      },
    });
    await waitFor(() => proxy.logs.some((l) => l.includes('"msg":"Request"')), 2_000, 'log');
    const line = JSON.parse(proxy.logs.find((l) => l.includes('"msg":"Request"'))!);
    assert.equal(line.level, 'INFO');
    assert.equal(line.host, 'example.com');
    assert.equal(line.port, proxy.httpPort);
    assert.equal(line.path, '/things');
    assert.equal(line.query, 'page=2');
    assert.equal(line.request_id, 'rid-1');
    assert.equal(line.status, 201);
    assert.equal(line.service, 'app');
    assert.equal(line.target, backend.name);
    assert.equal(line.method, 'POST');
    assert.equal(line.req_content_length, 3);
    assert.equal(line.req_content_type, 'text/plain');
    assert.equal(line.resp_content_length, 11);
    assert.equal(line.resp_content_type, 'application/json');
    assert.equal(line.client_addr, '127.0.0.1');
    assert.match(line.client_port, /^\d+$/);
    assert.equal(line.remote_addr, '127.0.0.1');
    assert.equal(line.user_agent, 'tester');
    assert.equal(line.proto, 'HTTP/1.1');
    assert.equal(line.scheme, 'http');
    assert.equal(line.req_cache_control, 'no-cache');
    assert.equal(line.resp_x_runtime, '0.1');
    assert.ok(Number.isInteger(line.duration) && line.duration > 0);
    assert.ok(Math.abs(line.duration_ms - line.duration / 1e6) < 0.01);
    assert.ok(!Number.isNaN(Date.parse(line.time)));
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('Prometheus metrics count requests per service, method and status', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy({ metricsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], { service: { excludeMetricsPaths: ['/skip'] } }),
    );
    await request(proxy.httpPort, '/');
    await request(proxy.httpPort, '/');
    await request(proxy.httpPort, '/skip');
    await request(proxy.httpPort, '/', { method: 'PURGE' });
    const text = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: proxy.metricsPort!, path: '/metrics' }, (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    assert.match(text, /kamal_proxy_http_requests_total\{service="app",method="GET",status="200"\} 2\n/);
    assert.match(text, /kamal_proxy_http_requests_total\{service="app",method="OTHER",status="200"\} 1\n/);
    assert.match(
      text,
      /kamal_proxy_http_request_duration_seconds_bucket\{service="app",method="GET",status="200",le="\+Inf"\} 2\n/,
    );
    assert.match(text, /kamal_proxy_http_in_flight_requests\{service="app"\} 0\n/);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});
