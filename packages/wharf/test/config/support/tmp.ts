import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

/** A throwaway project directory with the given files. */
export function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-config-'));
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

export const MINIMAL =
  'service: app\nimage: dhh/app\nservers:\n  - 1.1.1.1\nregistry:\n  username: u\n  password: p\nbuilder:\n  arch: amd64\n';
