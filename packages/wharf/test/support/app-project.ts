/**
 * Test support: a throwaway copy of examples/hello as its own git repository,
 * pointed at a fleet through the environment its deploy.yml reads.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FleetDescription } from '../../src/fleet/plan.js';

export const EXAMPLE_DIR = fileURLToPath(new URL('../../../../../examples/hello', import.meta.url));

export interface AppProject {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Rewrites a file and commits it; returns the new commit's SHA. */
  commit(file: string, transform: (text: string) => string, message: string): string;
  /**
   * Writes (string) or deletes (null) files, paths relative to the project,
   * and commits them all; returns the new commit's SHA.
   */
  change(files: Record<string, string | null>, message: string): string;
  head(): string;
}

export interface AppProjectOptions {
  /** Files to write (or, with null, delete) in the copy before its first commit. */
  files?: Record<string, string | null>;
  /** Changes to files of the copy before its first commit, e.g. to config/deploy.yml. */
  edit?: Record<string, (text: string) => string>;
}

function applyFiles(dir: string, files: Record<string, string | null>): void {
  for (const [file, content] of Object.entries(files)) {
    const path = join(dir, file);
    if (content === null) rmSync(path, { force: true });
    else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
  }
}

function git(dir: string, args: string[]): string {
  return execFileSync('git', args, { cwd: dir, encoding: 'utf8' }).trim();
}

export function appProject(
  fleet: FleetDescription,
  example = EXAMPLE_DIR,
  options: AppProjectOptions = {},
): AppProject {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-app-'));
  cpSync(example, dir, { recursive: true });
  applyFiles(dir, options.files ?? {});
  for (const [file, transform] of Object.entries(options.edit ?? {})) {
    const path = join(dir, file);
    writeFileSync(path, transform(readFileSync(path, 'utf8')));
  }
  git(dir, ['init', '-q', '-b', 'main']);
  git(dir, ['config', 'user.email', 'test@wharf.invalid']);
  git(dir, ['config', 'user.name', 'wharf test']);
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'hello']);
  const env: NodeJS.ProcessEnv = {
    DOCKER_HOST: fleet.docker_host,
    WHARF_FLEET_REGISTRY: fleet.registry,
    WHARF_FLEET_SSH_KEY: fleet.ssh_key,
    ...Object.fromEntries(fleet.servers.map((s, i) => [`WHARF_FLEET_HOST_${i + 1}`, s.address])),
  };
  return {
    dir,
    env,
    commit(file, transform, message) {
      const path = join(dir, file);
      writeFileSync(path, transform(readFileSync(path, 'utf8')));
      git(dir, ['commit', '-q', '-am', message]);
      return git(dir, ['rev-parse', 'HEAD']);
    },
    change(files, message) {
      applyFiles(dir, files);
      git(dir, ['add', '-A']);
      git(dir, ['commit', '-q', '-m', message]);
      return git(dir, ['rev-parse', 'HEAD']);
    },
    head: () => git(dir, ['rev-parse', 'HEAD']),
  };
}

/** GET http://ADDRESS/PATH through wharf-proxy on a fleet server. */
export async function httpGet(address: string, path = '/'): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { status: response.status, body: await response.text() };
}
