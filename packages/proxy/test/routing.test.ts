import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startBackend, type Backend } from './support/backend.js';
import { deployArgs, request, startTestProxy, type TestProxy } from './support/proxy.js';
import { normalizeRequestHost } from '../src/router.js';

async function withServices(
  specs: Array<{ name: string; hosts?: string[]; paths?: string[]; strip?: boolean }>,
  fn: (proxy: TestProxy, backends: Map<string, Backend>) => Promise<void>,
): Promise<void> {
  const proxy = await startTestProxy();
  const backends = new Map<string, Backend>();
  try {
    for (const s of specs) {
      const b = await startBackend(s.name);
      backends.set(s.name, b);
      await proxy.call(
        'Deploy',
        deployArgs(s.name, [b.name], {
          service: { hosts: s.hosts ?? [], pathPrefixes: s.paths ?? [], stripPrefix: s.strip ?? true },
        }),
      );
    }
    await fn(proxy, backends);
  } finally {
    await proxy.stop();
    for (const b of backends.values()) await b.close();
  }
}

test('host precedence: exact, then one-label wildcard, then default; no fallback between tiers', async () => {
  await withServices(
    [
      { name: 'exact', hosts: ['app.example.com'] },
      { name: 'wild', hosts: ['*.example.com'], paths: ['/only'] },
      { name: 'default' },
    ],
    async (proxy) => {
      const body = async (host: string, path = '/'): Promise<string> => {
        const r = await request(proxy.httpPort, path, { host });
        return r.status === 200 ? r.body.split(' ')[0]! : String(r.status);
      };
      assert.equal(await body('app.example.com'), 'exact');
      assert.equal(await body('APP.Example.com:8080'), 'exact');
      assert.equal(await body('other.example.com', '/only/x'), 'wild');
      // The wildcard tier has bindings, so a path miss is a 404, not the default service.
      assert.equal(await body('other.example.com', '/elsewhere'), '404');
      // Wildcards match exactly one label.
      assert.equal(await body('a.b.example.com'), 'default');
      assert.equal(await body('example.com'), 'default');
      assert.equal(await body('unknown.test'), 'default');
    },
  );
});

test('longest path prefix wins, on segment boundaries, with stripping', async () => {
  await withServices(
    [
      { name: 'root', hosts: ['example.com'] },
      { name: 'api', hosts: ['example.com'], paths: ['/api'] },
      { name: 'apiv2', hosts: ['example.com'], paths: ['api/v2/'] },
      { name: 'nostrip', hosts: ['example.com'], paths: ['/keep'], strip: false },
    ],
    async (proxy) => {
      const get = async (path: string): Promise<string> => (await request(proxy.httpPort, path)).body;
      assert.equal(await get('/api'), 'api GET /');
      assert.equal(await get('/api/users?x=%zz&y'), 'api GET /users?x=%zz&y');
      assert.equal(await get('/api2'), 'root GET /api2');
      assert.equal(await get('/api/v2/things'), 'apiv2 GET /things');
      assert.equal(await get('/api/v22'), 'api GET /v22');
      assert.equal(await get('/keep/a'), 'nostrip GET /keep/a');
      assert.equal(await get('/'), 'root GET /');
    },
  );
});

test('conflicting host and path bindings are rejected with a clear error', async () => {
  await withServices([{ name: 'one', hosts: ['example.com'], paths: ['/app'] }], async (proxy) => {
    const b = await startBackend('two');
    try {
      await assert.rejects(
        proxy.call(
          'Deploy',
          deployArgs('two', [b.name], {
            service: { hosts: ['example.com', 'other.com'], pathPrefixes: ['/app'] },
          }),
        ),
        /host settings conflict with another service: host example\.com with path \/app is already served by service one/,
      );
      // A different path on the same host is fine.
      await proxy.call(
        'Deploy',
        deployArgs('two', [b.name], { service: { hosts: ['example.com'], pathPrefixes: ['/other'] } }),
      );
      // Default-host conflicts too.
      await proxy.call('Deploy', deployArgs('three', [b.name]));
      await assert.rejects(
        proxy.call('Deploy', deployArgs('four', [b.name])),
        /the default host \(no --host\) with path \/ is already served by service three/,
      );
    } finally {
      await b.close();
    }
  });
});

test('invalid options are rejected before any health check', async () => {
  const proxy = await startTestProxy();
  try {
    await assert.rejects(
      proxy.call('Deploy', deployArgs('app', ['127.0.0.1:1'], { service: { tlsEnabled: true } })),
      /TLS needs at least one --host/,
    );
    await assert.rejects(
      proxy.call(
        'Deploy',
        deployArgs('app', ['127.0.0.1:1'], { service: { hosts: ['a.com'], canonicalHost: 'b.com' } }),
      ),
      /canonical host "b\.com" must be one of the hosts/,
    );
    await assert.rejects(
      proxy.call('Deploy', deployArgs('app', ['not a target'])),
      /is not of the form host\[:port\]/,
    );
  } finally {
    await proxy.stop();
  }
});

test('request host normalisation', () => {
  assert.equal(normalizeRequestHost('Example.COM:8080'), 'example.com');
  assert.equal(normalizeRequestHost('[::1]:80'), '[::1]');
  assert.equal(normalizeRequestHost('example.com.'), 'example.com');
  assert.equal(normalizeRequestHost('plain'), 'plain');
});
