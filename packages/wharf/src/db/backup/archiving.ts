/**
 * Continuous WAL archiving on the backup node: the repository settings in
 * its container, archive_mode=always (a standby archives what it receives)
 * and archive_command = wharf-db-repo. `db setup` turns it on (restarting
 * the node when archive_mode changes and the node is a standby); `db backup`
 * checks it and refreshes the settings file.
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import { shellInContainer } from '../commands.js';
import type { BackupConfig, DbTier } from '../config.js';
import { errorText, runOn, sql, waitReady } from '../node-io.js';
import { repoEnv } from './repository.js';
import { ARCHIVE_COMMAND, ARCHIVE_ON_SQL, ARCHIVER_SQL, repoEnvFileScript } from './scripts.js';

export interface ArchiverState {
  mode: string;
  command: string;
  in_recovery: boolean;
  archived_count: number;
  last_archived_wal: string | null;
  last_archived_time: string | null;
  failed_count: number;
  last_failed_wal: string | null;
  last_failed_time: string | null;
}

export async function repoEnvValues(ctx: Context, backup: BackupConfig): Promise<Record<string, string>> {
  const lookup = await ctx.secretLookup();
  return repoEnv(backup.repository, lookup);
}

/** Writes /etc/wharf-db/repo.env in the backup node's container (values through the environment, never argv). */
export async function writeRepoSettings(ctx: Context, remote: Remote, backup: BackupConfig): Promise<void> {
  const env = await repoEnvValues(ctx, backup);
  await runOn(
    remote,
    backup.node.host,
    shellInContainer(backup.node.service, repoEnvFileScript(backup.repository), Object.keys(env)),
    `write the backup repository settings into ${backup.node.name}`,
    env,
  );
}

export async function readArchiver(
  remote: Remote,
  tier: DbTier,
  backup: BackupConfig,
): Promise<ArchiverState> {
  const out = await sql(
    remote,
    tier,
    backup.node,
    ARCHIVER_SQL,
    `read the WAL archiver of ${backup.node.name}`,
  );
  return JSON.parse(out.split('\n').pop() ?? '{}') as ArchiverState;
}

export function archivingOn(state: ArchiverState): boolean {
  return (
    (state.mode === 'always' || (state.mode === 'on' && !state.in_recovery)) &&
    state.command === ARCHIVE_COMMAND
  );
}

/** One line about the archiver for people. */
export function describeArchiver(node: string, s: ArchiverState): string {
  const failed =
    s.failed_count > 0 && s.last_failed_wal
      ? `; ${s.failed_count} failed attempts, last ${s.last_failed_wal} at ${s.last_failed_time}${s.last_failed_time && s.last_archived_time && s.last_failed_time > s.last_archived_time ? ' (FAILING: see `wharf accessory logs ' + node + '`)' : ''}`
      : '';
  return `Archiver on ${node}: archive_mode=${s.mode}, ${s.archived_count} files archived, last ${s.last_archived_wal ?? 'none'}${s.last_archived_time ? ` at ${s.last_archived_time}` : ''}${failed}`;
}

/**
 * Turns archiving on at `db setup`: settings file, archive_mode and
 * archive_command; a standby whose archive_mode changed is restarted. A
 * primary is not restarted behind the user's back: a warning says how.
 */
export async function enableArchiving(ctx: Context, remote: Remote, tier: DbTier): Promise<void> {
  const backup = tier.backup;
  if (!backup) return;
  const node = backup.node;
  await ctx.reporter.step(node.host, `turn on WAL archiving on ${node.name}`, async () => {
    await writeRepoSettings(ctx, remote, backup);
    const out = await sql(
      remote,
      tier,
      node,
      ARCHIVE_ON_SQL,
      `set archive_mode and archive_command on ${node.name}`,
    );
    const state = JSON.parse(out.split('\n').pop() ?? '{}') as {
      mode: string;
      pending_restart: boolean;
      in_recovery: boolean;
    };
    if (state.mode === 'always' && !state.pending_restart) return;
    if (!state.in_recovery) {
      ctx.reporter.warn(
        `${node.name} is the primary now and archive_mode only changes on a restart; WAL archiving starts after \`wharf db switchover\` or \`wharf accessory reboot ${node.name}\` at a quiet moment.`,
      );
      return;
    }
    await remote.run(
      node.host,
      ['docker', 'restart', '-t', '30', node.service],
      `restart ${node.name} for archive_mode`,
      {
        timeoutMs: 120_000,
      },
    );
    await waitReady(remote, tier, node);
  });
}

/** `db backup`'s check: archiving must be on on the backup node, else one sentence saying what to run. */
export async function requireArchiving(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  backup: BackupConfig,
): Promise<ArchiverState> {
  let state: ArchiverState;
  try {
    state = await readArchiver(remote, tier, backup);
  } catch (error) {
    throw new UserError(
      `Backup refused: the backup node ${backup.node.name} on ${backup.node.host} does not answer (${errorText(error)}); WAL is archived only from it, so bring it back (\`wharf db status\`) or set x-wharf-db.backup.from to another node and run \`wharf db setup\`.`,
    );
  }
  if (!archivingOn(state)) {
    throw new UserError(
      `Backup refused: WAL archiving is off on ${backup.node.name} (archive_mode=${state.mode}${state.command === ARCHIVE_COMMAND || state.command === '(disabled)' ? '' : `, archive_command is ${state.command || 'empty'}`}); run \`wharf db setup\` to turn it on (it restarts that standby), then \`wharf db backup\` again.`,
    );
  }
  await writeRepoSettings(ctx, remote, backup);
  if (state.failed_count > 0 && (state.last_failed_time ?? '') > (state.last_archived_time ?? '')) {
    // The archiver waits a minute after three failures; a reload wakes it to retry with the rewritten settings.
    await sql(
      remote,
      tier,
      backup.node,
      'SELECT pg_reload_conf() \\g /dev/null\n',
      `wake the WAL archiver of ${backup.node.name}`,
    );
  }
  return state;
}
