/**
 * Getting the dump into the target's restore directory and reading its
 * table of contents: `--dump FILE` streams a local archive over SSH (never
 * held in memory; its TOC is read locally first, so a wrong file is refused
 * before anything on the server changes); `--from-node NODE` runs pg_dump in
 * the target container against the node's published port and takes table
 * sizes from the node itself.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { commandLine } from '../../commands/base.js';
import type { Remote } from '../../deploy/remote.js';
import { StepError, failureDetail } from '../../deploy/remote.js';
import type { Context } from '../../runtime/context.js';
import { UserError } from '../../util/errors.js';
import { formatBytes } from './size.js';
import { DB_CONFIG_KEY, type DbNode, type DbTier } from '../config.js';
import { errorText, sql } from '../node-io.js';
import { execScript, pgDumpScript, readHeadScript, receiveDumpScript } from './scripts.js';
import type { RestoreTarget } from './target.js';
import { dataBlockSizes, parseArchiveToc, TocTruncated, type ArchiveToc } from './toc.js';

const FIRST_READ = 1 << 20;
const MAX_READ = 256 << 20;

/** Parses the TOC from growing prefixes of the archive until it fits. */
async function tocFromPrefixes(read: (bytes: number) => Promise<Buffer>, total: number, file: string) {
  for (let bytes = FIRST_READ; ; bytes *= 8) {
    const head = await read(Math.min(bytes, total));
    try {
      return parseArchiveToc(head, file);
    } catch (error) {
      if (!(error instanceof TocTruncated)) throw error;
      if (head.length < Math.min(bytes, total) || head.length >= total || bytes >= MAX_READ)
        throw new UserError(
          `${file} ends inside its table of contents; the dump is incomplete, take it again.`,
        );
    }
  }
}

export interface DumpFacts {
  toc: ArchiveToc;
  /** Sizes keyed by TABLE DATA dump id. */
  sizes: Map<number, number>;
  /** What the sizes measure, for messages. */
  sizeSource: string;
  bytes: number;
}

/** The local archive's TOC and data block sizes. */
export async function localDumpFacts(file: string): Promise<DumpFacts> {
  const info = await stat(file).catch(() => undefined);
  if (!info || !info.isFile()) {
    throw new UserError(
      `--dump ${file}: no such file; give the path of a pg_dump -Fc archive on this machine.`,
    );
  }
  const handle = await open(file, 'r');
  try {
    const toc = await tocFromPrefixes(
      async (bytes) => {
        const buf = Buffer.alloc(bytes);
        const { bytesRead } = await handle.read(buf, 0, bytes, 0);
        return buf.subarray(0, bytesRead);
      },
      info.size,
      file,
    );
    return {
      toc,
      sizes: dataBlockSizes(toc, info.size),
      sizeSource: 'data block sizes in the dump (compressed)',
      bytes: info.size,
    };
  } finally {
    await handle.close();
  }
}

/** Streams the local archive into the target's restore directory. */
export async function uploadDump(remote: Remote, target: RestoreTarget, file: string): Promise<void> {
  const step = `upload ${file} into ${target.service}`;
  const command = execScript(target.service, receiveDumpScript(), { stdin: true });
  const result = await remote.pool.exec(target.host, commandLine(command), {
    step,
    stdin: createReadStream(file),
    timeoutMs: 24 * 3600_000,
  });
  if (result.code !== 0) throw new StepError(target.host, step, result, failureDetail(result));
}

/** The admin password of a node: its accessory's POSTGRES_PASSWORD (secret or clear). */
function nodePassword(node: DbNode, lookup: (name: string) => string, file: string): string {
  const env = node.accessory.env;
  const secret = env.secrets.find((s) => s.name === 'POSTGRES_PASSWORD');
  if (secret) return lookup(secret.secret);
  const clear = env.clear.POSTGRES_PASSWORD;
  if (clear !== undefined) return clear;
  throw new UserError(
    `--from-node ${node.name}: accessories.${node.name}.env has no POSTGRES_PASSWORD in ${file}, so wharf cannot log in to dump it; add it as a secret, or dump with pg_dump -Fc yourself and pass --dump.`,
  );
}

/** The node's table sizes (pg_total_relation_size) keyed by table oid; fails clearly when the node does not answer. */
async function nodeTableSizes(remote: Remote, tier: DbTier, node: DbNode): Promise<Map<string, number>> {
  let out: string;
  try {
    out = await sql(
      remote,
      tier,
      node,
      "SELECT c.oid, pg_total_relation_size(c.oid) FROM pg_class c WHERE c.relkind IN ('r', 'm', 'p');",
      `read the table sizes of ${node.name}`,
      { timeoutMs: 30_000 },
    );
  } catch (error) {
    throw new UserError(
      `--from-node ${node.name}: the node on ${node.host} does not answer (${errorText(error)}); check it with \`wharf db status\` or restore from a --dump file.`,
    );
  }
  const sizes = new Map<string, number>();
  for (const line of out.split('\n')) {
    const [oid, bytes] = line.split('|');
    if (oid && bytes) sizes.set(oid, Number(bytes));
  }
  return sizes;
}

export interface NodeSource {
  node: DbNode;
  /** pg_total_relation_size on the node, keyed by table oid (the dump keeps the oids). */
  oidSizes: Map<string, number>;
  password: string;
}

/** Checks that the node answers and can be logged in to, and reads its table sizes (before the target changes). */
export async function nodeSource(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  node: DbNode,
): Promise<NodeSource> {
  const config = await ctx.config();
  const file = config.files[0] ?? 'config/deploy.yml';
  const password = nodePassword(node, await ctx.secretLookup(), file);
  const oidSizes = await nodeTableSizes(remote, tier, node);
  return { node, oidSizes, password };
}

/** pg_dump of the node's database, run in the target container, into its restore directory. */
export async function dumpFromNode(
  remote: Remote,
  tier: DbTier,
  source: NodeSource,
  target: RestoreTarget,
): Promise<void> {
  const { node } = source;
  const command = execScript(
    target.service,
    pgDumpScript({ host: node.host, port: tier.port, user: tier.adminUser, database: tier.database }),
    { envNames: ['PGPASSWORD'] },
  );
  await remote.run(target.host, command, `dump ${node.name} (${DB_CONFIG_KEY} node) from ${target.service}`, {
    env: { PGPASSWORD: source.password },
    timeoutMs: 24 * 3600_000,
  });
}

/** The TOC of the dump now in the target's restore directory. */
export async function remoteDumpToc(
  remote: Remote,
  target: RestoreTarget,
): Promise<{ toc: ArchiveToc; bytes: number }> {
  let total = Number.POSITIVE_INFINITY;
  const toc = await tocFromPrefixes(
    async (bytes) => {
      const out = await remote.capture(
        target.host,
        execScript(target.service, readHeadScript(bytes)),
        `read the dump's table of contents in ${target.service}`,
      );
      const [size = '0', b64 = ''] = out.split('\n');
      total = Number(size);
      return Buffer.from(b64, 'base64');
    },
    MAX_READ,
    `the dump in ${target.service}`,
  );
  return { toc, bytes: total };
}

/**
 * Where the dump comes from, checked before the target changes: a local
 * archive (TOC read now, sizes from its data blocks) or a tier node (it
 * answers, its password is known, sizes from its catalog).
 */
export interface DumpSource {
  /** "uploaded" or "taken", for messages. */
  verb: string;
  /** Sizes known before the transfer (local archive). */
  toc?: ArchiveToc;
  /** Puts the dump into the target's restore directory; returns its TOC and table sizes by TABLE DATA id. */
  bring(target: RestoreTarget): Promise<{ toc: ArchiveToc; sizes: Map<number, number> }>;
}

export async function localSource(
  ctx: Context,
  remote: Remote,
  file: string,
  hasDeferList: boolean,
): Promise<DumpSource> {
  const facts = await localDumpFacts(file);
  if (!hasDeferList && facts.sizes.size === 0 && facts.toc.entries.some((e) => e.desc === 'TABLE DATA')) {
    throw new UserError(
      `--dump ${file} has no data offsets (pg_dump wrote it to a pipe), so table sizes are unknown; name the tables to load in the background with --defer TABLE,TABLE or take the dump with pg_dump -Fc -f FILE.`,
    );
  }
  return {
    verb: 'uploaded',
    toc: facts.toc,
    async bring(target) {
      await ctx.reporter.step(target.host, `upload ${file} (${formatBytes(facts.bytes)})`, () =>
        uploadDump(remote, target, file),
      );
      return { toc: facts.toc, sizes: facts.sizes };
    },
  };
}

export async function tierNodeSource(
  ctx: Context,
  remote: Remote,
  tier: DbTier,
  node: DbNode,
): Promise<DumpSource> {
  const source = await nodeSource(ctx, remote, tier, node);
  return {
    verb: 'taken',
    async bring(target) {
      await ctx.reporter.step(target.host, `dump ${node.name} on ${node.host}`, () =>
        dumpFromNode(remote, tier, source, target),
      );
      const { toc } = await remoteDumpToc(remote, target);
      const sizes = new Map<number, number>();
      for (const e of toc.entries) {
        const size = e.desc === 'TABLE DATA' ? source.oidSizes.get(e.oid) : undefined;
        if (size !== undefined) sizes.set(e.id, size);
      }
      return { toc, sizes };
    },
  };
}
