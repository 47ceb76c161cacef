/** The app version Kamal deploys: --version, else $VERSION, else the git SHA (dirty trees get a suffix). */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors.js';

export interface GitInfo {
  used: boolean;
  root?: string;
}

function git(cwd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 30_000,
  });
  return { ok: r.status === 0, out: (r.stdout ?? '').trim() };
}

export function gitInfo(cwd: string): GitInfo {
  const r = git(cwd, ['rev-parse', '--show-toplevel']);
  return r.ok ? { used: true, root: r.out } : { used: false };
}

/**
 * Resolves the version the way Kamal does. `gitClone` is whether the build
 * uses a clean clone (no builder.context): then a dirty tree does not matter.
 */
export function resolveVersion(opts: {
  declared?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  gitUsed: () => boolean;
  gitClone: () => boolean;
}): string {
  if (opts.declared !== undefined && opts.declared.trim() !== '') return opts.declared;
  if (opts.env.VERSION !== undefined) return opts.env.VERSION;
  if (!opts.gitUsed()) {
    throw new UserError(
      `There is no git repository in ${opts.cwd} to take the version from; pass --version VERSION or set VERSION.`,
    );
  }
  const rev = git(opts.cwd, ['rev-parse', 'HEAD']);
  if (!rev.ok || rev.out === '')
    throw new UserError(
      `The git repository in ${opts.cwd} has no commit to take the version from; commit first or pass --version VERSION.`,
    );
  if (!opts.gitClone()) {
    const status = git(opts.cwd, ['status', '--porcelain']);
    if (status.out !== '') return `${rev.out}_uncommitted_${randomBytes(8).toString('hex')}`;
  }
  return rev.out;
}
