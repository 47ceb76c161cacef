/**
 * The fleet is the authority on its servers' host keys: `fleet up` records
 * them in wharf's own known_hosts (the file the SSH layer trusts on first use),
 * replacing whatever an earlier fleet on the same addresses left there, and
 * `fleet down` removes them. Without this a new fleet reusing an address would
 * be refused as a changed host key.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defaultRecordFile } from '../ssh/host-keys.js';

function hostField(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

/** Rewrites `file` without the lines of `addresses` and with `entries` appended (atomically). */
export async function replaceKnownHosts(
  entries: { address: string; port: number; key: string }[],
  addresses: string[],
  file = defaultRecordFile(),
): Promise<void> {
  const drop = new Set(addresses.flatMap((a) => [a, `[${a}]:22`]));
  const existing = existsSync(file) ? (await readFile(file, 'utf8')).split('\n') : [];
  const kept = existing.filter((line) => {
    const hosts = line.trim().split(/\s+/)[0] ?? '';
    return (
      line.trim() !== '' &&
      !hosts.split(',').some((h) => drop.has(h) || [...drop].some((d) => h.startsWith(`[${d}]:`)))
    );
  });
  const lines = [...kept, ...entries.map((e) => `${hostField(e.address, e.port)} ${e.key}`)];
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp-${process.pid}`, lines.length > 0 ? `${lines.join('\n')}\n` : '', {
    mode: 0o600,
  });
  await rename(`${file}.tmp-${process.pid}`, file);
}
