/**
 * Reading the repository (`wharf db backups`, and the first step of a
 * restore): a one-off container on the backup node's server lists the base
 * backups and archived WAL and, when asked, finds the last archived
 * transaction with pg_waldump.
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import type { BackupConfig, DbTier } from '../config.js';
import { errorText, runOn } from '../node-io.js';
import { describeArchiver, readArchiver, repoEnvValues, type ArchiverState } from './archiving.js';
import { firstGap, formatCatalog, parseCatalog, segmentPosition, type Catalog } from './catalog.js';
import { describeRepository, oneOff, repoMountArgs, requireBackup } from './repository.js';
import { catalogScript } from './scripts.js';

export async function readCatalog(
  ctx: Context,
  remote: Remote,
  backup: BackupConfig,
  options: { last: boolean },
): Promise<Catalog> {
  const env = await repoEnvValues(ctx, backup);
  const out = await runOn(
    remote,
    backup.node.host,
    oneOff(
      backup.node.accessory.image,
      catalogScript(options.last),
      Object.keys(env),
      repoMountArgs(backup.repository, true),
    ),
    'list the backup repository',
    env,
  );
  return parseCatalog(out);
}

export interface BackupsReport {
  repository: string;
  backups: Catalog['backups'];
  wal: { first: string | null; last: string | null; segments: number; histories: string[] };
  /** The first WAL position missing after the oldest backup's end (restores from older backups stop there). */
  gap: string | null;
  last_transaction_at: string | null;
  restorable: { from: string; to: string } | null;
  archiver: (ArchiverState & { node: string }) | { node: string; error: string };
}

export async function dbBackups(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  opts: { json?: boolean },
): Promise<BackupsReport> {
  const backup = requireBackup(tier, 'db backups');
  const [catalog, archiver] = await Promise.all([
    readCatalog(ctx, remote, backup, { last: true }),
    readArchiver(remote, tier, backup).then(
      (s) => ({ ...s, node: backup.node.name }),
      (e: unknown) => ({ node: backup.node.name, error: errorText(e) }),
    ),
  ]);
  const where = describeRepository(backup);
  const oldest = catalog.backups[0];
  const report: BackupsReport = {
    repository: where,
    backups: catalog.backups,
    wal: {
      first: catalog.wal[0] ?? null,
      last: catalog.wal[catalog.wal.length - 1] ?? null,
      segments: catalog.wal.length,
      histories: catalog.histories,
    },
    gap: oldest ? (firstGap(catalog.wal, segmentPosition(oldest.stop_wal), oldest.timeline) ?? null) : null,
    last_transaction_at: catalog.lastTransactionAt ?? null,
    restorable:
      catalog.backups.length > 0 && catalog.lastTransactionAt
        ? { from: catalog.backups[0]!.finished_at, to: catalog.lastTransactionAt }
        : null,
    archiver,
  };
  if (opts.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    const line =
      'error' in archiver
        ? `Archiver on ${archiver.node}: not readable (${archiver.error})`
        : describeArchiver(archiver.node, archiver);
    ctx.reporter.result(formatCatalog(where, catalog, line));
  }
  return report;
}
