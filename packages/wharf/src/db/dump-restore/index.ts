/**
 * `wharf db restore --into ACCESSORY (--dump FILE | --from-node NODE)`: the
 * seed's "fast + deferred" logical restore. Phase 1 (schema, small tables,
 * their indexes and constraints) runs while the command waits; the database
 * is usable when it returns. Phase 2 (the big tables' data, then their
 * indexes, constraints and foreign keys) runs detached inside the target
 * container and survives wharf exiting; `--status` reads its progress and
 * `--wait` follows it to the end. See docs/db.md, "Fast + deferred restore".
 */
import type { Remote } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import { DB_CONFIG_KEY, nodeNamed, type DbTier } from '../config.js';
import { restoreFiles } from './files.js';
import { planRestore, type RestorePlan } from './plan.js';
import { describeProgress, parseProgress, tableLines, type RestoreProgress } from './progress.js';
import { execScript, phase1Script, progressScript, startPhase2Script, writeFilesScript } from './scripts.js';
import { formatBytes, formatSeconds, parseSize } from './size.js';
import { localSource, tierNodeSource, type DumpSource } from './source.js';
import { prepareTarget, resolveTarget, type RestoreTarget } from './target.js';

export { parseSize, formatBytes } from './size.js';
export { parseArchiveToc, dataBlockSizes } from './toc.js';
export { planRestore, listFile } from './plan.js';
export { parseProgress, describeProgress } from './progress.js';
export { restoreFiles } from './files.js';

export interface DumpRestoreOptions {
  /** The accessory (a Postgres container) to restore into. */
  into: string;
  /** A pg_dump custom-format file on this machine. */
  dump?: string;
  /** Or: dump this tier node's database now. */
  fromNode?: string;
  /** Tables whose data is larger than this load in the background (e.g. "64MB"). */
  deferOver?: string;
  /** Defer exactly these tables (comma-separated `name` or `schema.name`), whatever their size. */
  defer?: string;
  /** Parallel pg_restore jobs in each phase (default 2); a string as typed on the command line. */
  jobs?: number | string;
  /** Wait for the deferred part to finish before returning. */
  wait?: boolean;
  /** Only show the progress of the last restore into the accessory. */
  status?: boolean;
}

export const DEFAULT_JOBS = 2;
const POLL_MS = 2_000;
const DAY_MS = 24 * 3600_000;

export async function readProgress(remote: Remote, target: RestoreTarget): Promise<RestoreProgress> {
  const out = await remote.run(
    target.host,
    execScript(target.service, progressScript(target)),
    `read the restore progress in ${target.service}`,
    { timeoutMs: 30_000 },
  );
  return parseProgress(out.stdout);
}

function jobsFrom(jobs: number | string | undefined): number {
  const n = jobs === undefined ? DEFAULT_JOBS : /^\s*\d+\s*$/.test(String(jobs)) ? Number(jobs) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UserError(`--jobs ${jobs} is not a number of parallel jobs; give a whole number from 1 to 64.`);
  }
  return n;
}

/** The dump's source, every refusal it can raise checked before the target changes. */
async function chooseSource(
  ctx: Context,
  remote: Remote,
  tier: DbTier | undefined,
  opts: DumpRestoreOptions,
  plan: { deferOver: number; tables?: string[] },
): Promise<DumpSource> {
  if ((opts.dump === undefined) === (opts.fromNode === undefined)) {
    throw new UserError('`wharf db restore` takes either --dump FILE or --from-node NODE, not both.');
  }
  if (opts.dump !== undefined) {
    const source = await localSource(ctx, remote, opts.dump, plan.tables !== undefined);
    planRestore(source.toc!.entries, { sizes: new Map(), ...plan }); // unknown --defer names fail here
    return source;
  }
  if (!tier) {
    const file = (await ctx.config()).files[0] ?? 'config/deploy.yml';
    throw new UserError(
      `--from-node ${opts.fromNode} needs the ${DB_CONFIG_KEY} block in ${file} to find the node; add it, or dump the database with pg_dump -Fc and pass --dump FILE.`,
    );
  }
  return tierNodeSource(ctx, remote, tier, nodeNamed(tier, opts.fromNode!, '--from-node'));
}

function deferredLine(plan: RestorePlan, deferOver: number): string {
  return plan.deferred.length === 0
    ? `No table is larger than ${formatBytes(deferOver)}: everything loads in phase 1.`
    : `Deferred to the background: ${plan.deferred.map((d) => `${d.name}${d.bytes !== undefined ? ` (${formatBytes(d.bytes)})` : ''}`).join(', ')}.`;
}

export async function restoreDump(
  ctx: Context,
  remote: Remote,
  tier: DbTier | undefined,
  opts: DumpRestoreOptions,
): Promise<void> {
  const target = resolveTarget(await ctx.config(), tier, opts.into);
  if (opts.status) {
    ctx.reporter.result(describeProgress(await readProgress(remote, target), target.name));
    return;
  }
  const deferOver = parseSize(opts.deferOver ?? '64MB');
  const tables = opts.defer
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const jobs = jobsFrom(opts.jobs);
  const source = await chooseSource(ctx, remote, tier, opts, { deferOver, tables });

  await ctx.reporter.step(target.host, `check ${target.service} and prepare its restore directory`, () =>
    prepareTarget(remote, target),
  );
  const t0 = Date.now();
  const { toc, sizes } = await source.bring(target);
  const transferSeconds = (Date.now() - t0) / 1000;
  const plan = planRestore(toc.entries, { sizes, deferOver, tables });
  ctx.reporter.info(deferredLine(plan, deferOver));

  await remote.run(
    target.host,
    execScript(target.service, writeFilesScript(restoreFiles(toc, plan, target, jobs))),
    `write the restore lists into ${target.service}`,
  );
  const small = `${plan.smallTables} small table${plan.smallTables === 1 ? '' : 's'}`;
  await ctx.reporter.step(target.host, `phase 1: schema, ${small} and their indexes`, () =>
    remote.run(
      target.host,
      execScript(target.service, phase1Script(target, jobs)),
      `restore phase 1 into ${target.service}`,
      {
        timeoutMs: DAY_MS,
      },
    ),
  );
  await remote.run(
    target.host,
    execScript(target.service, startPhase2Script(), { detach: true }),
    `start phase 2 in ${target.service}`,
  );
  const started = await readProgress(remote, target);
  const usable =
    started.usable !== undefined && started.phase1Start !== undefined
      ? formatSeconds(started.usable - started.phase1Start)
      : '?';
  const usableText = `${target.name} is usable after ${usable} of restoring (dump ${source.verb} in ${formatSeconds(transferSeconds)}).`;
  if (!opts.wait) {
    const n = plan.deferred.length;
    ctx.reporter.result(
      n === 0 && plan.deferredPost.length === 0
        ? usableText
        : `${usableText}\n${n} table${n === 1 ? '' : 's'} load${n === 1 ? 's' : ''} in the background; follow with \`wharf db restore --into ${target.name} --status\`.`,
    );
    return;
  }
  ctx.reporter.info(usableText);
  const final = await followProgress(ctx, remote, target);
  ctx.reporter.result(describeProgress(final, target.name));
  if (final.phase !== 'done') {
    throw new UserError(
      `The background part of the restore into ${target.name} on ${target.host} ${final.phase === 'failed' ? 'failed' : 'stopped'}; read the logs in $PGDATA/wharf-restore/ (\`wharf accessory exec ${target.name} …\`) and restore again.`,
    );
  }
}

/** Polls the progress until phase 2 ends: a line per table when one starts or ends, and every 10 s while bytes flow. */
async function followProgress(ctx: Context, remote: Remote, target: RestoreTarget): Promise<RestoreProgress> {
  let lastStates = '';
  let lastAt = 0;
  for (;;) {
    const p = await readProgress(remote, target);
    if (p.phase !== 'loading') return p;
    const states = p.tables.map((t) => `${t.start}/${t.done}/${t.failed}`).join(' ') + String(p.dataDone);
    if (states !== lastStates || Date.now() - lastAt >= 10_000) {
      ctx.reporter.info(tableLines(p).join('\n'));
      lastStates = states;
      lastAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
