/** Config problems: where they are (file, key path, line) and how they read as one sentence. */
import { UserError } from '../util/errors.js';

export type KeyPath = (string | number)[];

export interface ConfigProblem {
  /** Key path inside the merged config, e.g. ['servers', 'web', 'proxy']. Empty for the whole file. */
  path: KeyPath;
  /** The rest of the sentence after the key path, e.g. "should be an integer, not the string \"3s\"". */
  message: string;
  /** Set when the message already names everything and must not be prefixed by the key path. */
  standalone?: boolean;
  file?: string;
  line?: number;
}

/** `servers.web.hosts[0]`: dots between keys, brackets for list items. */
export function dottedPath(path: KeyPath): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (!/^[A-Za-z0-9_-]+$/.test(part)) out += `[${JSON.stringify(part)}]`;
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  const keyFirst = !(p.standalone || p.path.length === 0);
  let body = keyFirst ? `${dottedPath(p.path)} ${p.message}` : p.message;
  if (!keyFirst) body = body.charAt(0).toUpperCase() + body.slice(1);
  if (!/[.?!]$/.test(body)) body += '.';
  return `${where}${body}`;
}

/** Problems in reading order: by file (in the order given), then line. */
export function sortProblems(problems: ConfigProblem[], files: readonly string[]): ConfigProblem[] {
  const fileIndex = (f?: string) => (f === undefined ? -1 : files.indexOf(f));
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (x, y) => fileIndex(x.p.file) - fileIndex(y.p.file) || (x.p.line ?? 0) - (y.p.line ?? 0) || x.i - y.i,
    )
    .map(({ p }) => p);
}

/** Thrown by loadConfig: every problem of the config, one sentence per line. */
export class ConfigError extends UserError {
  readonly problems: ConfigProblem[];
  constructor(problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Edit distance with adjacent transpositions counting as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length > 64 || b.length > 64) return Math.max(a.length, b.length);
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i]![0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest valid key to a typo, if it is close enough to be a plausible intent. */
export function suggestKey(typo: string, valid: readonly string[]): string | undefined {
  const t = typo.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of valid) {
    const c = candidate.toLowerCase();
    if (Math.abs(c.length - t.length) > 3) continue;
    let score = editDistance(t, c);
    if (c.replace(/[-_]/g, '') === t.replace(/[-_]/g, '')) score = 0.5;
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.min(3, Math.floor(Math.max(typo.length, best.length) / 3)));
  return bestScore <= limit ? best : undefined;
}

/** How a value reads in an error: `the string "3s"`, `a list`, `nothing (null)`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'nothing (an empty value)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a map';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `the string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'boolean') return `${value}`;
  if (typeof value === 'number')
    return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  return String(value);
}
