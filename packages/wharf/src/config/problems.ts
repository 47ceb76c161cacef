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
    else out += out === '' ? part : `.${part}`;
  }
  return out;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ''}: ` : '';
  let body = p.standalone || p.path.length === 0 ? p.message : `${dottedPath(p.path)} ${p.message}`;
  body = body.charAt(0).toUpperCase() + body.slice(1);
  if (!/[.?!]$/.test(body)) body += '.';
  return `${where}${body}`;
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

/** Levenshtein distance (small strings only: config keys). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest valid key to a typo, if it is close enough to be a plausible intent. */
export function suggestKey(typo: string, valid: readonly string[]): string | undefined {
  const t = typo.toLowerCase();
  let best: string | undefined;
  let bestScore = Infinity;
  for (const candidate of valid) {
    const c = candidate.toLowerCase();
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
  if (typeof value === 'number') return Number.isInteger(value) ? `the number ${value}` : `the number ${value}`;
  return String(value);
}
