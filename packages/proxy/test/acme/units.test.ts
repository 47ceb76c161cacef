// The ACME building blocks on their own: DER encoding, the CSR (checked by
// the openssl CLI, an independent parser), JWS signatures, problem
// documents, HTTP-01 answers, the cache file format, and the deploy flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  verify,
} from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { tlsAlpnCertificate } from '../../src/acme/tls-alpn.js';
import { CertificateStore } from '../../src/tls.js';
import { Logger } from '../../src/logging.js';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integer, objectIdentifier, octetString, toPem } from '../../src/acme/asn1.js';
import { createCsr } from '../../src/acme/csr.js';
import { AccountKey, parseExternalAccount } from '../../src/acme/jws.js';
import { describeProblem, parseRetryAfter } from '../../src/acme/client.js';
import { Http01Challenges } from '../../src/acme/challenges.js';
import {
  CertificateCache,
  certificateFile,
  scopedCacheDir,
  splitCertificateFile,
} from '../../src/acme/cache.js';
import { certificateEntry } from '../../src/acme/manager.js';
import { deployArgsFromFlags, deployFlags } from '../../src/cli/main.js';
import { parseFlags } from '../../src/cli/flags.js';
import { validateServiceOptions, defaultServiceOptions } from '../../src/options.js';

const hex = (b: Buffer) => b.toString('hex');

test('DER: integers, lengths and object identifiers', () => {
  assert.equal(hex(integer(0)), '020100');
  assert.equal(hex(integer(127)), '02017f');
  assert.equal(hex(integer(128)), '02020080', 'a sign byte keeps 128 positive');
  assert.equal(hex(integer(256)), '02020100');
  assert.equal(hex(integer(Buffer.from([0, 0, 0x81]))), '02020081', 'leading zeros trimmed, sign byte kept');
  assert.equal(hex(objectIdentifier('1.2.840.113549.1.9.14')), '06092a864886f70d01090e');
  assert.equal(hex(objectIdentifier('2.5.29.17')), '0603551d11');
  assert.equal(hex(objectIdentifier('1.2.840.10045.4.3.2')), '06082a8648ce3d040302');
  assert.equal(hex(octetString(Buffer.alloc(200)).subarray(0, 3)), '0481c8');
  assert.equal(hex(octetString(Buffer.alloc(300)).subarray(0, 4)), '0482012c');
  assert.throws(() => objectIdentifier('1'), /bad OID/);
  assert.throws(() => integer(-1), /bad INTEGER/);
});

test('CSR: openssl verifies the signature and reads the subject, names and key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-csr-'));
  try {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const csrPath = join(dir, 'req.pem');
    writeFileSync(
      csrPath,
      toPem('CERTIFICATE REQUEST', createCsr(privateKey, ['app.example.com', 'www.example.com'])),
    );
    const text = execFileSync('openssl', ['req', '-in', csrPath, '-noout', '-verify', '-text'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.match(text, /Subject: CN\s?=\s?app\.example\.com/);
    assert.match(text, /DNS:app\.example\.com, DNS:www\.example\.com/);
    assert.match(text, /ecdsa-with-SHA256/);
    const pub = execFileSync('openssl', ['req', '-in', csrPath, '-noout', '-pubkey'], { encoding: 'utf8' });
    assert.equal(pub, publicKey.export({ type: 'spki', format: 'pem' }));
    const check = spawnSync('openssl', ['req', '-in', csrPath, '-noout', '-verify'], { encoding: 'utf8' });
    assert.equal(check.status, 0);
    assert.match(check.stdout + check.stderr, /verify OK/);

    // A name longer than a common name may be only goes in subjectAltName.
    const long = `${'a'.repeat(60)}.example.com`;
    writeFileSync(csrPath, toPem('CERTIFICATE REQUEST', createCsr(privateKey, [long])));
    const longText = execFileSync('openssl', ['req', '-in', csrPath, '-noout', '-verify', '-text'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.doesNotMatch(longText, /CN\s?=/);
    assert.match(longText, new RegExp(`DNS:${long.replace(/\./g, '\\.')}`));

    assert.throws(() => createCsr(privateKey, []), /at least one name/);
    assert.throws(() => createCsr(publicKey, ['a.example.com']), /EC private key/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('JWS: ES256 over protected.payload, jwk before registration, kid after, empty payload for POST-as-GET', () => {
  const key = AccountKey.generate();
  const decode = (s: string) =>
    JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
  const first = key.sign('https://ca.test/new-account', 'n1', { termsOfServiceAgreed: true }, null);
  const header = decode(first.protected);
  assert.deepEqual(Object.keys(header).sort(), ['alg', 'jwk', 'nonce', 'url']);
  assert.equal(header['alg'], 'ES256');
  assert.deepEqual(decode(first.payload), { termsOfServiceAgreed: true });
  const pub = createPublicKey({ key: header['jwk'] as never, format: 'jwk' });
  const signature = Buffer.from(first.signature, 'base64url');
  assert.equal(signature.length, 64, 'raw r||s, not DER');
  assert.ok(
    verify(
      'sha256',
      Buffer.from(`${first.protected}.${first.payload}`),
      { key: pub, dsaEncoding: 'ieee-p1363' },
      signature,
    ),
  );

  const get = key.sign('https://ca.test/order/1', 'n2', undefined, 'https://ca.test/account/1');
  assert.equal(get.payload, '');
  assert.deepEqual(decode(get.protected), {
    alg: 'ES256',
    nonce: 'n2',
    url: 'https://ca.test/order/1',
    kid: 'https://ca.test/account/1',
  });
  assert.ok(
    verify(
      'sha256',
      Buffer.from(`${get.protected}.`),
      { key: pub, dsaEncoding: 'ieee-p1363' },
      Buffer.from(get.signature, 'base64url'),
    ),
  );

  // Stored as autocert does (SEC1 PEM) and read back to the same account.
  const pem = key.toPem();
  assert.match(pem, /^-----BEGIN EC PRIVATE KEY-----/);
  const again = AccountKey.fromPem(pem);
  assert.equal(again.thumbprint, key.thumbprint);
  assert.equal(key.keyAuthorization('tok'), `tok.${key.thumbprint}`);
  assert.match(key.thumbprint, /^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256');
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({
    type: 'sec1',
    format: 'pem',
  });
  assert.throws(() => AccountKey.fromPem(p384), /ECDSA P-256/);
});

test('problem documents and Retry-After read as the RFC writes them', () => {
  assert.equal(
    describeProblem({
      type: 'urn:ietf:params:acme:error:rejectedIdentifier',
      detail: 'Error creating new order',
      subproblems: [{ type: 'urn:ietf:params:acme:error:caa', detail: 'CAA forbids' }],
    }),
    'rejectedIdentifier: Error creating new order (caa: CAA forbids)',
  );
  assert.equal(describeProblem({}), 'no detail given');
  assert.equal(parseRetryAfter(''), null);
  assert.equal(parseRetryAfter('3'), 3000);
  assert.equal(parseRetryAfter('soon'), null);
  const later = parseRetryAfter(new Date(Date.now() + 60_000).toUTCString())!;
  assert.ok(later > 55_000 && later <= 60_000, String(later));
});

test('HTTP-01 answers only the token for its own host', () => {
  const c = new Http01Challenges();
  assert.equal(c.answer('app.example.com', '/.well-known/acme-challenge/t1'), null);
  c.add('t1', 't1.thumb', 'App.Example.com');
  assert.equal(c.answer('app.example.com', '/.well-known/acme-challenge/t1'), 't1.thumb');
  assert.equal(
    c.answer('APP.example.com:80', '/.well-known/acme-challenge/t1'),
    't1.thumb',
    'port and case ignored',
  );
  assert.equal(
    c.answer('app.example.com.', '/.well-known/acme-challenge/t1'),
    't1.thumb',
    'trailing dot ignored',
  );
  assert.equal(c.answer('other.example.com', '/.well-known/acme-challenge/t1'), null);
  assert.equal(c.answer('app.example.com', '/.well-known/acme-challenge/t2'), null);
  assert.equal(c.answer('app.example.com', '/t1'), null);
  c.remove('t1');
  assert.equal(c.answer('app.example.com', '/.well-known/acme-challenge/t1'), null);
});

test('cache: autocert layout, private files, and only usable certificates are taken', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cache-'));
  try {
    // kamal-proxy scopes the cache by sha256 of the directory option ("" for Let's Encrypt).
    assert.equal(
      scopedCacheDir('/certs', ''),
      '/certs/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const cache = new CertificateCache(join(dir, 'scoped'));
    cache.write('x', 'data');
    assert.equal(statSync(join(dir, 'scoped')).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'scoped', 'x')).mode & 0o777, 0o600);
    assert.equal(cache.read('x')!.toString(), 'data');
    assert.equal(cache.read('missing'), null);

    // A file as autocert writes it: EC PRIVATE KEY then the chain (made here by openssl).
    const key = join(dir, 'k.pem');
    const cert = join(dir, 'c.pem');
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', key]);
    execFileSync('openssl', [
      'req',
      '-x509',
      '-new',
      '-key',
      key,
      '-subj',
      '/CN=app.example.com',
      '-days',
      '40',
      '-addext',
      'subjectAltName=DNS:app.example.com',
      '-out',
      cert,
    ]);
    const file = readFileSync(key, 'utf8') + readFileSync(cert, 'utf8');
    const parts = splitCertificateFile(file)!;
    assert.equal(certificateFile(parts.keyPem, parts.chainPem).trim(), file.trim());
    const entry = certificateEntry('app.example.com', file);
    assert.ok(entry.notAfter > Date.now() + 39 * 86_400_000);
    assert.throws(() => certificateEntry('www.example.com', file), /does not cover www\.example\.com/);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'sec1',
      format: 'pem',
    });
    assert.throws(
      () => certificateEntry('app.example.com', otherKey + readFileSync(cert, 'utf8')),
      /does not match/,
    );
    assert.throws(() => certificateEntry('app.example.com', 'garbage'), /no private key and certificate/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("deploy flags: --tls alone means ACME from Let's Encrypt; --tls-staging or --tls-acme-directory pick another CA", () => {
  const parse = (argv: string[]) => deployArgsFromFlags('app', parseFlags(argv, deployFlags()));
  const prod = parse(['--target=a:1', '--tls', '--host=app.example.com']).serviceOptions;
  assert.equal(prod.acmeDirectory, '');
  assert.match(prod.acmeCachePath, /certs$/);
  validateServiceOptions('app', prod);
  assert.equal(
    parse(['--target=a:1', '--tls', '--host=a.example.com', '--tls-staging']).serviceOptions.acmeDirectory,
    'https://acme-staging-v02.api.letsencrypt.org/directory',
  );
  assert.equal(
    parse(['--target=a:1', '--tls', '--host=a.example.com', '--tls-acme-directory=https://ca.internal/dir'])
      .serviceOptions.acmeDirectory,
    'https://ca.internal/dir',
  );
  assert.throws(
    () =>
      parse([
        '--target=a:1',
        '--tls',
        '--host=a.example.com',
        '--tls-staging',
        '--tls-acme-directory=https://x/d',
      ]),
    /pass only one/,
  );
  assert.throws(
    () => parse(['--target=a:1', '--tls', '--host=a.example.com', '--tls-acme-directory=ca.internal']),
    /must be an https:\/\/ URL/,
  );
  const wildcard = { ...defaultServiceOptions(), tlsEnabled: true, hosts: ['*.example.com'] };
  assert.throws(
    () => validateServiceOptions('app', wildcard),
    /automatic TLS does not support wildcard hosts/,
  );
  const onDemand = { ...defaultServiceOptions(), tlsEnabled: true, tlsOnDemandUrl: '/allow' };
  assert.doesNotThrow(() => validateServiceOptions('app', onDemand));
  assert.throws(
    () => validateServiceOptions('app', { ...onDemand, hosts: ['a.example.com'] }),
    /--host cannot be combined with --tls-on-demand-url/,
  );
  assert.throws(
    () => validateServiceOptions('app', { ...onDemand, tlsOnDemandUrl: 'allow' }),
    /must be a path \(\/allow\) or an http\(s\) URL with a host/,
  );
  assert.throws(
    () => validateServiceOptions('app', { ...onDemand, tlsEnabled: false }),
    /--tls-on-demand-url needs --tls/,
  );
});

test('TLS-ALPN-01 certificate: openssl reads the host and the critical acmeIdentifier with SHA-256 of the key authorization', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-alpn-'));
  try {
    const { cert, key } = tlsAlpnCertificate('app.example.com', 'token.thumbprint');
    const path = join(dir, 'c.pem');
    writeFileSync(path, cert);
    const text = execFileSync('openssl', ['x509', '-in', path, '-noout', '-text'], { encoding: 'utf8' });
    assert.match(text, /DNS:app\.example\.com/);
    assert.match(text, /1\.3\.6\.1\.5\.5\.7\.1\.31: critical/);
    const der = execFileSync('openssl', ['x509', '-in', path, '-outform', 'DER']);
    const digest = createHash('sha256').update('token.thumbprint').digest('hex');
    assert.ok(der.toString('hex').includes('0601050507011f0101ff04220420' + digest));
    const x = new X509Certificate(cert);
    assert.ok(x.verify(x.publicKey), 'self-signed');
    assert.ok(x.checkPrivateKey(createPrivateKey(key)));
    assert.ok(Date.parse(x.validFrom) <= Date.now() && Date.parse(x.validTo) > Date.now());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('ALPN: h2, then http/1.1, as the HTTP/2 server would; acme-tls/1 only when offered alone', () => {
  const store = new CertificateStore({ serviceForHost: () => null, services: new Map() }, Logger.silent());
  const socket = {} as TLSSocket;
  const pick = (protocols: string[]) =>
    store.alpnCallback.call(socket, { servername: 'a.example.com', protocols });
  assert.equal(pick(['http/1.1', 'h2']), 'h2');
  assert.equal(pick(['http/1.1']), 'http/1.1');
  assert.equal(pick(['acme-tls/1', 'http/1.1']), 'http/1.1');
  assert.equal(pick(['spdy/3']), undefined);
  assert.equal(pick(['acme-tls/1']), 'acme-tls/1');
  // That connection is then only ever given a challenge certificate; none is pending here.
  const result = new Promise<string>((resolve) =>
    store.sniCallback.call(socket, 'a.example.com', (err) => resolve(err?.message ?? 'context')),
  );
  return result.then((m) => assert.match(m, /no TLS-ALPN-01 challenge pending for a\.example\.com/));
});

test('EAB credentials: both or neither, the HMAC key in base64url with or without padding', () => {
  assert.equal(parseExternalAccount(undefined, undefined), null);
  assert.equal(parseExternalAccount(' ', ''), null);
  const key = Buffer.from('a secret hmac key of some length!');
  assert.deepEqual(parseExternalAccount('kid-1', key.toString('base64url')), { kid: 'kid-1', hmacKey: key });
  assert.deepEqual(parseExternalAccount('kid-1', `${key.toString('base64url')}=`)?.hmacKey, key);
  assert.throws(
    () => parseExternalAccount('kid-1', undefined),
    /EAB_KID and EAB_HMAC_KEY must be set together/,
  );
  assert.throws(() => parseExternalAccount(undefined, 'abc'), /must be set together/);
  assert.throws(() => parseExternalAccount('kid-1', 'not base64!'), /EAB_HMAC_KEY is not base64url/);
});
