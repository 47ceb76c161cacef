/**
 * The few facts about the local git checkout a build needs (Kamal::Git):
 * whether this is a repository, its root, the current commit and whether the
 * working tree has uncommitted changes. Each runs `git` without a shell.
 */
import { execFile } from '../util/exec.js';
import { firstLine, UserError } from '../util/errors.js';

const GIT_ENV = { GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };

async function git(cwd: string, args: string[]) {
  try {
    return await execFile('git', args, { cwd, env: { ...process.env, ...GIT_ENV } });
  } catch (error) {
    throw new UserError(
      'git is not installed; install git (on Debian: apt-get install -y git) and run again.',
      {
        cause: error,
      },
    );
  }
}

async function gitOut(cwd: string, args: string[], what: string): Promise<string> {
  const result = await git(cwd, args);
  if (result.code !== 0) {
    throw new UserError(
      `${what} failed in ${cwd}: ${firstLine(result.stderr || result.stdout) || `git exited with ${result.code}`}.`,
    );
  }
  return result.stdout;
}

/** `git rev-parse` succeeds: cwd is inside a work tree. */
export async function gitUsed(cwd: string): Promise<boolean> {
  const result = await git(cwd, ['rev-parse', '--is-inside-work-tree']);
  return result.code === 0 && result.stdout.trim() === 'true';
}

export async function gitRoot(cwd: string): Promise<string> {
  return (await gitOut(cwd, ['rev-parse', '--show-toplevel'], 'Finding the git repository root')).trim();
}

export async function gitRevision(cwd: string): Promise<string> {
  const result = await git(cwd, ['rev-parse', 'HEAD']);
  if (result.code !== 0) {
    throw new UserError(
      `The git repository in ${cwd} has no commit yet; commit your code (git commit) or pass --version, then run again.`,
    );
  }
  return result.stdout.trim();
}

/** `git status --porcelain`, trimmed: empty when the tree is clean (untracked files count, as in Kamal). */
export async function gitUncommittedChanges(cwd: string): Promise<string> {
  return (await gitOut(cwd, ['status', '--porcelain'], 'Checking for uncommitted changes')).trim();
}

/** `git ls-files --modified`: tracked files with uncommitted changes, relative to cwd. */
export async function gitModifiedFiles(cwd: string): Promise<string[]> {
  const out = await gitOut(cwd, ['ls-files', '--modified'], 'Listing modified files');
  return [...new Set(out.split('\n').filter(Boolean))];
}

/** `git ls-files --others --exclude-standard`: untracked files that .gitignore does not exclude. */
export async function gitUntrackedFiles(cwd: string): Promise<string[]> {
  const out = await gitOut(cwd, ['ls-files', '--others', '--exclude-standard'], 'Listing untracked files');
  return out.split('\n').filter(Boolean);
}
