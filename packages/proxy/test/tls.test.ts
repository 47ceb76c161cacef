import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { WebSocketServer } from 'ws';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBackend } from './support/backend.js';
import { deployArgs, request, startTestProxy } from './support/proxy.js';

const fixtures = fileURLToPath(new URL('../../test/fixtures/', import.meta.url));
const cert = {
  tlsCertificatePath: fixtures + 'example.cert.pem',
  tlsPrivateKeyPath: fixtures + 'example.key.pem',
};

function httpsGet(
  port: number,
  servername: string,
  path: string,
  host = servername,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders; alpn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        servername,
        headers: { host },
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body,
            headers: res.headers,
            alpn: String((res.socket as { alpnProtocol?: string }).alpnProtocol),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

test('TLS with a custom certificate: HTTPS over HTTP/1.1 and HTTP/2, redirect from HTTP, forwarded proto', async () => {
  const backend = await startBackend('secure');
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        service: { hosts: ['example.com', 'www.example.com'], tlsEnabled: true, ...cert },
      }),
    );
    const r = await httpsGet(proxy.httpsPort!, 'example.com', '/a?b=1');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'secure GET /a?b=1');
    assert.equal(backend.seen.at(-1)!.headers['x-forwarded-proto'], 'https');

    const redirect = await request(proxy.httpPort, '/path?q=1', { host: 'example.com:8080' });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, 'https://example.com/path?q=1');

    // HTTP/2 via ALPN.
    const session = http2.connect(`https://127.0.0.1:${proxy.httpsPort}`, {
      servername: 'www.example.com',
      rejectUnauthorized: false,
    });
    const h2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const stream = session.request({ ':path': '/h2', ':authority': 'www.example.com' });
      let status = 0;
      let body = '';
      stream.on('response', (h) => (status = Number(h[':status'])));
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (body += c));
      stream.on('end', () => resolve({ status, body }));
      stream.on('error', reject);
    });
    session.close();
    assert.equal(h2.status, 200);
    assert.equal(h2.body, 'secure GET /h2');
    assert.equal(backend.seen.at(-1)!.headers.host, 'www.example.com');

    const list = await proxy.call('List', {});
    assert.equal(list['app']!.tls, true);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('tls-redirect off serves plain HTTP; canonical host redirects to the one host', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        service: {
          hosts: ['example.com', 'www.example.com'],
          tlsEnabled: true,
          tlsRedirect: false,
          canonicalHost: 'example.com',
          ...cert,
        },
      }),
    );
    assert.equal((await request(proxy.httpPort, '/', { host: 'example.com' })).status, 200);
    const r = await request(proxy.httpPort, '/x', { host: 'www.example.com' });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, 'http://example.com/x');
    const s = await httpsGet(proxy.httpsPort!, 'www.example.com', '/y');
    assert.equal(s.status, 301);
    assert.equal(s.headers.location, 'https://example.com/y');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('an HTTPS request for a service without TLS gets 503; a bad certificate fails the deploy', async () => {
  const backend = await startBackend('v1');
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('secure', [backend.name], {
        service: { hosts: ['example.com'], tlsEnabled: true, ...cert },
      }),
    );
    await proxy.call('Deploy', deployArgs('plain', [backend.name], { service: { hosts: ['plain.test'] } }));
    const r = await httpsGet(proxy.httpsPort!, 'example.com', '/', 'plain.test');
    assert.equal(r.status, 503);
    await assert.rejects(
      proxy.call(
        'Deploy',
        deployArgs('bad', [backend.name], {
          service: {
            hosts: ['bad.com'],
            tlsEnabled: true,
            tlsCertificatePath: fixtures + 'example.cert.pem',
            tlsPrivateKeyPath: '/nope.pem',
          },
        }),
      ),
      /cannot read TLS private key \/nope\.pem/,
    );
    await assert.rejects(
      proxy.call(
        'Deploy',
        deployArgs('wild', [backend.name], { service: { hosts: ['*.example.org'], tlsEnabled: true } }),
      ),
      /automatic TLS does not support wildcard hosts/,
    );
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('WebSockets work over TLS (HTTP/1.1 upgrade on the HTTPS listener)', async () => {
  const server = http.createServer((req, res) => {
    res.writeHead(req.url === '/up' ? 200 : 404);
    res.end();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws, req) => ws.send(`proto=${req.headers['x-forwarded-proto']}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const name = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [name], { service: { hosts: ['example.com'], tlsEnabled: true, ...cert } }),
    );
    const message = await new Promise<string>((resolve, reject) => {
      const ws = new WebSocket(`wss://127.0.0.1:${proxy.httpsPort}/cable`, {
        servername: 'example.com',
        headers: { host: 'example.com' },
        rejectUnauthorized: false,
      } as unknown as { headers: Record<string, string> });
      ws.on('message', (m) => {
        resolve(m.toString());
        ws.close();
      });
      ws.on('error', reject);
    });
    assert.equal(message, 'proto=https');
  } finally {
    await proxy.stop();
    wss.close();
    server.closeAllConnections();
    server.close();
  }
});

test('HTTP/2 requests with bodies reach the target whole', async () => {
  const backend = await startBackend('echo', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => res.end(`${req.method} ${Buffer.concat(chunks).length}`));
  });
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], { service: { hosts: ['example.com'], tlsEnabled: true, ...cert } }),
    );
    const session = http2.connect(`https://127.0.0.1:${proxy.httpsPort}`, {
      servername: 'example.com',
      rejectUnauthorized: false,
    });
    const post = (body: Buffer): Promise<string> =>
      new Promise((resolve, reject) => {
        const stream = session.request({ ':path': '/p', ':method': 'POST', ':authority': 'example.com' });
        let out = '';
        stream.setEncoding('utf8');
        stream.on('data', (c: string) => (out += c));
        stream.on('end', () => resolve(out));
        stream.on('error', reject);
        stream.end(body);
      });
    assert.equal(await post(Buffer.alloc(100_000, 1)), 'POST 100000');
    assert.equal(await post(Buffer.alloc(0)), 'POST 0');
    session.close();
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a path service under a TLS host inherits TLS and the redirect from the root service', async () => {
  const site = await startBackend('site');
  const api = await startBackend('api');
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('site', [site.name], { service: { hosts: ['example.com'], tlsEnabled: true, ...cert } }),
    );
    await proxy.call(
      'Deploy',
      deployArgs('api', [api.name], { service: { hosts: ['example.com'], pathPrefixes: ['/api'] } }),
    );
    const r = await httpsGet(proxy.httpsPort!, 'example.com', '/api/x');
    assert.equal(r.status, 200);
    assert.equal(r.body, 'api GET /x');
    const plain = await request(proxy.httpPort, '/api/x', { host: 'example.com' });
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, 'https://example.com/api/x');
    assert.equal((await proxy.call('List', {}))['api']!.tls, true);
  } finally {
    await proxy.stop();
    await site.close();
    await api.close();
  }
});

test('a TLS client that sends no SNI gets the first TLS service certificate', async () => {
  const backend = await startBackend('nosni');
  const proxy = await startTestProxy({ httpsPort: 0 });
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], { service: { hosts: ['example.com'], tlsEnabled: true, ...cert } }),
    );
    // Connecting to an IP address: Node sends no server name.
    const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = https.request(
        {
          host: '127.0.0.1',
          port: proxy.httpsPort!,
          path: '/',
          headers: { host: 'example.com' },
          rejectUnauthorized: false,
          agent: false,
        },
        (res) => {
          let body = '';
          res.on('data', (c) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(r.status, 200);
    assert.equal(r.body, 'nosni GET /');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});
