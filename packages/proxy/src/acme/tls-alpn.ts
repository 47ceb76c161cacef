// TLS-ALPN-01 (RFC 8737): the CA connects to port 443 with SNI = the host
// and ALPN = ["acme-tls/1"] only; the proxy answers with a self-signed
// certificate for the host whose critical acmeIdentifier extension holds the
// SHA-256 of the key authorization. The certificate is built here in DER.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  bitString,
  boolean,
  contextConstructed,
  contextPrimitive,
  integer,
  objectIdentifier,
  octetString,
  sequence,
  set,
  tlv,
  toPem,
  utf8String,
} from './asn1.js';

export const ACME_TLS_ALPN_PROTOCOL = 'acme-tls/1';

const OID_COMMON_NAME = '2.5.4.3';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_ACME_IDENTIFIER = '1.3.6.1.5.5.7.1.31';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/** The challenge certificate and key (PEM) for `host`. */
export function tlsAlpnCertificate(host: string, keyAuthorization: string): { cert: string; key: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const digest = createHash('sha256').update(keyAuthorization).digest();
  const now = Date.now();
  const name = sequence(set(sequence(objectIdentifier(OID_COMMON_NAME), utf8String('ACME challenge'))));
  const algorithm = sequence(objectIdentifier(OID_ECDSA_WITH_SHA256));
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const extensions = sequence(
    sequence(
      objectIdentifier(OID_SUBJECT_ALT_NAME),
      octetString(sequence(contextPrimitive(2, Buffer.from(host, 'ascii')))),
    ),
    sequence(objectIdentifier(OID_ACME_IDENTIFIER), boolean(true), octetString(octetString(digest))),
  );
  const tbs = sequence(
    contextConstructed(0, integer(2)),
    integer(serial),
    algorithm,
    name,
    sequence(utcTime(now - 60_000), utcTime(now + 7 * 86_400_000)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    contextConstructed(3, extensions),
  );
  const signature = sign('sha256', tbs, { key: privateKey, dsaEncoding: 'der' });
  const der = sequence(tbs, algorithm, bitString(signature));
  return {
    cert: toPem('CERTIFICATE', der),
    key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/** UTCTime (YYMMDDHHMMSSZ), valid for years 1950-2049. */
function utcTime(ms: number): Buffer {
  const iso = new Date(ms).toISOString(); // 2026-11-27T02:33:00.000Z
  const text =
    iso.slice(2, 4) +
    iso.slice(5, 7) +
    iso.slice(8, 10) +
    iso.slice(11, 13) +
    iso.slice(14, 16) +
    iso.slice(17, 19) +
    'Z';
  return tlv(0x17, Buffer.from(text, 'ascii'));
}

/** Challenge certificates by host, while a TLS-ALPN-01 authorization is pending. */
export class TlsAlpnChallenges {
  private readonly contexts = new Map<string, SecureContext>();

  add(host: string, keyAuthorization: string): void {
    const { cert, key } = tlsAlpnCertificate(host, keyAuthorization);
    this.contexts.set(host.toLowerCase(), createSecureContext({ cert, key }));
  }

  remove(host: string): void {
    this.contexts.delete(host.toLowerCase());
  }

  get(host: string): SecureContext | null {
    return this.contexts.get(host.toLowerCase()) ?? null;
  }
}
