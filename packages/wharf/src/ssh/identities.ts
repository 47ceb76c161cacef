/**
 * The private keys (and ssh-agent) a connection offers, in Kamal's terms:
 * `ssh.keys` (files), `ssh.key_data` (key text, usually from secrets),
 * IdentityFile lines from the OpenSSH config, and the usual default files
 * when nothing else is given; `keys_only` (or IdentitiesOnly) leaves the
 * agent out.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';

export interface IdentitySource {
  /** Where it came from, for messages: a file path or `ssh.key_data[0]`. Never the key itself. */
  label: string;
  path?: string;
  data?: string | Buffer;
}

export interface Identity {
  label: string;
  key: Buffer;
}

export interface AuthPlan {
  identities: Identity[];
  /** ssh-agent socket to try first, when allowed. */
  agent?: string;
  /** Keys that could not be used (encrypted without an agent, unreadable, not a private key), for messages. */
  skipped: string[];
}

export function defaultIdentityFiles(home: string = homedir()): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((name) => join(home, '.ssh', name));
}

export function expandHomePath(path: string, home: string = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}

/** Reads and parses every source; keys that can't be used are listed in `skipped`. */
export async function loadAuthPlan(
  sources: readonly IdentitySource[],
  agent: string | undefined,
): Promise<AuthPlan> {
  const identities: Identity[] = [];
  const skipped: string[] = [];
  for (const source of sources) {
    let key: Buffer;
    try {
      key = source.data !== undefined ? Buffer.from(source.data) : await readFile(source.path!);
    } catch (error) {
      skipped.push(
        `${source.label} (${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'unreadable'})`,
      );
      continue;
    }
    const parsed = ssh2.utils.parseKey(key);
    if (parsed instanceof Error) {
      skipped.push(
        `${source.label} (${/passphrase|encrypt/i.test(parsed.message) ? 'encrypted; load it into ssh-agent' : 'not a private key'})`,
      );
      continue;
    }
    const first = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!first || !first.isPrivateKey()) {
      skipped.push(`${source.label} (not a private key)`);
      continue;
    }
    identities.push({ label: source.label, key });
  }
  return { identities, ...(agent ? { agent } : {}), skipped };
}

/** Paths to offer: the explicit ones, else the defaults that exist. */
export function identitySources(options: {
  keys?: readonly string[];
  keyData?: readonly string[];
  configFiles?: readonly string[];
  home?: string;
}): IdentitySource[] {
  const home = options.home ?? homedir();
  const sources: IdentitySource[] = [];
  const seen = new Set<string>();
  const addPath = (path: string): void => {
    const full = expandHomePath(path, home);
    if (seen.has(full)) return;
    seen.add(full);
    sources.push({ label: full, path: full });
  };
  for (const path of options.keys ?? []) addPath(path);
  (options.keyData ?? []).forEach((data, index) => sources.push({ label: `ssh.key_data[${index}]`, data }));
  for (const path of options.configFiles ?? []) addPath(path);
  if (sources.length === 0) {
    for (const path of defaultIdentityFiles(home)) if (existsSync(path)) addPath(path);
  }
  return sources;
}
