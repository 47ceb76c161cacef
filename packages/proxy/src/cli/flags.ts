// A small flag parser with pflag's rules (what kamal-proxy's cobra CLI uses):
// --name=value or --name value; booleans take no separate value (--name,
// --name=false); slice flags repeat and/or take comma lists; durations are
// Go durations. Unknown flags are errors.
import { ProxyError } from '../errors.js';
import { parseDuration } from '../duration.js';

export type FlagType = 'bool' | 'string' | 'int' | 'duration' | 'strings';

export interface FlagSpec {
  name: string;
  type: FlagType;
  default: boolean | string | number | string[];
  help: string;
}

export interface ParsedFlags {
  positional: string[];
  values: Map<string, boolean | string | number | string[]>;
  changed: Set<string>;
  help: boolean;
}

export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values = new Map<string, boolean | string | number | string[]>();
  for (const s of specs) values.set(s.name, Array.isArray(s.default) ? [...s.default] : s.default);
  const changed = new Set<string>();
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-')
        throw new ProxyError(`unknown shorthand flag: '${arg.slice(1, 2)}' in ${arg}`);
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byName.get(name);
    if (spec === undefined) throw new ProxyError(`unknown flag: --${name}`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (spec.type === 'bool') raw = 'true';
    else {
      if (i + 1 >= args.length) throw new ProxyError(`flag needs an argument: --${name}`);
      raw = args[++i]!;
    }
    const firstChange = !changed.has(name);
    changed.add(name);
    switch (spec.type) {
      case 'bool':
        values.set(name, parseBool(raw, name));
        break;
      case 'string':
        values.set(name, raw);
        break;
      case 'int': {
        if (!/^[-+]?\d+$/.test(raw.trim())) {
          throw new ProxyError(`invalid argument "${raw}" for "--${name}" flag: use a whole number`);
        }
        values.set(name, Number(raw));
        break;
      }
      case 'duration':
        values.set(name, parseDuration(raw, name));
        break;
      case 'strings': {
        const list = firstChange ? [] : (values.get(name) as string[]);
        for (const part of splitList(raw)) list.push(part);
        values.set(name, list);
        break;
      }
    }
  }
  return { positional, values, changed, help };
}

function parseBool(raw: string, name: string): boolean {
  switch (raw.toLowerCase()) {
    case '1':
    case 't':
    case 'true':
      return true;
    case '0':
    case 'f':
    case 'false':
      return false;
    default:
      throw new ProxyError(`invalid argument "${raw}" for "--${name}" flag: use true or false`);
  }
}

/** Comma-separated values, with "double quotes" protecting commas (as pflag's CSV reading). */
export function splitList(raw: string): string[] {
  if (raw === '') return [];
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === '"') {
      if (quoted && raw[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

export function formatFlagHelp(specs: readonly FlagSpec[]): string {
  const rows = specs.map((s) => {
    const kind = s.type === 'bool' ? '' : s.type === 'strings' ? ' strings' : ` ${s.type}`;
    return [`      --${s.name}${kind}`, s.help + defaultText(s)];
  });
  const width = Math.max(...rows.map((r) => r[0]!.length)) + 3;
  return rows.map(([a, b]) => a!.padEnd(width) + b).join('\n');
}

function defaultText(s: FlagSpec): string {
  if (s.type === 'bool') return s.default === true ? ' (default true)' : '';
  if (s.type === 'strings') return '';
  if (s.type === 'string') return s.default === '' ? '' : ` (default "${s.default}")`;
  if (s.type === 'duration') return ` (default ${formatDurationForHelp(s.default as number)})`;
  return s.default === 0 ? '' : ` (default ${s.default})`;
}

function formatDurationForHelp(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
