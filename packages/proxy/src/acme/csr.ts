// PKCS#10 certificate signing requests (RFC 2986) for DNS names, signed with
// an ECDSA P-256 key, as ACME's finalize step expects (RFC 8555 §7.4).
import { createPublicKey, sign, type KeyObject } from 'node:crypto';
import {
  bitString,
  contextConstructed,
  contextPrimitive,
  integer,
  objectIdentifier,
  octetString,
  sequence,
  set,
  utf8String,
} from './asn1.js';

const OID_COMMON_NAME = '2.5.4.3';
const OID_EXTENSION_REQUEST = '1.2.840.113549.1.9.14';
const OID_SUBJECT_ALT_NAME = '2.5.29.17';
const OID_ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

/**
 * DER of a CSR whose subject is CN=<first name> (when it fits X.509's 64
 * character limit; otherwise the subject is empty) and whose subjectAltName
 * extension request lists every name.
 */
export function createCsr(privateKey: KeyObject, names: readonly string[]): Buffer {
  if (names.length === 0) throw new RangeError('a CSR needs at least one name');
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ec') {
    throw new RangeError('the CSR key must be an EC private key');
  }
  const publicKeyInfo = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const first = names[0]!;
  const subject =
    first.length <= 64
      ? sequence(set(sequence(objectIdentifier(OID_COMMON_NAME), utf8String(first))))
      : sequence();
  const altNames = sequence(...names.map((n) => contextPrimitive(2, Buffer.from(n, 'ascii'))));
  const extensions = sequence(sequence(objectIdentifier(OID_SUBJECT_ALT_NAME), octetString(altNames)));
  // attributes [0] IMPLICIT SET OF Attribute, with one extensionRequest attribute.
  const attributes = contextConstructed(
    0,
    sequence(objectIdentifier(OID_EXTENSION_REQUEST), set(extensions)),
  );
  const info = sequence(integer(0), subject, publicKeyInfo, attributes);
  const signature = sign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return sequence(info, sequence(objectIdentifier(OID_ECDSA_WITH_SHA256)), bitString(signature));
}
