/**
 * OpenSSH known_hosts files: parsing, host matching (plain, wildcard, negated,
 * `[host]:port` and hashed `|1|salt|hash` entries) and the verdict for a key a
 * server presents. Pure functions; reading and recording files is in
 * host-keys.ts.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';

export interface KnownHostEntry {
  file: string;
  /** 1-based line number in `file`. */
  line: number;
  marker?: '@revoked' | '@cert-authority';
  /** The host field as written: comma-separated patterns, or one hashed name. */
  hosts: string;
  keyType: string;
  /** The key blob (SSH wire format), base64 as in the file. */
  keyBase64: string;
}

/** Parses a known_hosts file's text. Comments, blank and malformed lines are skipped. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') {
      marker = fields.shift() as KnownHostEntry['marker'];
    } else if (fields[0]?.startsWith('@')) {
      return;
    }
    const [hosts, keyType, keyBase64] = fields;
    if (!hosts || !keyType || !keyBase64) return;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return;
    entries.push({ file, line: index + 1, ...(marker ? { marker } : {}), hosts, keyType, keyBase64 });
  });
  return entries;
}

/** The name OpenSSH looks up for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's wildcard match: `*` any run, `?` one character, case-insensitive. */
export function wildcardMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // Iterative glob with backtracking on the last star.
  let pi = 0;
  let ti = 0;
  let star = -1;
  let mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === '?' || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === '*') {
      star = pi++;
      mark = ti;
    } else if (star !== -1) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.length && p[pi] === '*') pi++;
  return pi === p.length;
}

/**
 * True when a comma-separated pattern list matches `name`: some positive
 * pattern matches and no negated (`!`) one does.
 */
export function patternListMatches(list: string, name: string): boolean {
  let matched = false;
  for (const raw of list.split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (wildcardMatch(pattern, name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** `|1|salt|hash` for `name` (HMAC-SHA1 keyed by the salt), as `HashKnownHosts yes` writes. */
export function hashHostName(name: string, salt: Buffer = randomBytes(20)): string {
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

function hashedMatches(field: string, name: string): boolean {
  const parts = field.split('|');
  // ['', '1', salt, hash]
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  return hashHostName(name, salt) === field;
}

/** True when the entry's host field names this host and port. */
export function entryMatchesHost(entry: KnownHostEntry, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (entry.hosts.startsWith('|')) return hashedMatches(entry.hosts, name);
  return patternListMatches(entry.hosts, name);
}

/** `SHA256:…` fingerprint of a key blob, as `ssh-keygen -l` prints it. */
export function keyFingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type written inside an SSH wire-format key blob (`ssh-ed25519`, `ssh-rsa`, …). */
export function blobKeyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + length).toString('ascii');
}

export type HostKeyVerdict =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'revoked'; entry: KnownHostEntry }
  | { status: 'mismatch'; entry: KnownHostEntry }
  | { status: 'unknown' };

/**
 * What the entries say about `blob` presented by host:port. A revoked key is
 * refused; a recorded key matches; a host with other recorded keys is a
 * mismatch (wharf asks the server for a recorded key type first, see
 * hostKeyAlgorithmsFor, so a different type means the server changed); a host
 * with no entries is unknown. `@cert-authority` lines are not used (host
 * certificates are not supported), so they count for nothing.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  blob: Buffer,
): HostKeyVerdict {
  const presented = blob.toString('base64');
  const forHost = entries.filter((e) => e.marker !== '@cert-authority' && entryMatchesHost(e, host, port));
  const revoked = forHost.find((e) => e.marker === '@revoked' && sameKey(e.keyBase64, presented));
  if (revoked) return { status: 'revoked', entry: revoked };
  const plain = forHost.filter((e) => e.marker === undefined);
  const known = plain.find((e) => sameKey(e.keyBase64, presented));
  if (known) return { status: 'known', entry: known };
  if (plain.length > 0) {
    const type = blobKeyType(blob);
    return { status: 'mismatch', entry: plain.find((e) => e.keyType === type) ?? plain[0]! };
  }
  return { status: 'unknown' };
}

function sameKey(a: string, b: string): boolean {
  return a.replace(/=+$/, '') === b.replace(/=+$/, '');
}

/** Host key algorithms ssh2 supports, in its default order. */
export const DEFAULT_HOST_KEY_ALGORITHMS = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
] as const;

const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

/**
 * The host key algorithm preference for a host: the types already recorded
 * for it first (as OpenSSH does), so a server with several host keys presents
 * the one we know instead of tripping a false mismatch.
 */
export function hostKeyAlgorithmsFor(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
): string[] {
  const known = entries.filter((e) => e.marker === undefined && entryMatchesHost(e, host, port));
  const first: string[] = [];
  for (const entry of known) {
    for (const algorithm of ALGORITHMS_FOR_TYPE[entry.keyType] ?? [])
      if (!first.includes(algorithm)) first.push(algorithm);
  }
  return [...first, ...DEFAULT_HOST_KEY_ALGORITHMS.filter((a) => !first.includes(a))];
}

/** The line wharf records for a first-seen host. */
export function knownHostsLine(host: string, port: number, blob: Buffer): string {
  return `${knownHostName(host, port)} ${blobKeyType(blob)} ${blob.toString('base64')}`;
}
