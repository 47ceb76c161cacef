import { UserError } from '../util/errors.js';

/**
 * Parser for Kamal's secrets files: the dotenv gem's format (3.x), with
 * Kamal's command substitution. Per value, as the gem does it:
 *
 * - surrounding single or double quotes are removed; single-quoted values are
 *   taken literally;
 * - in double quotes `\n`/`\r` stay as written (a backslash and a letter)
 *   unless DOTENV_LINEBREAK_MODE=legacy turns them into line breaks;
 * - otherwise a backslash is dropped before any character but `$`;
 * - `$(command)` (balanced or backslash-escaped parentheses inside) is
 *   replaced by the command's output, `\$(…)` stays literal;
 * - `$NAME` / `${NAME}` become earlier values of the same file, else the
 *   environment, else empty; `\$NAME` stays literal.
 *
 * One deliberate difference from the gem: command output is not scanned again
 * for `$NAME`, so a password containing `$` survives intact (the gem expands
 * variables after running commands, which cuts such values short).
 */

export interface DotenvContext {
  /** The process environment variables fall back to. */
  env: NodeJS.ProcessEnv;
  /**
   * Evaluates one `$(…)` substitution. `command` has variables expanded;
   * `raw` is the text as written in the file (safe to show: no values in it).
   * Returns the output with one trailing newline removed.
   */
  runCommand(command: string, raw: string, key: string): string;
  /** Called after each assignment (a later line may assign a key again). */
  assigned?(key: string): void;
}

const WS = '[ \\t\\r\\n\\f\\v]';
// Mirrors the gem's LINE regex with Ruby's ^, $ and \s spelled out for JavaScript.
const LINE = new RegExp(
  `(?:(?<![\\s\\S])|(?<=\\n))${WS}*(?<export>export${WS}+)?(?<key>[A-Za-z0-9_.]+)` +
    `(?:(?:${WS}*=${WS}*?|:${WS}+?)(?<value>${WS}*'(?:\\\\'|[^'])*'|${WS}*"(?:\\\\"|[^"])*"|[^#\\n]+)?)?` +
    `${WS}*(?:#[^\\n]*)?(?=\\n|(?![\\s\\S]))`,
  'g',
);

const QUOTED = /^(['"])([\s\S]*)\1$/;

/** Parses one secrets file into ordered key/value pairs. `file` is used in error messages. */
export function parseDotenv(
  text: string,
  ctx: DotenvContext,
  file = 'the secrets file',
): Map<string, string> {
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const hash = new Map<string, string>();
  for (const match of source.matchAll(LINE)) {
    const groups = match.groups!;
    const key = groups.key!;
    if (groups.export !== undefined && groups.value === undefined) {
      if (!hash.has(key)) {
        throw new UserError(
          `Line "${match[0].trim()}" in ${file} exports ${key}, which the file never sets; set it above that line or remove the line.`,
        );
      }
      continue;
    }
    hash.set(key, parseValue(groups.value ?? '', key, hash, ctx));
    ctx.assigned?.(key);
  }
  return hash;
}

function rubyStrip(text: string): string {
  return text.replace(/^[\0\t\n\v\f\r ]+/, '').replace(/[\0\t\n\v\f\r ]+$/, '');
}

function parseValue(raw: string, key: string, hash: Map<string, string>, ctx: DotenvContext): string {
  let value = rubyStrip(raw);
  const quoted = QUOTED.exec(value);
  const quote = quoted?.[1];
  if (quoted) value = quoted[2]!;
  if (quote === "'") return value;
  if (quote === '"') {
    const legacy = (hash.get('DOTENV_LINEBREAK_MODE') ?? ctx.env.DOTENV_LINEBREAK_MODE) === 'legacy';
    value = legacy
      ? value.replaceAll('\\n', '\n').replaceAll('\\r', '\r')
      : value.replaceAll('\\n', '\\\\n').replaceAll('\\r', '\\\\r');
  }
  value = value.replace(/\\([^$])/g, '$1');
  return substitute(value, key, hash, ctx);
}

/** `$(` at `start` → index just past the balanced `)`, or -1 (Kamal's INTERPOLATED_SHELL_COMMAND). */
export function commandEnd(text: string, start: number): number {
  if (text[start] !== '$' || text[start + 1] !== '(') return -1;
  let depth = 0;
  let i = start + 1;
  let items = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[i + 1];
      if (next === undefined || next === '\n') return -1;
      i += 2;
      items++;
      continue;
    }
    if (c === '(') {
      if (depth > 0 && text[i + 1] === ')') return -1; // an empty nested group never matches
      depth++;
      i++;
      continue;
    }
    if (c === ')') {
      depth--;
      i++;
      if (depth === 0) return items > 0 ? i : -1;
      items++;
      continue;
    }
    items++;
    i++;
  }
  return -1;
}

const VARIABLE = /\\?\$(?!\()\{?([A-Za-z0-9_]+)?\}?/y;

/** Expands `$NAME`/`${NAME}` (the gem's Variable substitution) at one position; returns [text, end] or null. */
function variableAt(
  text: string,
  i: number,
  hash: Map<string, string>,
  env: NodeJS.ProcessEnv,
): [string, number] | null {
  VARIABLE.lastIndex = i;
  const m = VARIABLE.exec(text);
  if (!m) return null;
  const end = i + m[0].length;
  if (m[0].startsWith('\\')) return [m[0].slice(1), end];
  const name = m[1];
  if (name === undefined) return [m[0], end];
  return [hash.get(name) ?? env[name] ?? '', end];
}

/** Variable expansion alone (used on a command's text before it runs). */
export function expandVariables(text: string, hash: Map<string, string>, env: NodeJS.ProcessEnv): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '$' || (c === '\\' && text[i + 1] === '$')) {
      const hit = variableAt(text, i, hash, env);
      if (hit) {
        out += hit[0];
        i = hit[1];
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}

function substitute(value: string, key: string, hash: Map<string, string>, ctx: DotenvContext): string {
  let out = '';
  let i = 0;
  while (i < value.length) {
    const c = value[i]!;
    if (c === '\\' && value[i + 1] === '$') {
      const end = commandEnd(value, i + 1);
      if (end > 0) {
        out += value.slice(i + 1, end);
        i = end;
        continue;
      }
    }
    if (c === '$') {
      const end = commandEnd(value, i);
      if (end > 0) {
        const raw = value.slice(i + 2, end - 1);
        out += ctx.runCommand(expandVariables(raw, hash, ctx.env), raw, key);
        i = end;
        continue;
      }
    }
    if (c === '$' || (c === '\\' && value[i + 1] === '$')) {
      const hit = variableAt(value, i, hash, ctx.env);
      if (hit) {
        out += hit[0];
        i = hit[1];
        continue;
      }
    }
    out += c;
    i++;
  }
  return out;
}
