/**
 * Reads the table of contents of a pg_dump custom-format archive (`-Fc`)
 * from the first bytes of the file: every entry with its dump id, kind
 * (`desc`), section, schema, name, owner, dependencies and, when pg_dump
 * wrote the archive to a seekable file, the offset of its data block.
 *
 * Why the binary TOC instead of `pg_restore -l`: the text listing separates
 * fields with spaces, so a schema or table name containing a space or a
 * semicolon cannot be read back, and it has no section and no data offsets.
 * The layout below is pg_dump's archive format 1.12 to 1.16 (PostgreSQL 9.0
 * to 17): integers are a sign byte and `intSize` little-endian bytes,
 * strings a length integer (-1 for none) and the bytes.
 */
import { UserError } from '../../util/errors.js';

export type Section = 'none' | 'pre-data' | 'data' | 'post-data';

export interface TocEntry {
  id: number;
  /** Whether pg_dump wrote a data block for it (TABLE DATA, SEQUENCE SET is inline SQL). */
  hadDumper: boolean;
  tableOid: string;
  oid: string;
  /** The object's name as pg_dump tags it (for a constraint, trigger or column default: `TABLE NAME`). */
  tag: string;
  /** "TABLE", "TABLE DATA", "INDEX", "FK CONSTRAINT", "SEQUENCE SET", … */
  desc: string;
  section: Section;
  namespace: string;
  owner: string;
  deps: number[];
  /** Byte offset of the data block in the file, when known. */
  dataOffset?: number;
}

export interface ArchiveToc {
  version: string;
  /** Bytes of the file the header and TOC take (data blocks start after). */
  tocBytes: number;
  entries: TocEntry[];
}

/** The buffer ended inside the TOC: read more of the file and parse again. */
export class TocTruncated extends Error {
  constructor() {
    super('the archive ended inside its table of contents');
    this.name = 'TocTruncated';
  }
}

const SECTIONS: Record<number, Section> = { 1: 'none', 2: 'pre-data', 3: 'data', 4: 'post-data' };
const K_OFFSET_POS_SET = 2;

class Reader {
  pos = 0;
  intSize = 4;
  offSize = 8;
  constructor(private readonly buf: Buffer) {}

  byte(): number {
    if (this.pos >= this.buf.length) throw new TocTruncated();
    return this.buf[this.pos++]!;
  }

  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new TocTruncated();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  int(): number {
    const negative = this.byte() !== 0;
    let value = 0;
    for (let i = 0; i < this.intSize; i++) value += this.byte() * 2 ** (8 * i);
    return negative ? -value : value;
  }

  str(): string | undefined {
    const length = this.int();
    if (length < 0) return undefined;
    return this.bytes(length).toString('utf8');
  }

  offset(): { set: boolean; value: number } {
    const flag = this.byte();
    let value = 0;
    for (let i = 0; i < this.offSize; i++) value += this.byte() * 2 ** (8 * i);
    return { set: flag === K_OFFSET_POS_SET, value };
  }
}

/** The section pg_dump assigns by kind, for archives older than 1.11 that do not store it. */
function sectionOfDesc(desc: string): Section {
  if (desc === 'TABLE DATA' || desc === 'BLOBS' || desc === 'BLOB COMMENTS') return 'data';
  if (['CONSTRAINT', 'CHECK CONSTRAINT', 'FK CONSTRAINT', 'INDEX', 'RULE', 'TRIGGER'].includes(desc))
    return 'post-data';
  return 'pre-data';
}

/**
 * Parses the header and TOC. Throws TocTruncated when `buf` ends first and
 * UserError (naming `file`) when it is not a custom-format archive.
 */
export function parseArchiveToc(buf: Buffer, file: string): ArchiveToc {
  const r = new Reader(buf);
  if (buf.length < 5) throw new TocTruncated();
  if (r.bytes(5).toString('latin1') !== 'PGDMP') {
    throw new UserError(
      `${file} is not a pg_dump custom-format archive; create it with \`pg_dump -Fc -f FILE DATABASE\` (plain SQL, tar and directory dumps cannot be restored in two phases).`,
    );
  }
  const major = r.byte();
  const minor = r.byte();
  const rev = r.byte();
  const version = major * 10000 + minor * 100 + rev;
  const v = (a: number, b: number) => a * 10000 + b * 100;
  if (version < v(1, 12)) {
    throw new UserError(
      `${file} is a pg_dump archive of format ${major}.${minor}, older than PostgreSQL 9.0's; dump the database again with a current pg_dump -Fc.`,
    );
  }
  r.intSize = r.byte();
  r.offSize = r.byte();
  const format = r.byte();
  if (format !== 1) {
    throw new UserError(
      `${file} is a pg_dump archive but not in the custom format (format ${format}); create it with \`pg_dump -Fc\`.`,
    );
  }
  if (version >= v(1, 15)) r.byte();
  else r.int();
  for (let i = 0; i < 7; i++) r.int();
  r.str();
  r.str();
  r.str();
  const count = r.int();
  const entries: TocEntry[] = [];
  for (let i = 0; i < count; i++) {
    const id = r.int();
    const hadDumper = r.int() !== 0;
    const tableOid = r.str() ?? '0';
    const oid = r.str() ?? '0';
    const tag = r.str() ?? '';
    const desc = r.str() ?? '';
    const sectionNumber = r.int();
    r.str(); // defn
    r.str(); // dropStmt
    r.str(); // copyStmt
    const namespace = r.str() ?? '';
    r.str(); // tablespace
    if (version >= v(1, 14)) r.str(); // tableam
    if (version >= v(1, 16)) r.int(); // relkind
    const owner = r.str() ?? '';
    r.str(); // withOids
    const deps: number[] = [];
    for (let dep = r.str(); dep !== undefined; dep = r.str()) deps.push(Number.parseInt(dep, 10));
    const offset = r.offset();
    entries.push({
      id,
      hadDumper,
      tableOid,
      oid,
      tag,
      desc,
      section: SECTIONS[sectionNumber] ?? sectionOfDesc(desc),
      namespace,
      owner,
      deps,
      ...(offset.set ? { dataOffset: offset.value } : {}),
    });
  }
  return { version: `${major}.${minor}-${rev}`, tocBytes: r.pos, entries };
}

/**
 * The size of each entry's data block: the distance to the next block in the
 * file (the last one ends at the file's end). Empty when pg_dump wrote to a
 * pipe (no offsets). The blocks hold compressed data when the archive is
 * compressed (pg_dump's default), so sizes compare tables with each other
 * rather than measure what Postgres will store.
 */
export function dataBlockSizes(toc: ArchiveToc, fileBytes: number): Map<number, number> {
  const withData = toc.entries
    .filter((e): e is TocEntry & { dataOffset: number } => e.dataOffset !== undefined)
    .sort((a, b) => a.dataOffset - b.dataOffset);
  const sizes = new Map<number, number>();
  withData.forEach((e, i) => {
    const end = withData[i + 1]?.dataOffset ?? fileBytes;
    sizes.set(e.id, Math.max(0, end - e.dataOffset));
  });
  return sizes;
}

/** `schema.name` with quotes only where a name needs them (as Postgres prints a regclass). */
export function qualifiedName(entry: Pick<TocEntry, 'namespace' | 'tag'>): string {
  const quote = (s: string) => (/^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`);
  return entry.namespace ? `${quote(entry.namespace)}.${quote(entry.tag)}` : quote(entry.tag);
}
