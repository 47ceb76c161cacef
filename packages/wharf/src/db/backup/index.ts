/**
 * `wharf db backup`, `wharf db backups` and point-in-time `wharf db restore`:
 * base backups and continuous WAL archiving off a standby into a repository
 * (a directory on a server, or an S3-compatible store). See docs/db.md.
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import type { DbTier } from '../config.js';

export interface BackupOptions {
  /** The node to take the base backup from (default: a streaming standby). */
  from?: string;
}

export interface PitrRestoreOptions {
  /** The accessory to restore into (it must not hold data yet, or -y replaces it). */
  into: string;
  /** Recovery target time (ISO 8601 / Postgres timestamp); default: the end of the archived WAL. */
  time?: string;
}

export async function dbBackup(
  _ctx: Context,
  _remote: Remote,
  _tier: DbTier,
  _opts: BackupOptions,
): Promise<void> {
  throw new UserError('`wharf db backup` is not implemented yet.');
}

export async function dbBackups(
  _ctx: Context,
  _remote: Remote,
  _tier: DbTier,
  _opts: { json?: boolean },
): Promise<void> {
  throw new UserError('`wharf db backups` is not implemented yet.');
}

export async function dbRestorePitr(
  _ctx: Context,
  _remote: Remote,
  _tier: DbTier,
  _opts: PitrRestoreOptions,
): Promise<void> {
  throw new UserError('Point-in-time `wharf db restore` is not implemented yet.');
}
