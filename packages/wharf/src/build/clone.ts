/**
 * Building from a clean clone of the current commit, as Kamal does when
 * `builder.context` is unset: the repository is cloned into
 * `<tmpdir>/kamal-clones/<service>-<sha256(cwd)[0..12]>` (the same cache
 * directory Kamal uses, so switching tools reuses it), and on later builds
 * that clone is brought to the current commit with fetch / reset / clean
 * instead of cloning again. Uncommitted changes are therefore never built.
 */
import { createHash } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { tmpdir as osTmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFile } from '../util/exec.js';
import { firstLine, UserError } from '../util/errors.js';
import { gitRevision, gitRoot } from './git.js';
import { command, kamalText, w, words, type Command, type Word } from './words.js';

export interface ClonePaths {
  /** `<tmpdir>/kamal-clones/<service>-<13 hex of sha256(cwd)>`. */
  cloneDirectory: string;
  /** The clone's counterpart of cwd: `<cloneDirectory>/<repo basename>/<cwd relative to the repo root>`. */
  buildDirectory: string;
}

/** `<tmpdir>/kamal-clones/<service>-<13 hex of sha256(cwd)>` (Ruby's [0..12] is inclusive). */
export function cloneDirectoryFor(input: { service: string; cwd: string; tmpdir?: string }): string {
  const sha = createHash('sha256').update(input.cwd).digest('hex').slice(0, 13);
  return join(input.tmpdir ?? osTmpdir(), 'kamal-clones', `${input.service}-${sha}`);
}

export function clonePaths(input: {
  service: string;
  cwd: string;
  gitRoot: string;
  tmpdir?: string;
}): ClonePaths {
  const cloneDirectory = cloneDirectoryFor(input);
  const relative = input.cwd.startsWith(input.gitRoot) ? input.cwd.slice(input.gitRoot.length) : '';
  return { cloneDirectory, buildDirectory: join(cloneDirectory, basename(input.gitRoot), relative) };
}

/** Ruby's Shellwords.escape, for Kamal's rendering of paths. */
export function rubyShellEscape(text: string): string {
  if (text === '') return "''";
  return text.replace(/[^A-Za-z0-9_\-.,:+/@\n]/g, '\\$&').replace(/\n/g, "'\n'");
}

function path(value: string): Word {
  return { value, text: rubyShellEscape(value) };
}

function git(dir: string, ...args: (string | Word)[]): Command {
  return command([w('git'), w('-C'), path(dir), ...args.map((a) => (typeof a === 'string' ? w(a) : a))]);
}

/** `git -C <clone dir> clone <root> --recurse-submodules` */
export function cloneCommand(root: string, paths: ClonePaths): Command {
  return git(paths.cloneDirectory, 'clone', path(root), '--recurse-submodules');
}

/** Bringing an existing clone to `revision`: set-url, fetch, reset --hard, clean -fdx, submodules, gc --auto. */
export function cloneResetCommands(root: string, paths: ClonePaths, revision: string): Command[] {
  const dir = paths.buildDirectory;
  return [
    git(dir, 'remote', 'set-url', 'origin', path(root)),
    git(dir, 'fetch', 'origin'),
    git(dir, 'reset', '--hard', revision),
    git(dir, 'clean', '-fdx'),
    git(dir, 'submodule', 'update', '--init'),
    git(dir, 'gc', '--auto', '--quiet'),
  ];
}

export function cloneStatusCommand(paths: ClonePaths): Command {
  return git(paths.buildDirectory, 'status', '--porcelain');
}

export function cloneRevisionCommand(paths: ClonePaths): Command {
  return git(paths.buildDirectory, 'rev-parse', 'HEAD');
}

export interface PrepareCloneOptions {
  service: string;
  cwd: string;
  tmpdir?: string;
  /** Progress lines (commands run, the retry after a broken clone). */
  log?: (line: string) => void;
}

export interface PreparedClone extends ClonePaths {
  revision: string;
  root: string;
}

class CloneError extends Error {}

async function runGit(cmd: Command, log: (line: string) => void): Promise<string> {
  log(kamalText(cmd));
  const [file, ...args] = cmd.words.map((word) => word.value);
  let result;
  try {
    result = await execFile(file!, args, { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  } catch (error) {
    throw new UserError(
      'git is not installed; install git (on Debian: apt-get install -y git) and run again.',
      {
        cause: error,
      },
    );
  }
  if (result.code !== 0)
    throw new CloneError(firstLine(result.stderr || result.stdout) || `git exited with ${result.code}`);
  return result.stdout;
}

/**
 * Makes the clone directory hold a clean checkout of the current commit and
 * returns where to build. A clone that cannot be reset or validated is
 * deleted and cloned afresh once; a second failure is a UserError.
 */
export async function prepareClone(options: PrepareCloneOptions): Promise<PreparedClone> {
  const log = options.log ?? (() => {});
  const root = await gitRoot(options.cwd);
  const revision = await gitRevision(options.cwd);
  const paths = clonePaths({
    service: options.service,
    cwd: options.cwd,
    gitRoot: root,
    ...(options.tmpdir ? { tmpdir: options.tmpdir } : {}),
  });

  const cloneRepo = async () => {
    log(`Cloning repo into build directory \`${paths.buildDirectory}\`...`);
    await mkdir(paths.cloneDirectory, { recursive: true });
    await runGit(cloneCommand(root, paths), log);
  };
  const validate = async () => {
    const status = (await runGit(cloneStatusCommand(paths), log)).trim();
    if (status !== '') throw new CloneError(`the clone is dirty (${status.split('\n')[0]})`);
    const head = (await runGit(cloneRevisionCommand(paths), log)).trim();
    if (head !== revision) throw new CloneError(`the clone is at ${head}, not at ${revision}`);
  };

  try {
    try {
      await cloneRepo();
    } catch (error) {
      if (
        !(error instanceof CloneError) ||
        !/already exists and is not an empty directory/.test(error.message)
      )
        throw error;
      log(`Resetting local clone as \`${paths.buildDirectory}\` already exists...`);
      for (const step of cloneResetCommands(root, paths, revision)) await runGit(step, log);
    }
    await validate();
  } catch (error) {
    if (!(error instanceof CloneError)) throw error;
    log(`Error preparing clone: ${error.message}, deleting and retrying...`);
    await rm(paths.cloneDirectory, { recursive: true, force: true });
    try {
      await cloneRepo();
      await validate();
    } catch (retryError) {
      if (!(retryError instanceof CloneError)) throw retryError;
      throw new UserError(
        `Could not prepare a clean clone of ${root} at ${revision.slice(0, 12)} in ${paths.cloneDirectory} (${retryError.message}); check that the commit is on a branch, or set builder.context to build from a directory instead.`,
      );
    }
  }
  return { ...paths, revision, root };
}
