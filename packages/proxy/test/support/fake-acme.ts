// A fake ACME certificate authority for tests, following RFC 8555's
// interface: directory, nonces (each used once), JWS verification of the
// account key (ES256, jwk for newAccount, kid afterwards, url and nonce in the
// protected header), orders, authorizations with http-01 and/or tls-alpn-01
// challenges that it really validates against the proxy on loopback (every
// name resolves to 127.0.0.1): GET http://<host>/.well-known/acme-challenge/
// <token> on `validationPort`, or a TLS handshake with SNI and ALPN
// acme-tls/1 only on `tlsValidationPort` (RFC 8737), finalize with a CSR that must be self-signed and name
// exactly the order's identifiers, and a PEM chain signed by its own test CA
// (made and used with the openssl CLI). It serves HTTPS with a certificate
// from the same CA, so the client must be told to trust `caPem`.
import { execFile } from 'node:child_process';
import {
  X509Certificate,
  createHash,
  createHmac,
  createPublicKey,
  randomBytes,
  verify,
  type KeyObject,
} from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Problem {
  status: number;
  type: string;
  detail: string;
}

interface Account {
  url: string;
  key: KeyObject;
  thumbprint: string;
}

interface Order {
  id: string;
  account: string;
  status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
  identifiers: string[];
  authzs: string[];
  certificate: string | null;
  error: Problem | null;
}

interface Authz {
  id: string;
  order: string;
  host: string;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated';
  challenges: Challenge[];
}

interface Challenge {
  type: string;
  token: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  error: Problem | null;
}

export interface Validation {
  host: string;
  type: string;
  ok: boolean;
  detail: string;
}

export class FakeAcme {
  readonly directoryUrl: string;
  /** The test CA: trust it for the ACME server and for issued certificates. */
  readonly caPem: string;
  /** The proxy's plain HTTP port, where http-01 challenges are fetched. */
  validationPort = 80;
  /** The proxy's HTTPS port, where tls-alpn-01 challenges are checked. */
  tlsValidationPort = 443;
  /** Challenge types offered in each new authorization. */
  challengeTypes: string[] = ['http-01'];
  /** Lifetime of the next certificates issued. */
  validityDays = 90;
  /** When set, the lifetime for the n-th order (1-based) of a host; overrides validityDays. */
  validity: ((host: string, nth: number) => number) | null = null;
  /** Endpoint name ("new-order", "new-account", "finalize", …) → the error to answer it with. */
  readonly failures = new Map<string, Problem & { retryAfter?: number }>();
  /** Reject this many more POSTs with badNonce even when their nonce is good (RFC 8555 §6.5 allows it). */
  badNonces = 0;
  /** POSTs answered with badNonce so far. */
  badNonceReplies = 0;
  /** Delay before answering each request (a slow CA). */
  delayMs = 0;
  readonly orders: Array<{ identifiers: string[]; account: string }> = [];
  readonly validations: Validation[] = [];
  readonly issued: Array<{ host: string; serial: string; days: number }> = [];
  accountsCreated = 0;
  /** When set, the directory requires external account binding with this key id and HMAC key. */
  externalAccount: { kid: string; hmacKey: Buffer } | null = null;
  /** Hosts whose authorization the client deactivated. */
  readonly deactivated: string[] = [];

  private readonly nonces = new Set<string>();
  private readonly accounts = new Map<string, Account>();
  private readonly orderById = new Map<string, Order>();
  private readonly authzById = new Map<string, Authz>();
  private readonly certById = new Map<string, string>();
  private readonly pending = new Set<Promise<unknown>>();

  private constructor(
    private readonly server: https.Server,
    private readonly dir: string,
    readonly base: string,
  ) {
    this.directoryUrl = `${base}/directory`;
    this.caPem = readFileSync(join(dir, 'ca.pem'), 'utf8');
  }

  static async start(): Promise<FakeAcme> {
    const dir = mkdtempSync(join(tmpdir(), 'fake-acme-'));
    const f = (name: string) => join(dir, name);
    await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key')]);
    await run('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      f('ca.key'),
      '-subj',
      '/CN=Fake ACME Test CA',
      '-days',
      '3650',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
      '-out',
      f('ca.pem'),
    ]);
    await run('openssl', [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      f('server.key'),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-out',
      f('server.csr'),
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      f('server.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-days',
      '30',
      '-copy_extensions',
      'copy',
      '-set_serial',
      '1',
      '-out',
      f('server.pem'),
    ]);
    let fake: FakeAcme | null = null;
    const server = https.createServer(
      { key: readFileSync(f('server.key')), cert: readFileSync(f('server.pem')) },
      (req, res) => fake!.handle(req, res),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    fake = new FakeAcme(server, dir, `https://127.0.0.1:${port}`);
    return fake;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pending]);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  // ---- HTTP -------------------------------------------------------------------

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const delay = new Promise((r) => setTimeout(r, this.delayMs));
      delay
        .then(() => this.route(req, Buffer.concat(chunks).toString('utf8')))
        .then((out) => this.reply(res, out))
        .catch((err: Error) =>
          this.reply(res, problem(500, 'serverInternal', `fake ACME bug: ${err.message}`)),
        );
    });
  }

  private reply(res: http.ServerResponse, out: Reply): void {
    const nonce = this.newNonce();
    const headers: Record<string, string> = {
      'replay-nonce': nonce,
      'cache-control': 'no-store',
      ...out.headers,
    };
    if (out.problem) {
      const body = JSON.stringify(out.problem);
      res.writeHead(out.problem.status, { ...headers, 'content-type': 'application/problem+json' });
      res.end(body);
      return;
    }
    if (typeof out.body === 'string') {
      res.writeHead(out.status ?? 200, { ...headers, 'content-type': out.contentType ?? 'text/plain' });
      res.end(out.body);
      return;
    }
    res.writeHead(out.status ?? 200, { ...headers, 'content-type': 'application/json' });
    res.end(out.body === undefined ? undefined : JSON.stringify(out.body));
  }

  private async route(req: http.IncomingMessage, body: string): Promise<Reply> {
    const path = (req.url ?? '/').split('?')[0]!;
    const [, endpoint = '', id = '', sub = ''] = path.split('/');
    const injected = this.failures.get(endpoint);
    if (injected !== undefined) {
      const { retryAfter, ...p } = injected;
      return { problem: p, headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) } };
    }
    if (endpoint === 'directory' && req.method === 'GET') {
      return {
        body: {
          newNonce: `${this.base}/new-nonce`,
          newAccount: `${this.base}/new-account`,
          newOrder: `${this.base}/new-order`,
          revokeCert: `${this.base}/revoke-cert`,
          keyChange: `${this.base}/key-change`,
          meta: {
            termsOfService: `${this.base}/terms`,
            ...(this.externalAccount === null ? {} : { externalAccountRequired: true }),
          },
        },
      };
    }
    if (endpoint === 'new-nonce' && (req.method === 'HEAD' || req.method === 'GET')) {
      return { status: req.method === 'HEAD' ? 200 : 204 };
    }
    if (req.method !== 'POST') return problem(405, 'malformed', `${req.method} ${path} is not allowed`);
    if (!String(req.headers['content-type']).startsWith('application/jose+json')) {
      return problem(415, 'malformed', 'Content-Type must be application/jose+json');
    }
    const jws = this.verifyJws(body, `${this.base}${path}`, endpoint === 'new-account');
    if ('problem' in jws) return jws;
    switch (endpoint) {
      case 'new-account':
        return this.newAccount(jws);
      case 'new-order':
        return this.newOrder(jws);
      case 'order':
        return this.withOrder(jws, id, (o) => ({ body: this.orderJson(o), headers: { 'retry-after': '0' } }));
      case 'authz':
        return this.postAuthz(jws, id);
      case 'chall':
        return this.respondChallenge(jws, id, sub);
      case 'finalize':
        return this.withOrder(jws, id, (o) => this.finalize(o, jws.payload));
      case 'cert':
        return this.getCertificate(jws, id);
      default:
        return problem(404, 'malformed', `no such resource ${path}`);
    }
  }

  // ---- JWS ----------------------------------------------------------------------

  private verifyJws(body: string, url: string, allowJwk: boolean): Verified | { problem: Problem } {
    let parsed: { protected?: string; payload?: string; signature?: string };
    let header: { alg?: string; nonce?: string; url?: string; jwk?: Record<string, string>; kid?: string };
    try {
      parsed = JSON.parse(body);
      header = JSON.parse(Buffer.from(parsed.protected ?? '', 'base64url').toString('utf8'));
    } catch {
      return problem(400, 'malformed', 'the request is not a flattened JWS');
    }
    if (header.alg !== 'ES256')
      return problem(400, 'badSignatureAlgorithm', `alg ${header.alg} is not ES256`);
    if (header.url !== url) return problem(401, 'unauthorized', `JWS url ${header.url} is not ${url}`);
    if (header.nonce === undefined || !this.nonces.delete(header.nonce) || this.badNonces > 0) {
      if (this.badNonces > 0) this.badNonces--;
      this.badNonceReplies++;
      return problem(400, 'badNonce', 'the nonce is unknown or already used');
    }
    let key: KeyObject;
    let account: Account | null = null;
    if (header.jwk !== undefined) {
      if (!allowJwk) return problem(400, 'malformed', 'only newAccount may carry a jwk');
      if (header.kid !== undefined) return problem(400, 'malformed', 'jwk and kid are exclusive');
      try {
        key = createPublicKey({ key: header.jwk as never, format: 'jwk' });
      } catch {
        return problem(400, 'badPublicKey', 'the jwk is not a usable key');
      }
    } else {
      account = header.kid === undefined ? null : (this.accounts.get(header.kid) ?? null);
      if (account === null) return problem(400, 'accountDoesNotExist', `no account ${header.kid}`);
      key = account.key;
    }
    const signed = Buffer.from(`${parsed.protected}.${parsed.payload ?? ''}`);
    const ok = verify(
      'sha256',
      signed,
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parsed.signature ?? '', 'base64url'),
    );
    if (!ok) return problem(400, 'malformed', 'the JWS signature does not verify');
    let payload: unknown = '';
    if (parsed.payload !== undefined && parsed.payload !== '') {
      try {
        payload = JSON.parse(Buffer.from(parsed.payload, 'base64url').toString('utf8'));
      } catch {
        return problem(400, 'malformed', 'the payload is not JSON');
      }
    }
    return { key, jwk: header.jwk ?? null, account, payload };
  }

  private newNonce(): string {
    const n = randomBytes(16).toString('base64url');
    this.nonces.add(n);
    return n;
  }

  // ---- resources --------------------------------------------------------------

  private newAccount(jws: Verified): Reply {
    const jwk = jws.jwk!;
    const thumbprint = createHash('sha256')
      .update(`{"crv":"${jwk['crv']}","kty":"${jwk['kty']}","x":"${jwk['x']}","y":"${jwk['y']}"}`)
      .digest('base64url');
    const url = `${this.base}/account/${thumbprint}`;
    const existing = this.accounts.get(url);
    if (existing !== undefined) return { status: 200, body: { status: 'valid' }, headers: { location: url } };
    const payload = jws.payload as { termsOfServiceAgreed?: boolean; onlyReturnExisting?: boolean };
    if (payload.onlyReturnExisting) return problem(400, 'accountDoesNotExist', 'no such account');
    if (payload.termsOfServiceAgreed !== true)
      return problem(403, 'userActionRequired', 'agree to the terms');
    if (this.externalAccount !== null) {
      const refused = this.checkBinding(
        (jws.payload as { externalAccountBinding?: unknown }).externalAccountBinding,
        jwk,
      );
      if (refused !== null) return problem(403, 'unauthorized', refused);
    }
    this.accounts.set(url, { url, key: jws.key, thumbprint });
    this.accountsCreated++;
    return { status: 201, body: { status: 'valid' }, headers: { location: url } };
  }

  /** RFC 8555 §7.3.4: an HS256 JWS over the account JWK, for our kid and the newAccount URL; null if good. */
  private checkBinding(binding: unknown, jwk: Record<string, unknown>): string | null {
    const b = binding as { protected?: unknown; payload?: unknown; signature?: unknown } | undefined;
    if (typeof b !== 'object' || b === null) return 'externalAccountBinding is required';
    if (typeof b.protected !== 'string' || typeof b.payload !== 'string' || typeof b.signature !== 'string') {
      return 'externalAccountBinding must be a flattened JWS';
    }
    const header = JSON.parse(Buffer.from(b.protected, 'base64url').toString('utf8')) as Record<
      string,
      unknown
    >;
    if (header['alg'] !== 'HS256') return 'externalAccountBinding must use HS256';
    if (header['kid'] !== this.externalAccount!.kid) return 'unknown external account key id';
    if (header['url'] !== `${this.base}/new-account`) return 'externalAccountBinding url mismatch';
    if ('nonce' in header) return 'externalAccountBinding must not carry a nonce';
    const expected = createHmac('sha256', this.externalAccount!.hmacKey)
      .update(`${b.protected}.${b.payload}`)
      .digest('base64url');
    if (expected !== b.signature) return 'externalAccountBinding signature is invalid';
    const bound = JSON.parse(Buffer.from(b.payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    for (const k of ['kty', 'crv', 'x', 'y']) {
      if (bound[k] !== jwk[k]) return 'externalAccountBinding binds another key';
    }
    return null;
  }

  private newOrder(jws: Verified): Reply {
    const payload = jws.payload as { identifiers?: Array<{ type: string; value: string }> };
    const ids = payload.identifiers ?? [];
    if (ids.length === 0 || ids.some((i) => i.type !== 'dns' || typeof i.value !== 'string')) {
      return problem(400, 'malformed', 'identifiers must be dns names');
    }
    const order: Order = {
      id: randomBytes(8).toString('hex'),
      account: jws.account!.url,
      status: 'pending',
      identifiers: ids.map((i) => i.value),
      authzs: [],
      certificate: null,
      error: null,
    };
    for (const host of order.identifiers) {
      const authz: Authz = {
        id: randomBytes(8).toString('hex'),
        order: order.id,
        host,
        status: 'pending',
        challenges: this.challengeTypes.map((type) => ({
          type,
          token: randomBytes(32).toString('base64url'),
          status: 'pending' as const,
          error: null,
        })),
      };
      this.authzById.set(authz.id, authz);
      order.authzs.push(authz.id);
    }
    this.orderById.set(order.id, order);
    this.orders.push({ identifiers: order.identifiers, account: order.account });
    return {
      status: 201,
      body: this.orderJson(order),
      headers: { location: `${this.base}/order/${order.id}` },
    };
  }

  private orderJson(o: Order): unknown {
    return {
      status: o.status,
      expires: new Date(Date.now() + 7 * 86_400_000).toISOString(),
      identifiers: o.identifiers.map((value) => ({ type: 'dns', value })),
      authorizations: o.authzs.map((id) => `${this.base}/authz/${id}`),
      finalize: `${this.base}/finalize/${o.id}`,
      ...(o.certificate ? { certificate: `${this.base}/cert/${o.certificate}` } : {}),
      ...(o.error ? { error: o.error } : {}),
    };
  }

  private withOrder(
    jws: Verified,
    id: string,
    fn: (o: Order) => Reply | Promise<Reply>,
  ): Reply | Promise<Reply> {
    const order = this.orderById.get(id);
    if (order === undefined) return problem(404, 'malformed', `no order ${id}`);
    if (order.account !== jws.account?.url) return problem(403, 'unauthorized', 'not your order');
    return fn(order);
  }

  private authzJson(a: Authz): unknown {
    return {
      status: a.status,
      identifier: { type: 'dns', value: a.host },
      challenges: a.challenges.map((c) => this.challengeJson(a, c)),
    };
  }

  /** POST-as-GET reads an authorization; {"status":"deactivated"} gives a pending or valid one up. */
  private postAuthz(jws: Verified, id: string): Reply {
    const a = this.authzById.get(id);
    if (a === undefined) return problem(404, 'malformed', `no authorization ${id}`);
    if (this.orderById.get(a.order)?.account !== jws.account?.url) {
      return problem(403, 'unauthorized', 'not yours');
    }
    const update = jws.payload as { status?: string } | '';
    if (update !== '' && update.status === 'deactivated') {
      if (a.status !== 'pending' && a.status !== 'valid') {
        return problem(400, 'malformed', `authorization is ${a.status}`);
      }
      a.status = 'deactivated';
      this.deactivated.push(a.host);
    }
    return { body: this.authzJson(a), headers: { 'retry-after': '0' } };
  }

  private challengeJson(a: Authz, c: Challenge): unknown {
    return {
      type: c.type,
      url: `${this.base}/chall/${a.id}/${c.type}`,
      token: c.token,
      status: c.status,
      ...(c.error ? { error: c.error } : {}),
    };
  }

  private respondChallenge(jws: Verified, id: string, type: string): Reply {
    const a = this.authzById.get(id);
    const c = a?.challenges.find((x) => x.type === type);
    if (a === undefined || c === undefined) return problem(404, 'malformed', `no challenge ${id}/${type}`);
    const order = this.orderById.get(a.order)!;
    if (order.account !== jws.account?.url) return problem(403, 'unauthorized', 'not yours');
    if (c.status === 'pending' && a.status === 'pending') {
      c.status = 'processing';
      this.track(this.validate(a, c, order, `${c.token}.${jws.account!.thumbprint}`));
    }
    return { body: this.challengeJson(a, c) };
  }

  /** Checks the answer on the proxy as a CA would (every host resolves to 127.0.0.1). */
  private async validate(a: Authz, c: Challenge, order: Order, keyAuthorization: string): Promise<void> {
    const { ok, detail } =
      c.type === 'tls-alpn-01'
        ? await this.checkTlsAlpn(a.host, keyAuthorization)
        : await this.checkHttp(a.host, c.token, keyAuthorization);
    this.validations.push({ host: a.host, type: c.type, ok, detail });
    if (ok) {
      c.status = 'valid';
      a.status = 'valid';
      if (order.authzs.every((id) => this.authzById.get(id)!.status === 'valid')) order.status = 'ready';
    } else {
      c.error = { status: 403, type: 'urn:ietf:params:acme:error:unauthorized', detail };
      c.status = 'invalid';
      a.status = 'invalid';
      order.status = 'invalid';
      order.error = c.error;
    }
  }

  private async checkHttp(
    host: string,
    token: string,
    expected: string,
  ): Promise<{ ok: boolean; detail: string }> {
    try {
      const { status, body } = await httpGet(
        this.validationPort,
        host,
        `/.well-known/acme-challenge/${token}`,
      );
      const ok = status === 200 && body.trim() === expected;
      return {
        ok,
        detail: ok
          ? 'ok'
          : `Invalid response from http://${host}/.well-known/acme-challenge/${token}: ${status} ${JSON.stringify(body.slice(0, 80))}`,
      };
    } catch (err) {
      return { ok: false, detail: `Connection to ${host} failed: ${(err as Error).message}` };
    }
  }

  /**
   * RFC 8737 §3: a TLS handshake with SNI = host and ALPN = acme-tls/1 only;
   * the certificate must name exactly the host and carry the critical
   * acmeIdentifier extension with SHA-256 of the key authorization.
   */
  private checkTlsAlpn(host: string, keyAuthorization: string): Promise<{ ok: boolean; detail: string }> {
    return new Promise((resolve) => {
      const socket = tls.connect({
        host: '127.0.0.1',
        port: this.tlsValidationPort,
        servername: host,
        ALPNProtocols: ['acme-tls/1'],
        rejectUnauthorized: false,
      });
      const done = (ok: boolean, detail: string): void => {
        socket.destroy();
        resolve({ ok, detail });
      };
      socket.setTimeout(5_000, () => done(false, `Timeout during TLS-ALPN-01 handshake with ${host}`));
      socket.once('error', (err) => done(false, `TLS-ALPN-01 connection to ${host} failed: ${err.message}`));
      socket.once('secureConnect', () => {
        if (socket.alpnProtocol !== 'acme-tls/1') {
          return done(false, `${host} negotiated ${String(socket.alpnProtocol)}, not acme-tls/1`);
        }
        const raw = socket.getPeerCertificate().raw;
        const cert = new X509Certificate(raw);
        if (cert.subjectAltName !== `DNS:${host}`) {
          return done(false, `the TLS-ALPN-01 certificate names ${cert.subjectAltName}, not ${host}`);
        }
        // Extension { acmeIdentifier OID, critical TRUE, OCTET STRING { OCTET STRING (32) digest } }
        const digest = createHash('sha256').update(keyAuthorization).digest('hex');
        const expected = '06082b06010505070 11f0101ff04220420'.replace(/ /g, '') + digest;
        if (!raw.toString('hex').includes(expected)) {
          return done(
            false,
            `the TLS-ALPN-01 certificate of ${host} lacks the expected critical acmeIdentifier`,
          );
        }
        done(true, 'ok');
      });
    });
  }

  private async finalize(order: Order, payload: unknown): Promise<Reply> {
    if (order.status !== 'ready') return problem(403, 'orderNotReady', `the order is ${order.status}`);
    const csr = (payload as { csr?: string }).csr;
    if (typeof csr !== 'string') return problem(400, 'malformed', 'no csr');
    const csrPath = join(this.dir, `${order.id}.csr`);
    const der = Buffer.from(csr, 'base64url');
    writeFileSync(
      csrPath,
      `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END CERTIFICATE REQUEST-----\n`,
    );
    let text: string;
    try {
      const out = await run('openssl', ['req', '-in', csrPath, '-noout', '-verify', '-text']);
      text = out.stdout + out.stderr;
    } catch (err) {
      return problem(
        400,
        'badCSR',
        `the CSR does not parse or verify: ${(err as Error).message.split('\n')[0]}`,
      );
    }
    if (!/verify OK/i.test(text)) return problem(400, 'badCSR', 'the CSR signature does not verify');
    const names = [...text.matchAll(/DNS:([^,\s]+)/g)].map((m) => m[1]!).sort();
    if (names.join(',') !== [...order.identifiers].sort().join(',')) {
      return problem(
        400,
        'badCSR',
        `the CSR names ${names.join(', ')}, the order ${order.identifiers.join(', ')}`,
      );
    }
    order.status = 'processing';
    const host = order.identifiers[0]!;
    const nth = this.orders.filter((o) => o.identifiers[0] === host).length;
    const days = this.validity?.(host, nth) ?? this.validityDays;
    this.track(
      (async () => {
        const serial = randomBytes(8).toString('hex');
        const certPath = join(this.dir, `${order.id}.pem`);
        await run('openssl', [
          'x509',
          '-req',
          '-in',
          csrPath,
          '-CA',
          join(this.dir, 'ca.pem'),
          '-CAkey',
          join(this.dir, 'ca.key'),
          '-days',
          String(days),
          '-copy_extensions',
          'copy',
          '-set_serial',
          `0x${serial}`,
          '-out',
          certPath,
        ]);
        const certId = randomBytes(8).toString('hex');
        this.certById.set(certId, readFileSync(certPath, 'utf8') + this.caPem);
        order.certificate = certId;
        order.status = 'valid';
        this.issued.push({ host: order.identifiers[0]!, serial: serial.toUpperCase(), days });
      })().catch((err: Error) => {
        order.status = 'invalid';
        order.error = { status: 500, type: 'urn:ietf:params:acme:error:serverInternal', detail: err.message };
      }),
    );
    return {
      body: this.orderJson(order),
      headers: { 'retry-after': '0', location: `${this.base}/order/${order.id}` },
    };
  }

  private getCertificate(jws: Verified, id: string): Reply {
    const chain = this.certById.get(id);
    if (chain === undefined || jws.account === null) return problem(404, 'malformed', `no certificate ${id}`);
    return { body: chain, contentType: 'application/pem-certificate-chain' };
  }

  private track(p: Promise<unknown>): void {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }
}

interface Verified {
  key: KeyObject;
  jwk: Record<string, string> | null;
  account: Account | null;
  payload: unknown;
}

interface Reply {
  status?: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  problem?: Problem;
}

function problem(status: number, type: string, detail: string): { problem: Problem } {
  return { problem: { status, type: `urn:ietf:params:acme:error:${type}`, detail } };
}

function httpGet(port: number, host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: '127.0.0.1', port, path, headers: { host }, agent: false, timeout: 5_000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}
