/**
 * `wharf db backup`: a base backup (pg_basebackup, tar + gzip + manifest)
 * of a node, run in a one-off container on the backup node's server and
 * stored under base/<label>/ of the repository; then the primary switches
 * WAL so the backup's last segment is archived, and backup.json is written
 * last (its presence marks the backup complete).
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import { nodeNamed, type DbNode, type DbTier } from '../config.js';
import { errorText, readNodes, replicationEnv, runOn, sql, waitFor } from '../node-io.js';
import { readArchiver, repoEnvValues, requireArchiving } from './archiving.js';
import { walFileName, type BackupMeta } from './catalog.js';
import { describeRepository, oneOff, repoMountArgs, requireBackup } from './repository.js';
import { baseBackupToRepoScript, parseBaseBackupOutput, putMetaScript, SWITCH_WAL_SQL } from './scripts.js';

export interface BackupOptions {
  /** The node to take the base backup from (default: the backup node, a streaming standby). */
  from?: string;
}

/** A label that sorts by time: 20261127T050102Z. */
export function backupLabel(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

export async function dbBackup(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  opts: BackupOptions,
): Promise<BackupMeta> {
  const backup = requireBackup(tier, 'db backup');
  const source: DbNode = opts.from ? nodeNamed(tier, opts.from, 'db backup --from') : backup.node;
  const statuses = await readNodes(remote, tier);
  const writers = statuses.filter((s) => s.reachable && !s.inRecovery && !s.fenced);
  if (writers.length !== 1) {
    throw new UserError(
      `Backup refused: ${writers.length === 0 ? 'no node answers as an unfenced primary' : `${writers.map((w) => w.node).join(' and ')} are all primaries`} (${statuses.map((s) => `${s.node}: ${s.reachable ? (s.inRecovery ? 'standby' : 'primary') : 'unreachable'}`).join(', ')}); fix the tier first (\`wharf db status\`).`,
    );
  }
  const primary = tier.nodes.find((n) => n.name === writers[0]!.node)!;
  const sourceStatus = statuses.find((s) => s.node === source.name)!;
  if (!sourceStatus.reachable) {
    throw new UserError(
      `Backup refused: ${source.name} on ${source.host} does not answer (${sourceStatus.error ?? 'unreachable'}); back up from another node with --from.`,
    );
  }
  await requireArchiving(ctx, remote, tier, backup);

  // A standby's backup starts at its last restartpoint; a checkpoint on the primary gives it a recent one.
  await sql(remote, tier, primary, 'CHECKPOINT;\n', `checkpoint ${primary.name}`, { timeoutMs: 300_000 });
  const label = backupLabel(new Date());
  const env = { ...(await replicationEnv(ctx, tier)), ...(await repoEnvValues(ctx, backup)) };
  const out = await ctx.reporter.step(
    backup.node.host,
    `base backup ${label} of ${source.name} (pg_basebackup)`,
    () =>
      runOn(
        remote,
        backup.node.host,
        oneOff(
          backup.node.accessory.image,
          baseBackupToRepoScript(tier, source, label),
          Object.keys(env),
          repoMountArgs(backup.repository),
        ),
        `take base backup ${label} of ${source.name} into the repository`,
        env,
      ),
  );
  const taken = parseBaseBackupOutput(out);
  const meta: BackupMeta = {
    label,
    node: source.name,
    host: source.host,
    started_at: taken.startedAt,
    finished_at: taken.finishedAt,
    start_lsn: taken.startLsn,
    stop_lsn: taken.stopLsn,
    timeline: taken.timeline,
    start_wal: walFileName(taken.timeline, taken.startLsn),
    stop_wal: walFileName(taken.timeline, taken.stopLsn),
    bytes: taken.bytes,
  };

  // The segment holding the backup's end is archived once it is complete: switch WAL on the primary and wait.
  await sql(remote, tier, primary, SWITCH_WAL_SQL, `switch WAL on ${primary.name}`);
  const archived = await waitFor(
    async () => {
      const s = await readArchiver(remote, tier, backup).catch(() => undefined);
      const last = s?.last_archived_wal?.slice(0, 24);
      return last && /^[0-9A-F]{24}$/.test(last) && last >= meta.stop_wal ? last : undefined;
    },
    120_000,
    async () => {
      const s = await readArchiver(remote, tier, backup).catch((e: unknown) => ({ error: errorText(e) }));
      return new UserError(
        `Backup ${label} is stored but ${backup.node.name} did not archive WAL up to ${meta.stop_wal} within 120 s (${'error' in s ? s.error : `last archived ${s.last_archived_wal ?? 'none'}, last failed ${s.last_failed_wal ?? 'none'}`}); look at \`wharf accessory logs ${backup.node.name}\` for wharf-db-repo's message, then run \`wharf db backup\` again.`,
      );
    },
    500,
  );
  const repo = await repoEnvValues(ctx, backup);
  await remote.run(
    backup.node.host,
    oneOff(
      backup.node.accessory.image,
      putMetaScript(meta),
      Object.keys(repo),
      repoMountArgs(backup.repository),
    ),
    `write backup.json of ${label}`,
    { env: repo, stdin: `${JSON.stringify(meta)}\n`, timeoutMs: 120_000 },
  );
  ctx.reporter.result(
    `Backup ${label} of ${source.name} is in ${describeRepository(backup)}: ${(meta.bytes / 1024 / 1024).toFixed(1)} MB, WAL ${meta.start_lsn}..${meta.stop_lsn} on timeline ${meta.timeline}, archived through ${archived}.`,
  );
  return meta;
}
