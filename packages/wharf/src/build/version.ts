/**
 * The version a build is tagged with (Kamal's Configuration#version):
 * `--version` when given, else the VERSION environment variable, else the
 * current commit. Building from a context other than the clean clone with
 * uncommitted changes appends `_uncommitted_<16 random hex>`, so such an image
 * is never mistaken for the commit.
 */
import { randomBytes } from 'node:crypto';
import { UserError } from '../util/errors.js';
import { gitRevision, gitUncommittedChanges, gitUsed } from './git.js';

export interface VersionInput {
  cwd: string;
  /** `--version`. */
  explicit?: string | undefined;
  /** Defaults to process.env (VERSION is read from it). */
  env?: NodeJS.ProcessEnv;
  /**
   * Whether the build uses the clean git clone (no `builder.context`); then
   * uncommitted changes are not in the image and the version stays the bare commit.
   * Default true.
   */
  cloneBuild?: boolean;
}

export async function resolveVersion(input: VersionInput): Promise<string> {
  const explicit = input.explicit?.trim();
  if (explicit) return explicit;
  const fromEnv = (input.env ?? process.env).VERSION?.trim();
  if (fromEnv) return fromEnv;
  if (!(await gitUsed(input.cwd))) {
    throw new UserError(
      `There is no git repository in ${input.cwd} to take the version from; run wharf inside your app's git checkout, or pass --version (or set VERSION).`,
    );
  }
  const revision = await gitRevision(input.cwd);
  const cloneBuild = input.cloneBuild ?? true;
  if (!cloneBuild && (await gitUncommittedChanges(input.cwd)) !== '') {
    return `${revision}${uncommittedSuffix()}`;
  }
  return revision;
}

/** `_uncommitted_` and 16 random hex digits (Kamal: SecureRandom.hex(8)). */
export function uncommittedSuffix(): string {
  return `_uncommitted_${randomBytes(8).toString('hex')}`;
}

/** Kamal's abbreviated version: the first 7 characters, unless it carries a suffix. */
export function abbreviatedVersion(version: string): string {
  return version.includes('_') ? version : version.slice(0, 7);
}
