// Custom TLS certificates (PEM files) as secure contexts for SNI.
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContext } from 'node:tls';
import { ProxyError, describeError } from './errors.js';

export interface LoadedCertificate {
  context: SecureContext;
  cert: Buffer;
  key: Buffer;
}

export function loadCertificate(service: string, certPath: string, keyPath: string): LoadedCertificate {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certPath);
  } catch (err) {
    throw new ProxyError(
      `service ${service}: cannot read TLS certificate ${certPath} (${describeError(err)}); check --tls-certificate-path`,
    );
  }
  try {
    key = readFileSync(keyPath);
  } catch (err) {
    throw new ProxyError(
      `service ${service}: cannot read TLS private key ${keyPath} (${describeError(err)}); check --tls-private-key-path`,
    );
  }
  try {
    return { context: createSecureContext({ cert, key }), cert, key };
  } catch (err) {
    throw new ProxyError(
      `service ${service}: the certificate ${certPath} and key ${keyPath} do not form a valid PEM pair (${describeError(err)})`,
    );
  }
}
