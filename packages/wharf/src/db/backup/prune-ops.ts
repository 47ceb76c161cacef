/**
 * `wharf db prune --keep N`: retention for the backup repository. Keeps the
 * newest N base backups and deletes the older ones, then every archived WAL
 * segment from before the oldest kept backup's start (no restore from a kept
 * backup can read them). Timeline history files are always kept (tiny, and
 * recovery across a switchover needs them).
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import type { DbTier } from '../config.js';
import { runOn } from '../node-io.js';
import { repoEnvValues } from './archiving.js';
import { segmentPosition, type BackupMeta, type Catalog } from './catalog.js';
import { readCatalog } from './list-ops.js';
import { describeRepository, oneOff, repoMountArgs, requireBackup } from './repository.js';

export interface PrunePlan {
  /** Backups to delete, oldest first. */
  remove: BackupMeta[];
  /** Backups that stay, oldest first. */
  keep: BackupMeta[];
  /** WAL segments to delete: every one whose position is before the oldest kept backup's start. */
  wal: string[];
  /** The first segment position still needed (the oldest kept backup's start_wal position). */
  walFrom: string;
}

/** Parses --keep: a whole number of backups, at least 1. */
export function parseKeep(text: string | undefined): number {
  if (text === undefined) {
    throw new UserError(
      '`wharf db prune` needs --keep N (how many of the newest base backups to keep); nothing was deleted.',
    );
  }
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) {
    throw new UserError(
      `\`wharf db prune --keep ${text}\` must be a whole number of backups, at least 1; nothing was deleted.`,
    );
  }
  return Number(text);
}

export function planPrune(catalog: Catalog, keep: number): PrunePlan {
  const backups = catalog.backups;
  const split = Math.max(0, backups.length - keep);
  const kept = backups.slice(split);
  const oldest = kept[0]!;
  const walFrom = segmentPosition(oldest.start_wal);
  return {
    remove: backups.slice(0, split),
    keep: kept,
    wal: catalog.wal.filter((segment) => segmentPosition(segment) < walFrom),
    walFrom,
  };
}

/**
 * In a one-off container on the backup node's server: deletes each removed
 * backup's backup.json first (an interrupted prune leaves an incomplete
 * backup, which every command ignores, never a "complete" one missing
 * files), then the rest of its files, then the WAL. Prints `deleted N`.
 */
export function pruneScript(plan: PrunePlan, image: string): string {
  const labels = plan.remove.map((b) => b.label);
  for (const label of labels) {
    if (!/^[0-9A-Za-z._-]+$/.test(label)) throw new Error(`unexpected backup label ${label}`);
  }
  if (!/^[0-9A-F]{16}$/.test(plan.walFrom)) throw new Error(`unexpected WAL position ${plan.walFrom}`);
  return [
    'set -e',
    `printf '' | wharf-db-repo delete 2>/dev/null || { echo "the wharf-db-repo in ${image} cannot delete; rebuild the data-tier image with this wharf and push it" >&2; exit 4; }`,
    'k=$(mktemp)',
    ...labels.map((l) => `echo base/${l}/backup.json >> "$k"`),
    ...labels.map((l) => `wharf-db-repo list base/${l}/ | grep -v '/backup.json$' >> "$k" || true`),
    // The same rule as planPrune, applied to the listing (a plan can hold thousands of segments).
    `wharf-db-repo list wal/ | awk -v from=${plan.walFrom} '{ n = substr($0, 5) } n ~ /^[0-9A-F]+$/ && length(n) == 24 && substr(n, 9) "" < from "" { print }' >> "$k"`,
    'wharf-db-repo delete < "$k"',
    'echo "deleted $(wc -l < "$k")"',
    'rm -f "$k"',
  ].join('\n');
}

export interface PruneResult {
  repository: string;
  removed: string[];
  kept: string[];
  wal_removed: number;
  /** Oldest time a restore can reach after the prune (the oldest kept backup's end). */
  restorable_from: string;
  dry_run: boolean;
}

export async function dbPrune(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  opts: { keep: number; dryRun?: boolean; json?: boolean },
): Promise<PruneResult> {
  const backup = requireBackup(tier, 'db prune');
  const where = describeRepository(backup);
  const catalog = await readCatalog(ctx, remote, backup, { last: false });
  if (catalog.backups.length === 0) {
    throw new UserError(
      `${where} holds no complete base backup, so nothing can be pruned (WAL is kept until a backup needs less of it); run \`wharf db backup\` first.`,
    );
  }
  const plan = planPrune(catalog, opts.keep);
  const result: PruneResult = {
    repository: where,
    removed: plan.remove.map((b) => b.label),
    kept: plan.keep.map((b) => b.label),
    wal_removed: plan.wal.length,
    restorable_from: plan.keep[0]!.finished_at,
    dry_run: opts.dryRun === true,
  };
  if (!opts.dryRun && (plan.remove.length > 0 || plan.wal.length > 0)) {
    const env = await repoEnvValues(ctx, backup);
    await runOn(
      remote,
      backup.node.host,
      oneOff(
        backup.node.accessory.image,
        pruneScript(plan, backup.node.accessory.image),
        Object.keys(env),
        repoMountArgs(backup.repository),
      ),
      `delete old backups and WAL from ${where}`,
      env,
    );
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else ctx.reporter.result(formatPrune(result));
  return result;
}

export function formatPrune(r: PruneResult): string {
  const verb = r.dry_run ? 'Would delete' : 'Deleted';
  const lines = [
    r.removed.length === 0 && r.wal_removed === 0
      ? `Nothing to prune in ${r.repository}: ${r.kept.length} backup(s), no WAL older than the oldest.`
      : `${verb} ${r.removed.length} backup(s)${r.removed.length ? ` (${r.removed.join(', ')})` : ''} and ${r.wal_removed} WAL segment(s) from ${r.repository}.`,
    `Kept ${r.kept.length}: ${r.kept.join(', ')}; restores can reach back to ${r.restorable_from}.`,
  ];
  return lines.join('\n');
}
