/**
 * Configs for the command tests, built through the real loader from small
 * deploy.yml files in a temp directory (JSON is valid YAML, so the Kamal test
 * hashes are written as they are).
 */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };

export type Raw = Record<string, unknown>;

/** Loads `raw` as config/deploy.yml (plus an empty overlay when a destination is given). */
export async function load(
  raw: Raw | string,
  options: { destination?: string; version?: string; files?: Record<string, string> } = {},
): Promise<Config> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-commands-'));
  const files: Record<string, string> = {
    'config/deploy.yml': typeof raw === 'string' ? raw : JSON.stringify(raw, null, 1),
    ...(options.destination ? { [`config/deploy.${options.destination}.yml`]: '{}\n' } : {}),
    ...(options.files ?? {}),
  };
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return loadConfig({
    cwd: dir,
    env,
    version: options.version ?? '999',
    destination: options.destination,
    localArch: 'amd64',
  });
}

/** A deep copy, for per-test changes to a shared base hash. */
export function clone<T>(value: T): T {
  return structuredClone(value);
}
