// The certificate cache on disk, in autocert's DirCache layout so a volume
// written by kamal-proxy is read as is (and the other way round):
//   <--tls-acme-cache-path>/<sha256 hex of the ACME directory option>/
//     acme_account+key   the account key (EC PRIVATE KEY PEM)
//     <host>             the certificate key (EC PRIVATE KEY PEM) then the chain
// Directories are 0700, files 0600, written to a temporary name and renamed.
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

export const ACCOUNT_KEY_NAME = 'acme_account+key';

/** kamal-proxy's ScopedCachePath: the cache path joined with sha256(directory option) in hex. */
export function scopedCacheDir(cachePath: string, directoryOption: string): string {
  return join(cachePath, createHash('sha256').update(directoryOption).digest('hex'));
}

export class CertificateCache {
  constructor(readonly dir: string) {}

  read(name: string): Buffer | null {
    try {
      return readFileSync(join(this.dir, name));
    } catch {
      return null;
    }
  }

  write(name: string, data: string | Buffer): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const path = join(this.dir, name);
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temp, path);
    } catch (err) {
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
      throw err;
    }
  }
}

/** The cache file for a host: the private key PEM followed by the chain. */
export function certificateFile(keyPem: string, chainPem: string): string {
  return keyPem.trimEnd() + '\n' + chainPem.trimStart();
}

/** Splits a cache file into its private key PEM and certificate chain PEM. */
export function splitCertificateFile(data: string): { keyPem: string; chainPem: string } | null {
  const key = /-----BEGIN ([A-Z ]*PRIVATE KEY)-----[\s\S]*?-----END \1-----/.exec(data);
  const certs = data.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (key === null || certs === null) return null;
  return { keyPem: key[0] + '\n', chainPem: certs.join('\n') + '\n' };
}
