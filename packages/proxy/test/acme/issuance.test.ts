// ACME end to end against a fake CA on loopback: the proxy registers,
// orders, answers HTTP-01 on its HTTP port, finalizes with its own CSR and
// serves the issued certificate by SNI; cache, host policy, failures, renewal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { FakeAcme } from '../support/fake-acme.js';
import { startBackend, type Backend } from '../support/backend.js';
import { deployArgs, request, startTestProxy, type TestProxy } from '../support/proxy.js';
import type { AcmeSettings } from '../../src/tls.js';
import { scopedCacheDir } from '../../src/acme/cache.js';

interface Handshake {
  ok: boolean;
  error: string;
  authorized: boolean;
  subject: string;
  issuer: string;
  altNames: string;
  serial: string;
  validTo: string;
}

/** A TLS handshake with SNI, trusting only the fake CA. */
function handshake(port: number, servername: string, ca: string): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false });
    const done = (h: Partial<Handshake>): void => {
      socket.destroy();
      resolve({
        ok: false,
        error: '',
        authorized: false,
        subject: '',
        issuer: '',
        altNames: '',
        serial: '',
        validTo: '',
        ...h,
      });
    };
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      done({
        ok: true,
        authorized: socket.authorized,
        error: socket.authorizationError ? String(socket.authorizationError) : '',
        subject: String(peer.subject?.CN ?? ''),
        issuer: String(peer.issuer?.CN ?? ''),
        altNames: peer.subjectaltname ?? '',
        serial: peer.serialNumber ?? '',
        validTo: peer.valid_to ?? '',
      });
    });
    socket.once('error', (err) => done({ ok: false, error: err.message }));
    socket.setTimeout(20_000, () => done({ ok: false, error: 'timeout' }));
  });
}

function httpsGet(
  port: number,
  host: string,
  path: string,
  ca: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', port, path, servername: host, headers: { host }, ca, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

interface World {
  fake: FakeAcme;
  backend: Backend;
  dir: string;
  cachePath: string;
  start(settings?: AcmeSettings): Promise<TestProxy>;
  deploy(proxy: TestProxy, service: string, hosts: string[]): Promise<void>;
  close(): Promise<void>;
}

async function world(): Promise<World> {
  const fake = await FakeAcme.start();
  const backend = await startBackend('secure');
  const dir = mkdtempSync(join(tmpdir(), 'wharf-acme-test-'));
  const cachePath = join(dir, 'certs');
  const proxies: TestProxy[] = [];
  return {
    fake,
    backend,
    dir,
    cachePath,
    async start(settings = {}) {
      const proxy = await startTestProxy(
        { httpsPort: 0, acme: { ca: [fake.caPem], minPollMs: 10, ...settings } },
        dir,
      );
      proxies.push(proxy);
      fake.validationPort = proxy.httpPort;
      fake.tlsValidationPort = proxy.httpsPort!;
      return proxy;
    },
    async deploy(proxy, service, hosts) {
      await proxy.call(
        'Deploy',
        deployArgs(service, [backend.name], {
          service: { hosts, tlsEnabled: true, acmeDirectory: fake.directoryUrl, acmeCachePath: cachePath },
        }),
      );
    },
    async close() {
      for (const p of proxies) await p.stop();
      await fake.close();
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const logsMatching = (proxy: TestProxy, msg: string) =>
  proxy.logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === msg);

test('deploy --tls on a host: the first handshake gets a certificate from the ACME CA for that host', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    assert.equal(w.fake.orders.length, 0, 'no order before the first handshake');

    const h = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.ok, true, h.error);
    assert.equal(h.authorized, true, `chain and name verify against the fake CA: ${h.error}`);
    assert.equal(h.issuer, 'Fake ACME Test CA');
    assert.equal(h.subject, 'app.example.com');
    assert.equal(h.altNames, 'DNS:app.example.com');
    assert.deepEqual(
      w.fake.orders.map((o) => o.identifiers),
      [['app.example.com']],
    );
    assert.deepEqual(
      w.fake.validations.map((v) => [v.host, v.ok]),
      [['app.example.com', true]],
      'the CA fetched the key authorization from the proxy',
    );

    // The certificate carries real traffic, HTTP/1.1 over TLS to the app.
    const r = await httpsGet(proxy.httpsPort!, 'app.example.com', '/hello', w.fake.caPem);
    assert.deepEqual(r, { status: 200, body: 'secure GET /hello' });
    assert.equal(w.fake.orders.length, 1, 'the second connection reuses the certificate');

    // Cache: autocert's layout, private files.
    const scoped = scopedCacheDir(w.cachePath, w.fake.directoryUrl);
    assert.deepEqual(readdirSync(scoped).sort(), ['acme_account+key', 'app.example.com']);
    assert.equal(statSync(scoped).mode & 0o777, 0o700);
    for (const f of readdirSync(scoped)) assert.equal(statSync(join(scoped, f)).mode & 0o777, 0o600, f);
    const file = readFileSync(join(scoped, 'app.example.com'), 'utf8');
    assert.match(file, /^-----BEGIN EC PRIVATE KEY-----/);
    assert.equal(
      new X509Certificate(file.slice(file.indexOf('-----BEGIN CERTIFICATE'))).serialNumber,
      h.serial,
    );

    const issued = logsMatching(proxy, 'Certificate issued');
    assert.equal(issued.length, 1);
    assert.equal(issued[0]!['host'], 'app.example.com');
  } finally {
    await w.close();
  }
});

test('TLS-ALPN-01: the CA handshakes with acme-tls/1 and gets the challenge certificate; normal clients never do', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    w.fake.challengeTypes = ['tls-alpn-01'];
    // Nothing pending: an acme-tls/1 handshake gets no certificate at all.
    const probe = await new Promise<string>((resolve) => {
      const s = tls.connect({
        host: '127.0.0.1',
        port: proxy.httpsPort!,
        servername: 'app.example.com',
        ALPNProtocols: ['acme-tls/1'],
        rejectUnauthorized: false,
      });
      s.once('secureConnect', () => {
        resolve('connected');
        s.destroy();
      });
      s.once('error', () => resolve('refused'));
    });
    assert.equal(probe, 'refused');

    const h = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.authorized, true, h.error);
    assert.equal(h.issuer, 'Fake ACME Test CA');
    assert.deepEqual(
      w.fake.validations.map((v) => [v.type, v.ok, v.detail]),
      [['tls-alpn-01', true, 'ok']],
    );
    assert.equal(w.fake.orders.length, 1);
  } finally {
    await w.close();
  }
});

test('when the CA cannot reach port 80, a new order tries TLS-ALPN-01 (as autocert, the other way round)', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    w.fake.challengeTypes = ['http-01', 'tls-alpn-01'];
    w.fake.validationPort = 1; // port 80 firewalled
    const h = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.authorized, true, h.error);
    assert.deepEqual(
      w.fake.validations.map((v) => [v.type, v.ok]),
      [
        ['http-01', false],
        ['tls-alpn-01', true],
      ],
    );
    assert.equal(w.fake.orders.length, 2);
    const warned = logsMatching(proxy, 'Certificate challenge failed, trying the next type');
    assert.equal(warned.length, 1);
    assert.equal(warned[0]!['next'], 'tls-alpn-01');
    assert.equal(logsMatching(proxy, 'Certificate request failed').length, 0);
  } finally {
    await w.close();
  }
});

test('a rejected nonce is retried with the fresh one; a rate limit Retry-After lengthens the wait', async () => {
  const w = await world();
  try {
    const proxy = await w.start({ retryAfterFailureMs: 100 });
    await w.deploy(proxy, 'app', ['app.example.com']);
    await w.deploy(proxy, 'limited', ['limited.example.com']);
    w.fake.badNonces = 2;
    const h = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.authorized, true, h.error);
    assert.equal(w.fake.badNonceReplies, 2, 'two badNonce answers were absorbed');

    w.fake.failures.set('new-order', {
      status: 429,
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: 'slow down',
      retryAfter: 3600,
    });
    assert.equal((await handshake(proxy.httpsPort!, 'limited.example.com', w.fake.caPem)).ok, false);
    await waitFor(() => logsMatching(proxy, 'Certificate request failed').length === 1);
    assert.equal(logsMatching(proxy, 'Certificate request failed')[0]!['retry_in_s'], 3600);
    w.fake.failures.clear();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await handshake(proxy.httpsPort!, 'limited.example.com', w.fake.caPem)).ok, false);
    assert.equal(w.fake.orders.length, 1, 'no order before the CA said to come back');
  } finally {
    await w.close();
  }
});

test('concurrent first handshakes for one host share one order', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com', 'www.example.com']);
    const all = await Promise.all([
      ...Array.from({ length: 5 }, () => handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem)),
      handshake(proxy.httpsPort!, 'www.example.com', w.fake.caPem),
    ]);
    for (const h of all) assert.equal(h.authorized, true, h.error);
    assert.equal(
      new Set(all.slice(0, 5).map((h) => h.serial)).size,
      1,
      'one certificate for app.example.com',
    );
    assert.equal(all[5]!.altNames, 'DNS:www.example.com', 'each host gets its own certificate');
    assert.deepEqual(w.fake.orders.map((o) => o.identifiers[0]).sort(), [
      'app.example.com',
      'www.example.com',
    ]);
    assert.equal(w.fake.accountsCreated, 1, 'one account for the scope');
  } finally {
    await w.close();
  }
});

test('a cached certificate is reused after a restart: no new order, no new account', async () => {
  const w = await world();
  try {
    const first = await w.start();
    await w.deploy(first, 'app', ['app.example.com']);
    const before = await handshake(first.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(before.authorized, true, before.error);
    await first.stop();

    // Same state directory: the service is restored, the certificate read from the cache.
    const second = await w.start();
    const after = await handshake(second.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(after.authorized, true, after.error);
    assert.equal(after.serial, before.serial);
    assert.equal(w.fake.orders.length, 1);
    assert.equal(w.fake.accountsCreated, 1);

    // Clients without SNI get the first TLS service's certificate once it is held.
    const noSni = await new Promise<string>((resolve) => {
      const s = tls.connect({ host: '127.0.0.1', port: second.httpsPort!, rejectUnauthorized: false });
      s.once('secureConnect', () => {
        resolve(s.getPeerCertificate().serialNumber ?? '');
        s.destroy();
      });
      s.once('error', (e) => resolve(`error: ${e.message}`));
    });
    assert.equal(noSni, before.serial);
  } finally {
    await w.close();
  }
});

test('a host that is not configured gets no order and a failed handshake; the proxy keeps serving', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    // A plain service on the default host must not make its names eligible either.
    await proxy.call('Deploy', deployArgs('plain', [w.backend.name]));
    for (const name of ['evil.example.com', 'example.com', 'sub.app.example.com']) {
      const h = await handshake(proxy.httpsPort!, name, w.fake.caPem);
      assert.equal(h.ok, false, `${name} must not complete a handshake`);
    }
    assert.equal(w.fake.orders.length, 0, 'no order for names outside --host');
    const good = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(good.authorized, true, good.error);
  } finally {
    await w.close();
  }
});

test('ACME errors: one clear log line, the handshake fails cleanly, other hosts keep working, retry after the backoff', async () => {
  const w = await world();
  try {
    const proxy = await w.start({ retryAfterFailureMs: 1_000, maxRetryAfterFailureMs: 1_000 });
    await w.deploy(proxy, 'good', ['good.example.com']);
    await w.deploy(proxy, 'bad', ['bad.example.com']);
    const good = await handshake(proxy.httpsPort!, 'good.example.com', w.fake.caPem);
    assert.equal(good.authorized, true, good.error);

    w.fake.failures.set('new-order', {
      status: 429,
      type: 'urn:ietf:params:acme:error:rateLimited',
      detail: 'too many certificates already issued',
    });
    const failed = await handshake(proxy.httpsPort!, 'bad.example.com', w.fake.caPem);
    assert.equal(failed.ok, false);
    await new Promise((r) => setImmediate(r));
    const errors = logsMatching(proxy, 'Certificate request failed');
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!['level'], 'ERROR');
    assert.equal(errors[0]!['host'], 'bad.example.com');
    assert.match(
      String(errors[0]!['error']),
      /newOrder request to https:\/\/127\.0\.0\.1:\d+\/new-order failed with 429: rateLimited: too many certificates/,
    );

    // Within the backoff: no new order, no new log line; the other host still serves.
    const again = await handshake(proxy.httpsPort!, 'bad.example.com', w.fake.caPem);
    assert.equal(again.ok, false);
    assert.equal(logsMatching(proxy, 'Certificate request failed').length, 1);
    const stillGood = await httpsGet(proxy.httpsPort!, 'good.example.com', '/', w.fake.caPem);
    assert.equal(stillGood.status, 200);

    // A failed validation (the CA cannot reach the answer) is reported with the CA's words.
    w.fake.failures.clear();
    await new Promise((r) => setTimeout(r, 1_050));
    const port = w.fake.validationPort;
    w.fake.validationPort = 1; // nothing listens there
    const invalid = await handshake(proxy.httpsPort!, 'bad.example.com', w.fake.caPem);
    assert.equal(invalid.ok, false);
    await new Promise((r) => setImmediate(r));
    const second = logsMatching(proxy, 'Certificate request failed');
    assert.equal(second.length, 2);
    assert.match(
      String(second[1]!['error']),
      /could not validate bad\.example\.com with http-01: unauthorized: Connection to bad\.example\.com failed/,
    );

    // After the backoff the next handshake orders again and succeeds.
    w.fake.validationPort = port;
    await new Promise((r) => setTimeout(r, 1_050));
    const recovered = await handshake(proxy.httpsPort!, 'bad.example.com', w.fake.caPem);
    assert.equal(recovered.authorized, true, recovered.error);
  } finally {
    await w.close();
  }
});

test('renewal: a cached certificate with less than 30 days left keeps serving while renewal fails, then is replaced', async () => {
  const w = await world();
  try {
    w.fake.validityDays = 10;
    const first = await w.start();
    await w.deploy(first, 'app', ['app.example.com']);
    const short = await handshake(first.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(short.authorized, true, short.error);
    await first.stop();
    assert.equal(w.fake.orders.length, 1, 'a fresh certificate is not renewed at once, even if short-lived');

    // Restart with the CA refusing orders: the cached certificate serves, the renewal failure is logged.
    w.fake.failures.set('new-order', {
      status: 503,
      type: 'urn:ietf:params:acme:error:serverInternal',
      detail: 'maintenance',
    });
    const second = await w.start({ retryAfterFailureMs: 300 });
    // The restored service's cached certificate is loaded at start: renewal needs no handshake.
    await waitFor(() => logsMatching(second, 'Certificate request failed').length > 0);
    assert.match(
      String(logsMatching(second, 'Certificate request failed')[0]!['error']),
      /503: serverInternal: maintenance/,
    );
    const served = await handshake(second.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(served.serial, short.serial, 'the old certificate serves while renewing');
    const during = await handshake(second.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(during.serial, short.serial, 'a failed renewal does not stop the current certificate');

    // The CA is back: the next renewal attempt (after the backoff) replaces the certificate.
    w.fake.validityDays = 90;
    w.fake.failures.clear();
    await waitFor(() => logsMatching(second, 'Certificate issued').length > 0);
    const renewed = await handshake(second.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(renewed.authorized, true, renewed.error);
    assert.notEqual(renewed.serial, short.serial);
    const daysLeft = (Date.parse(renewed.validTo) - Date.now()) / 86_400_000;
    assert.ok(daysLeft > 89 && daysLeft <= 90, `renewed certificate lasts 90 days (${daysLeft})`);
    assert.equal(w.fake.orders.length, 2);
    const scoped = scopedCacheDir(w.cachePath, w.fake.directoryUrl);
    const file = readFileSync(join(scoped, 'app.example.com'), 'utf8');
    assert.equal(
      new X509Certificate(file.slice(file.indexOf('-----BEGIN CERTIFICATE'))).serialNumber,
      renewed.serial,
    );
  } finally {
    await w.close();
  }
});

test('a removed service is not renewed; a short-lived certificate is renewed after the retry delay', async () => {
  const w = await world();
  try {
    // First certificate of each host lasts 10 days (inside the 30-day window), later ones 90.
    w.fake.validity = (_host, nth) => (nth === 1 ? 10 : 90);
    const proxy = await w.start({ retryAfterFailureMs: 1_000 });
    await w.deploy(proxy, 'kept', ['kept.example.com']);
    await w.deploy(proxy, 'gone', ['gone.example.com']);
    for (const host of ['kept.example.com', 'gone.example.com']) {
      assert.equal((await handshake(proxy.httpsPort!, host, w.fake.caPem)).authorized, true);
    }
    await proxy.call('Remove', { service: 'gone' });
    await waitFor(() => w.fake.orders.length >= 3);
    await new Promise((r) => setTimeout(r, 1_200));
    assert.deepEqual(
      w.fake.orders.map((o) => o.identifiers[0]),
      ['kept.example.com', 'gone.example.com', 'kept.example.com'],
    );
  } finally {
    await w.close();
  }
});

test('an unusable cached file is reported and replaced; unknown challenge paths are routed as usual', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    const scoped = scopedCacheDir(w.cachePath, w.fake.directoryUrl);
    mkdirSync(scoped, { recursive: true });
    writeFileSync(join(scoped, 'app.example.com'), 'not a certificate');
    const h = await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.authorized, true, h.error);
    const warned = logsMatching(proxy, 'Ignoring unusable cached certificate');
    assert.equal(warned.length, 1);
    assert.match(String(warned[0]!['error']), /no private key and certificate/);
    assert.equal(w.fake.orders.length, 1);

    const r = await request(proxy.httpPort, '/.well-known/acme-challenge/unknown', {
      host: 'app.example.com',
    });
    assert.equal(r.status, 301, 'no pending challenge: the TLS redirect applies');
    assert.equal(r.headers.location, 'https://app.example.com/.well-known/acme-challenge/unknown');
  } finally {
    await w.close();
  }
});

test('an order that fails before validation gives its pending authorization back', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    w.fake.failures.set('chall', {
      status: 500,
      type: 'urn:ietf:params:acme:error:serverInternal',
      detail: 'challenge service down',
    });
    assert.equal((await handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem)).ok, false);
    await waitFor(() => logsMatching(proxy, 'Certificate request failed').length === 1);
    assert.match(
      String(logsMatching(proxy, 'Certificate request failed')[0]!['error']),
      /challenge service down/,
    );
    assert.deepEqual(w.fake.deactivated, ['app.example.com']);
  } finally {
    await w.close();
  }
});

test('stopping the proxy during an order cancels it quietly: the handshake fails, close does not wait for the CA', async () => {
  const w = await world();
  try {
    const proxy = await w.start();
    await w.deploy(proxy, 'app', ['app.example.com']);
    w.fake.delayMs = 5_000;
    const pending = handshake(proxy.httpsPort!, 'app.example.com', w.fake.caPem);
    await waitFor(() => logsMatching(proxy, 'Requesting certificate').length === 1);
    const started = Date.now();
    await proxy.stop();
    assert.ok(Date.now() - started < 2_500, `close took ${Date.now() - started} ms`);
    assert.equal((await pending).ok, false);
    assert.equal(
      logsMatching(proxy, 'Certificate request failed').length,
      0,
      'a cancelled order is not an error',
    );
    w.fake.delayMs = 0;
  } finally {
    await w.close();
  }
});

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('on-demand TLS with a path: the app is asked for each new host with Host set to it; only a 200 gets a certificate', async () => {
  const w = await world();
  const app = await startBackend('on-demand', (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/allow') {
      const host = url.searchParams.get('host');
      const ok = host === 'allowed.example.com' && req.headers.host === host;
      res.writeHead(ok ? 200 : 403, { 'content-type': 'text/plain' });
      res.end(ok ? 'yes' : `not ours: ${host}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`app ${req.url}`);
  });
  try {
    const proxy = await w.start();
    await proxy.call(
      'Deploy',
      deployArgs('app', [app.name], {
        service: {
          tlsEnabled: true,
          tlsOnDemandUrl: '/allow',
          acmeDirectory: w.fake.directoryUrl,
          acmeCachePath: w.cachePath,
        },
      }),
    );
    const checks = () => app.seen.filter((s) => s.url.startsWith('/allow'));

    const denied = await handshake(proxy.httpsPort!, 'denied.example.com', w.fake.caPem);
    assert.equal(denied.ok, false, 'no certificate for a host the app does not claim');
    assert.equal(w.fake.orders.length, 0, 'a denied host costs no order at the CA');
    assert.deepEqual(
      checks().map((c) => [c.url, c.headers.host]),
      [['/allow?host=denied.example.com', 'denied.example.com']],
    );
    const deniedLog = logsMatching(proxy, 'On-demand TLS denied a certificate');
    assert.equal(deniedLog.length, 1);
    assert.equal(deniedLog[0]!['host'], 'denied.example.com');
    assert.equal(deniedLog[0]!['result'], '403: not ours: denied.example.com');

    const allowed = await handshake(proxy.httpsPort!, 'allowed.example.com', w.fake.caPem);
    assert.equal(allowed.ok, true, allowed.error);
    assert.equal(allowed.authorized, true, allowed.error);
    assert.equal(allowed.altNames, 'DNS:allowed.example.com');
    assert.deepEqual(
      w.fake.orders.map((o) => o.identifiers),
      [['allowed.example.com']],
    );
    const r = await httpsGet(proxy.httpsPort!, 'allowed.example.com', '/page', w.fake.caPem);
    assert.deepEqual(r, { status: 200, body: 'app /page' });
    assert.equal(checks().length, 2, 'a host with a certificate is not asked again');

    // The state file keeps the URL; after a restart the cached certificate is served without asking.
    await proxy.stop();
    const again = await w.start();
    const back = await handshake(again.httpsPort!, 'allowed.example.com', w.fake.caPem);
    assert.equal(back.ok, true, back.error);
    assert.equal(back.serial, allowed.serial);
    assert.equal(checks().length, 2);
    assert.equal(w.fake.orders.length, 1);

    // A stopped service is never asked: the check is denied.
    await again.call('Stop', { service: 'app', drainTimeoutMs: 10, message: 'maintenance' });
    const stopped = await handshake(again.httpsPort!, 'other.example.com', w.fake.caPem);
    assert.equal(stopped.ok, false);
    assert.equal(checks().length, 2);
    assert.match(String(logsMatching(again, 'On-demand TLS denied a certificate')[0]?.['result']), /stopped/);
  } finally {
    await app.close();
    await w.close();
  }
});

test('on-demand TLS with a URL: its query is kept, host is added, and a redirect is a refusal, not followed', async () => {
  const w = await world();
  const asked: string[] = [];
  const checker = await startBackend('checker', (req, res) => {
    asked.push(req.url ?? '');
    const host = new URL(req.url ?? '/', 'http://x').searchParams.get('host');
    if (host === 'moved.example.com') {
      res.writeHead(302, { location: '/check?token=abc&host=ok.example.com' });
      res.end();
      return;
    }
    res.writeHead(host === 'ok.example.com' ? 200 : 404);
    res.end();
  });
  try {
    const proxy = await w.start();
    await proxy.call(
      'Deploy',
      deployArgs('app', [w.backend.name], {
        service: {
          tlsEnabled: true,
          tlsOnDemandUrl: `http://${checker.name}/check?token=abc`,
          acmeDirectory: w.fake.directoryUrl,
          acmeCachePath: w.cachePath,
        },
      }),
    );
    const moved = await handshake(proxy.httpsPort!, 'moved.example.com', w.fake.caPem);
    assert.equal(moved.ok, false);
    const ok = await handshake(proxy.httpsPort!, 'ok.example.com', w.fake.caPem);
    assert.equal(ok.ok, true, ok.error);
    assert.deepEqual(asked, [
      '/check?token=abc&host=moved.example.com',
      '/check?token=abc&host=ok.example.com',
    ]);
    assert.deepEqual(
      w.fake.orders.map((o) => o.identifiers),
      [['ok.example.com']],
    );
    assert.equal(logsMatching(proxy, 'On-demand TLS denied a certificate')[0]?.['result'], '302');
  } finally {
    await checker.close();
    await w.close();
  }
});

test('external account binding: a CA that requires it gets an HS256 binding of the account key; without or with a wrong key, no certificate', async () => {
  const w = await world();
  const hmacKey = randomBytes(32);
  w.fake.externalAccount = { kid: 'kid-42', hmacKey };
  try {
    const without = await w.start();
    await w.deploy(without, 'app', ['app.example.com']);
    assert.equal((await handshake(without.httpsPort!, 'app.example.com', w.fake.caPem)).ok, false);
    assert.match(
      String(logsMatching(without, 'Certificate request failed')[0]?.['error']),
      /requires external account binding; start wharf-proxy with EAB_KID and EAB_HMAC_KEY/,
    );
    await without.stop();

    const wrong = await w.start({ externalAccount: { kid: 'kid-42', hmacKey: randomBytes(32) } });
    assert.equal((await handshake(wrong.httpsPort!, 'app.example.com', w.fake.caPem)).ok, false);
    assert.match(
      String(logsMatching(wrong, 'Certificate request failed')[0]?.['error']),
      /externalAccountBinding signature is invalid/,
    );
    assert.equal(w.fake.accountsCreated, 0);
    await wrong.stop();

    const right = await w.start({ externalAccount: { kid: 'kid-42', hmacKey } });
    const h = await handshake(right.httpsPort!, 'app.example.com', w.fake.caPem);
    assert.equal(h.ok, true, h.error);
    assert.equal(h.authorized, true, h.error);
    assert.equal(w.fake.accountsCreated, 1);
  } finally {
    await w.close();
  }
});
