/**
 * Point-in-time `wharf db restore --into ACCESSORY [--time TS]`: the latest
 * base backup that finished before the target, plus the archived WAL after
 * it, replayed into a fresh accessory (never a node of the tier) until the
 * target time, then promoted. The accessory's container is replaced and its
 * data directory emptied; the repository's files are staged inside it
 * (fetched there directly from S3 or a directory on the same server, else
 * copied through wharf) so restore_command is a local copy.
 */
import { AccessoryCommands } from '../../commands/accessory.js';
import { commandLine, docker } from '../../commands/base.js';
import { PassThrough } from 'node:stream';
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import { psqlCommand, removeContainer } from '../commands.js';
import { DB_CONFIG_KEY, type BackupConfig, type DbNode, type DbTier } from '../config.js';
import { prepareAccessory, runOn, sql, stateOf, waitFor } from '../node-io.js';
import { repoEnvValues } from './archiving.js';
import { planRestore, type RestorePlan } from './catalog.js';
import { readCatalog } from './list-ops.js';
import { describeRepository, oneOff, repoMountArgs, requireBackup } from './repository.js';
import {
  finishRestoreSql,
  packKeysScript,
  prepareRestoreScript,
  recoveryOutcome,
  restoreKeys,
} from './scripts.js';

export interface PitrRestoreOptions {
  /** The accessory to restore into (its container is replaced and its data emptied). */
  into: string;
  /** Recovery target time with a time zone; default: the end of the archived WAL. */
  time?: string;
  /** How long to wait for recovery to finish (default 15 min). */
  timeoutMs?: number;
}

export interface PitrRestoreResult {
  into: string;
  host: string;
  backup: string;
  walFiles: number;
  target: string | null;
  stoppedAt: string | null;
  lastTransactionAt: string | null;
}

/** The accessory to restore into, as a node-like target; refuses tier members and unknown names. */
export async function restoreTarget(ctx: Context, tier: DbTier, name: string): Promise<DbNode> {
  const config = await ctx.config();
  const file = config.files[0] ?? 'config/deploy.yml';
  const accessory = config.accessory(name);
  if (!accessory) {
    const names = config.accessories.map((a) => a.name);
    throw new UserError(
      `Restore refused: ${file} defines no accessory ${name}${names.length > 0 ? ` (accessories: ${names.join(', ')})` : ''}; declare a fresh accessory on the data-tier image (e.g. pg-restore) and restore into it.`,
    );
  }
  const role = tier.nodes.some((n) => n.name === name)
    ? 'a database node'
    : tier.nodes.some((n) => n.bouncer?.name === name)
      ? 'a pgbouncer'
      : tier.haproxy.name === name
        ? 'the HAProxy'
        : undefined;
  if (role) {
    throw new UserError(
      `Restore refused: ${name} is ${role} of the tier in ${DB_CONFIG_KEY}, and a restore empties the accessory it restores into; declare a separate accessory (e.g. pg-restore) in ${file} and restore into that.`,
    );
  }
  if (accessory.hosts.length !== 1) {
    throw new UserError(
      `Restore refused: the accessory ${name} runs on ${accessory.hosts.length === 0 ? 'no host' : `${accessory.hosts.length} hosts`}; a restore needs exactly one, so set accessories.${name}.host in ${file}.`,
    );
  }
  return { name, service: accessory.serviceName, host: accessory.hosts[0]!, accessory };
}

/** Brings the base backup and WAL into the target's data directory and sets up recovery. */
async function stage(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  backup: BackupConfig,
  target: DbNode,
  plan: RestorePlan,
  time: string | undefined,
): Promise<string> {
  const repo = backup.repository;
  const volumes = target.accessory.volumeArgs();
  const image = target.accessory.image;
  if (repo.kind === 's3' || backup.node.host === target.host) {
    const env = await repoEnvValues(ctx, backup);
    return runOn(
      remote,
      target.host,
      oneOff(image, prepareRestoreScript(tier, plan, time, 'repository'), Object.keys(env), [
        ...volumes,
        ...repoMountArgs(repo, true),
      ]),
      `fetch backup ${plan.backup.label} and its WAL into ${target.name}`,
      env,
    );
  }
  // A directory on another server: one tar streamed through wharf, from the
  // backup node's server straight into the target's (never held whole: the
  // reading side is slowed to the writing side's pace).
  const stream = new PassThrough({ highWaterMark: 4 * 1024 * 1024 });
  let stderr = '';
  const pack = oneOff(
    backup.node.accessory.image,
    packKeysScript(repo, restoreKeys(plan)),
    [],
    repoMountArgs(repo, true),
  );
  const packed = remote.pool
    .exec(backup.node.host, commandLine(pack), {
      step: `read backup ${plan.backup.label} and its WAL from the repository`,
      capture: false,
      timeoutMs: 1_800_000,
      stdoutTo: stream,
      onStderr: (c) => (stderr += c.toString()),
    })
    .catch((error: unknown) => {
      stream.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
  const unpacked = remote.run(
    target.host,
    oneOff(image, prepareRestoreScript(tier, plan, time, 'stdin'), [], volumes),
    `unpack backup ${plan.backup.label} and its WAL into ${target.name}`,
    { stdin: stream, timeoutMs: 1_800_000 },
  );
  // Once the writing side is done (or failed), whatever the reading side still
  // sends is discarded, so it can finish instead of waiting on a full pipe.
  const discardRest = (): void => {
    stream.unpipe();
    stream.resume();
  };
  unpacked.then(discardRest, discardRest);
  const [read, written] = await Promise.allSettled([packed, unpacked]);
  // The reading side's failure explains a cut stream on the writing side: it comes first.
  if (read.status === 'rejected') throw read.reason;
  if (read.value.code !== 0) {
    throw new UserError(
      `Reading backup ${plan.backup.label} from ${describeRepository(backup)} failed: ${ctx.redact(stderr.trim().split('\n').pop() ?? `exit status ${read.value.code}`)}.`,
    );
  }
  if (written.status === 'rejected') throw written.reason;
  return written.value.stdout.trim();
}

/** Polls until the restored server is out of recovery; a container that exits is reported with Postgres' last FATAL line. */
async function waitPromoted(remote: Remote, tier: DbTier, target: DbNode, timeoutMs: number): Promise<void> {
  const logs = async () =>
    (
      await remote.run(
        target.host,
        `${commandLine(docker('logs', '--tail', '200', target.service))} 2>&1`,
        `read the log of ${target.name}`,
        { allowFailure: true },
      )
    ).stdout;
  await waitFor(
    async () => {
      const r = await remote.run(
        target.host,
        psqlCommand(tier, target),
        `ask ${target.name} whether it is still recovering`,
        {
          stdin: 'SELECT pg_is_in_recovery();\n',
          allowFailure: true,
          timeoutMs: 15_000,
        },
      );
      if (r.code === 0 && r.stdout.trim().split('\n').pop() === 'f') return true;
      const state = await stateOf(remote, target.host, target.service);
      if (state !== 'running' && state !== 'created' && state !== 'restarting') {
        const fatal = (await logs())
          .split('\n')
          .filter((l) => /FATAL|PANIC/.test(l))
          .pop();
        throw new UserError(
          `The restore into ${target.name} on ${target.host} failed: Postgres stopped during recovery${fatal ? ` (${fatal.replace(/^.*?(FATAL|PANIC):\s*/, '')})` : ''}; see \`wharf accessory logs ${target.name}\`, then run the restore again.`,
        );
      }
      return undefined;
    },
    timeoutMs,
    () =>
      new UserError(
        `${target.name} on ${target.host} is still recovering after ${Math.round(timeoutMs / 1000)} s; follow \`wharf accessory logs ${target.name}\` (it promotes when recovery reaches the target).`,
      ),
    1000,
  );
}

export async function dbRestorePitr(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  opts: PitrRestoreOptions,
): Promise<PitrRestoreResult> {
  const backup = requireBackup(tier, 'db restore');
  const target = await restoreTarget(ctx, tier, opts.into);
  const where = describeRepository(backup);
  const catalog = await ctx.reporter.step(backup.node.host, 'read the backup repository', () =>
    readCatalog(ctx, remote, backup, { last: opts.time !== undefined }),
  );
  const plan = planRestore(catalog, opts.time, where);
  if (plan.gap) {
    ctx.reporter.warn(
      `The archive in ${where} has no WAL file at position ${plan.gap} after backup ${plan.backup.label}, so recovery stops before it; if the target is later, Postgres will refuse and a newer backup is needed.`,
    );
  }
  ctx.reporter.info(
    `Restoring base backup ${plan.backup.label} (finished ${plan.backup.finished_at}) and ${plan.walFiles.length} archived WAL files into ${target.name} on ${target.host}, ${opts.time ? `to ${opts.time}` : 'to the end of the archive'}`,
  );
  await ctx.reporter.step(target.host, `replace the container and data of ${target.name}`, async () => {
    await remote.run(target.host, removeContainer(target.service), `remove the container of ${target.name}`, {
      allowFailure: true,
    });
    await prepareAccessory(ctx, remote, target.name, target.host);
    await stage(ctx, remote, tier, backup, target, plan, opts.time);
  });
  const config = await ctx.config();
  await ctx.reporter.step(target.host, `recover ${target.name} and promote it`, async () => {
    await remote.run(
      target.host,
      new AccessoryCommands(config, target.name).run(target.host),
      `boot ${target.service}`,
    );
    await waitPromoted(remote, tier, target, opts.timeoutMs ?? 900_000);
  });
  const log = (
    await remote.run(
      target.host,
      `${commandLine(docker('logs', target.service))} 2>&1`,
      `read the log of ${target.name}`,
      {
        allowFailure: true,
      },
    )
  ).stdout;
  const outcome = recoveryOutcome(log);
  await sql(remote, tier, target, finishRestoreSql(tier), `clear the recovery settings of ${target.name}`);
  const reached = outcome.stoppedAt
    ? `recovery stopped before the first transaction after the target (committed ${outcome.stoppedAt})`
    : 'recovery replayed all archived WAL';
  ctx.reporter.result(
    `${target.name} on ${target.host} is restored from ${plan.backup.label} ${opts.time ? `to ${opts.time}` : 'to the end of the archive'}: ${reached}; last transaction replayed: ${outcome.lastTransactionAt ?? 'none after the base backup'}. It runs as a standalone primary and does not archive.`,
  );
  return {
    into: target.name,
    host: target.host,
    backup: plan.backup.label,
    walFiles: plan.walFiles.length,
    target: opts.time ?? null,
    stoppedAt: outcome.stoppedAt ?? null,
    lastTransactionAt: outcome.lastTransactionAt ?? null,
  };
}
