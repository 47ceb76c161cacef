/**
 * `wharf db backup`, `wharf db backups` and point-in-time `wharf db restore`:
 * base backups and continuous WAL archiving off a standby into a repository
 * (a directory on a server, or an S3-compatible store). See docs/db.md,
 * "Backups and point-in-time restore".
 */
export { dbBackup, backupLabel, type BackupOptions } from './backup-ops.js';
export { dbBackups, readCatalog, type BackupsReport } from './list-ops.js';
export {
  dbRestorePitr,
  restoreTarget,
  type PitrRestoreOptions,
  type PitrRestoreResult,
} from './restore-ops.js';
export { enableArchiving } from './archiving.js';
export { dbPrune, parseKeep, planPrune, pruneScript, formatPrune, type PrunePlan } from './prune-ops.js';
export { cloneArchiveScript } from './scripts.js';
