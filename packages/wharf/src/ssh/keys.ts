import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import ssh2 from 'ssh2';

export interface KeyPairFiles {
  privateKeyPath: string;
  publicKey: string;
}

/** Creates an ed25519 key pair in OpenSSH format at `path` (and `path.pub`) unless one is there. */
export async function ensureKeyPair(path: string, comment: string): Promise<KeyPairFiles> {
  if (!existsSync(path)) {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const pair = ssh2.utils.generateKeyPairSync('ed25519', { comment });
    await writeFile(path, pair.private, { mode: 0o600 });
    await writeFile(`${path}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  }
  await chmod(path, 0o600);
  const publicKey = (await readFile(`${path}.pub`, 'utf8')).trim();
  return { privateKeyPath: path, publicKey };
}

/** `ssh-ed25519 AAAA…` from the raw SSH wire-format host key ssh2 hands to a host verifier. */
export function hostKeyLine(raw: Buffer): string {
  const length = raw.readUInt32BE(0);
  const type = raw.subarray(4, 4 + length).toString('ascii');
  return `${type} ${raw.toString('base64')}`;
}
