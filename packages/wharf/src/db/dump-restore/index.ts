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
import { listFile, planRestore, type RestorePlan } from './plan.js';
import { describeProgress, parseProgress, tableLines, tablesFile, type RestoreProgress } from './progress.js';
import {
  execScript,
  phase1Script,
  phase2Script,
  progressScript,
  startPhase2Script,
  writeFilesScript,
} from './scripts.js';
import { formatBytes, formatSeconds, parseSize } from './size.js';
import { dumpFromNode, localDumpFacts, nodeSource, remoteDumpToc, uploadDump } from './source.js';
import { prepareTarget, resolveTarget, type RestoreTarget } from './target.js';
import type { ArchiveToc } from './toc.js';

export { parseSize, formatBytes } from './size.js';
export { parseArchiveToc, dataBlockSizes } from './toc.js';
export { planRestore, listFile } from './plan.js';
export { parseProgress, describeProgress } from './progress.js';

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
  /** Parallel pg_restore jobs in each phase (default 2). */
  jobs?: number;
  /** Wait for the deferred part to finish before returning. */
  wait?: boolean;
  /** Only show the progress of the last restore into the accessory. */
  status?: boolean;
}

export const DEFAULT_JOBS = 2;
const POLL_MS = 2_000;

export async function readProgress(remote: Remote, target: RestoreTarget): Promise<RestoreProgress> {
  const out = await remote.run(
    target.host,
    execScript(target.service, progressScript(target)),
    `read the restore progress in ${target.service}`,
    { timeoutMs: 30_000 },
  );
  return parseProgress(out.stdout);
}

function jobsFrom(jobs: number | undefined): number {
  const n = jobs ?? DEFAULT_JOBS;
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    throw new UserError(`--jobs ${jobs} is not a number of parallel jobs; give a whole number from 1 to 64.`);
  }
  return n;
}

/** The files phase 1 and phase 2 read, keyed by name in the restore directory. */
export function restoreFiles(
  toc: ArchiveToc,
  plan: RestorePlan,
  target: RestoreTarget,
  jobs: number,
): Record<string, string> {
  const byId = new Map(toc.entries.map((e) => [e.id, e]));
  const files: Record<string, string> = {
    'phase1.list': listFile(toc.entries, plan.phase1),
    'post.list': plan.deferredPost.length > 0 ? listFile(toc.entries, plan.deferredPost) : '',
    tables: tablesFile(
      plan.deferred.map((d) => ({
        namespace: byId.get(d.dataId)!.namespace,
        tag: byId.get(d.dataId)!.tag,
        ...(d.bytes !== undefined ? { bytes: d.bytes } : {}),
      })),
    ),
    'phase2.sh': phase2Script(target, jobs),
  };
  plan.deferred.forEach((d, i) => {
    files[`data-${i + 1}.list`] = listFile(toc.entries, [d.dataId]);
  });
  return files;
}

export async function restoreDump(
  ctx: Context,
  remote: Remote,
  tier: DbTier | undefined,
  opts: DumpRestoreOptions,
): Promise<void> {
  const config = await ctx.config();
  const target = resolveTarget(config, tier, opts.into);
  if (opts.status) {
    ctx.reporter.result(describeProgress(await readProgress(remote, target), target.name));
    return;
  }
  if ((opts.dump === undefined) === (opts.fromNode === undefined)) {
    throw new UserError('`wharf db restore` takes either --dump FILE or --from-node NODE, not both.');
  }
  const deferOver = parseSize(opts.deferOver ?? '64MB');
  const tables = opts.defer
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const jobs = jobsFrom(opts.jobs);
  const file = config.files[0] ?? 'config/deploy.yml';

  // Everything that can be refused is checked before the target changes.
  let toc: ArchiveToc | undefined;
  let sizes = new Map<number, number>();
  let dumpBytes = 0;
  if (opts.dump !== undefined) {
    const facts = await localDumpFacts(opts.dump);
    toc = facts.toc;
    sizes = facts.sizes;
    dumpBytes = facts.bytes;
    if (tables === undefined && sizes.size === 0 && toc.entries.some((e) => e.desc === 'TABLE DATA')) {
      throw new UserError(
        `--dump ${opts.dump} has no data offsets (pg_dump wrote it to a pipe), so table sizes are unknown; name the tables to load in the background with --defer TABLE,TABLE or take the dump with pg_dump -Fc -f FILE.`,
      );
    }
    planRestore(toc.entries, { sizes, deferOver, tables });
  }
  const node =
    opts.fromNode === undefined
      ? undefined
      : tier
        ? nodeNamed(tier, opts.fromNode, '--from-node')
        : (() => {
            throw new UserError(
              `--from-node ${opts.fromNode} needs the ${DB_CONFIG_KEY} block in ${file} to find the node; add it, or dump the database with pg_dump -Fc and pass --dump FILE.`,
            );
          })();

  const source = node ? await nodeSource(ctx, remote, tier!, node) : undefined;

  await ctx.reporter.step(target.host, `check ${target.service} and prepare its restore directory`, () =>
    prepareTarget(remote, target),
  );
  const t0 = Date.now();
  if (opts.dump !== undefined) {
    const dump = opts.dump;
    await ctx.reporter.step(target.host, `upload ${dump} (${formatBytes(dumpBytes)})`, () =>
      uploadDump(remote, target, dump),
    );
  } else {
    await ctx.reporter.step(target.host, `dump ${node!.name} on ${node!.host}`, () =>
      dumpFromNode(remote, tier!, source!, target),
    );
    toc = (await remoteDumpToc(remote, target)).toc;
    for (const e of toc.entries) {
      const size = e.desc === 'TABLE DATA' ? source!.oidSizes.get(e.oid) : undefined;
      if (size !== undefined) sizes.set(e.id, size);
    }
  }
  const transferSeconds = (Date.now() - t0) / 1000;
  const plan = planRestore(toc!.entries, { sizes, deferOver, tables });
  ctx.reporter.info(
    plan.deferred.length === 0
      ? `No table is larger than ${formatBytes(deferOver)}: everything loads in phase 1.`
      : `Deferred to the background: ${plan.deferred.map((d) => `${d.name}${d.bytes !== undefined ? ` (${formatBytes(d.bytes)})` : ''}`).join(', ')}.`,
  );

  await remote.run(
    target.host,
    execScript(target.service, writeFilesScript(restoreFiles(toc!, plan, target, jobs)), { stdin: false }),
    `write the restore lists into ${target.service}`,
  );
  await ctx.reporter.step(
    target.host,
    `phase 1: schema, ${plan.smallTables} small table${plan.smallTables === 1 ? '' : 's'} and their indexes`,
    () =>
      remote.run(
        target.host,
        execScript(target.service, phase1Script(target, jobs)),
        `restore phase 1 into ${target.service}`,
        {
          timeoutMs: 24 * 3600_000,
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
      ? started.usable - started.phase1Start
      : undefined;
  const usableText = `${target.name} is usable after ${usable !== undefined ? formatSeconds(usable) : '?'} of restoring (dump ${opts.dump !== undefined ? 'uploaded' : 'taken'} in ${formatSeconds(transferSeconds)}).`;
  if (!opts.wait) {
    ctx.reporter.result(
      plan.deferred.length === 0 && plan.deferredPost.length === 0
        ? usableText
        : `${usableText}\n${plan.deferred.length} table${plan.deferred.length === 1 ? '' : 's'} load${plan.deferred.length === 1 ? 's' : ''} in the background; follow with \`wharf db restore --into ${target.name} --status\`.`,
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

/** Polls the progress, printing a line per change, until phase 2 ends. */
async function followProgress(ctx: Context, remote: Remote, target: RestoreTarget): Promise<RestoreProgress> {
  let lastStates = '';
  let lastAt = 0;
  for (;;) {
    const p = await readProgress(remote, target);
    if (p.phase !== 'loading') return p;
    // A line per table when one starts or ends, and every 10 s while bytes flow.
    const states = p.tables.map((t) => `${t.start}/${t.done}/${t.failed}`).join(' ') + String(p.dataDone);
    if (states !== lastStates || Date.now() - lastAt >= 10_000) {
      ctx.reporter.info(tableLines(p).join('\n'));
      lastStates = states;
      lastAt = Date.now();
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
