/**
 * Pure builders for the backup repository: the environment that tells
 * `wharf-db-repo` where the repository is, the mount a one-off container
 * needs for a directory repository, and the one-off `docker run` itself.
 * Every value travels as an environment variable named in `-e NAME` and
 * filled by the SSH layer's stdin preamble, so credentials appear in no
 * command line.
 */
import { isAbsolute } from 'node:path/posix';
import { docker, singleQuoted, type Command } from '../../commands/base.js';
import { UserError } from '../../util/errors.js';
import { DB_CONFIG_KEY, type BackupConfig, type BackupRepository, type DbTier } from '../config.js';

/** The tier's backup block, or a sentence saying how to declare one. */
export function requireBackup(tier: DbTier, command: string): BackupConfig {
  if (!tier.backup) {
    throw new UserError(
      `\`wharf ${command}\` needs a backup repository, and ${DB_CONFIG_KEY} has no backup block; add \`backup: {path: /backups}\` (a directory the standby mounts) or \`backup: {s3: …}\` to it (see docs/db.md "Backups and point-in-time restore").`,
    );
  }
  return tier.backup;
}

/** The WHARF_REPO_* variables for wharf-db-repo (secret values looked up by name). */
export function repoEnv(repo: BackupRepository, lookup: (name: string) => string): Record<string, string> {
  if (repo.kind === 'path') return { WHARF_REPO_PATH: repo.containerPath };
  return {
    WHARF_REPO_S3_ENDPOINT: repo.endpoint,
    WHARF_REPO_S3_BUCKET: repo.bucket,
    WHARF_REPO_S3_PREFIX: repo.prefix,
    WHARF_REPO_S3_REGION: repo.region,
    WHARF_REPO_S3_KEY_ID: lookup(repo.accessKeyIdSecret),
    WHARF_REPO_S3_SECRET: lookup(repo.secretAccessKeySecret),
    WHARF_REPO_S3_PART_BYTES: String(repo.partBytes),
  };
}

/** `--volume HOST:CONTAINER` for a directory repository (nothing for S3). */
export function repoMountArgs(repo: BackupRepository, readOnly = false): string[] {
  if (repo.kind !== 'path') return [];
  const host = isAbsolute(repo.hostPath) ? repo.hostPath : `$PWD/${repo.hostPath}`;
  return ['--volume', `${host}:${repo.containerPath}${readOnly ? ':ro' : ''}`];
}

/** One line naming the repository for people (no secrets). */
export function describeRepository(backup: BackupConfig): string {
  const r = backup.repository;
  return r.kind === 'path'
    ? `the directory ${r.containerPath} of ${backup.node.name} on ${backup.node.host}`
    : `s3://${r.bucket}${r.prefix ? `/${r.prefix}` : ''} at ${r.endpoint}`;
}

/**
 * A one-off container on `image` that runs a shell script as root with the
 * named environment variables and extra `docker run` arguments (mounts).
 */
export function oneOff(image: string, script: string, envNames: string[], extra: string[] = []): Command {
  return docker(
    'run',
    '--rm',
    '-i',
    ...envNames.flatMap((n) => ['-e', n]),
    ...extra,
    '--entrypoint',
    'sh',
    image,
    '-c',
    singleQuoted(script),
  );
}
