/**
 * Kamal's argument helpers (Kamal::Utils.argumentize / optionize /
 * escape_shell_value), so commands built from the config come out
 * byte-identical to Kamal's. Values are escaped for a POSIX shell on the host:
 * double-quoted like Ruby's String#dump, backticks escaped, and `$` escaped
 * unless it starts a `${VAR}` reference (which the remote shell expands).
 */

export type OptionValue =
  string | number | boolean | null | undefined | OptionValue[] | { [key: string]: OptionValue };

/** Ruby's `present?` for config values. */
export function present(value: unknown): boolean {
  if (value === null || value === undefined || value === false) return false;
  if (typeof value === 'string') return value.trim() !== '';
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** Ruby's to_s for values coming from YAML. */
export function rubyString(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (!Number.isFinite(value)) return value > 0 ? 'Infinity' : '-Infinity';
    return String(value);
  }
  if (Array.isArray(value))
    return `[${value.map((v) => (typeof v === 'string' ? JSON.stringify(v) : rubyString(v))).join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

const DUMP_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\f': '\\f',
  '\v': '\\v',
  '\b': '\\b',
  '\x07': '\\a',
  '\x1b': '\\e',
};

/** Ruby's String#dump for an ASCII string, with the surrounding quotes. */
export function rubyDump(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    const code = c.charCodeAt(0);
    if (DUMP_ESCAPES[c]) out += DUMP_ESCAPES[c];
    else if (c === '#' && (s[i + 1] === '{' || s[i + 1] === '$' || s[i + 1] === '@')) out += '\\#';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

/** Kamal::Utils.escape_shell_value: ASCII runs dumped and shell-escaped, other characters kept verbatim. */
export function escapeShellValue(value: unknown): string {
  const s = rubyString(value);
  const parts = s.match(/[\x00-\x7F]+|[^\x00-\x7F]+/g) ?? [''];
  if (s === '') return '""';
  return parts
    .map((part) =>
      /^[\x00-\x7F]+$/.test(part)
        ? rubyDump(part)
            .replace(/`/g, '\\`')
            .replace(/\$(?!\{[^}]*\})/g, '\\$')
        : part,
    )
    .join('');
}

/** Kamal::Utils.argumentize: `--label`, `service="app"` pairs; list items and bare keys are passed as written. */
export function argumentize(
  argument: string,
  attributes: Record<string, unknown> | readonly unknown[] | string | null | undefined,
): string[] {
  if (attributes === null || attributes === undefined) return [];
  const pairs: [unknown, unknown][] =
    typeof attributes === 'string'
      ? [[attributes, undefined]]
      : Array.isArray(attributes)
        ? attributes.map((a) => (Array.isArray(a) ? [a[0], a[1]] : [a, undefined]))
        : Object.entries(attributes);
  return pairs.flatMap(([key, value]) => {
    if (present(value)) return [argument, `${rubyString(key)}=${escapeShellValue(value)}`];
    if (value === false) return [argument, `${rubyString(key)}=false`];
    return [argument, rubyString(key)];
  });
}

function flattenArgs(args: Record<string, unknown>): [string, unknown][] {
  return Object.entries(args).flatMap(([key, value]): [string, unknown][] => {
    if (Array.isArray(value)) return value.map((entry) => [key, entry]);
    if (value !== null && typeof value === 'object')
      return Object.entries(value).map((entry) => [key, entry]);
    return [[key, value]];
  });
}

/** Kamal::Utils.optionize: `--key value` (or `--key=value` with `with: '='`); true gives a bare `--key`, lists repeat. */
export function optionize(
  args: Record<string, unknown>,
  options: { with?: string; escape?: boolean } = {},
): string[] {
  const escape = options.escape ?? true;
  const fmt = (value: unknown) => (escape ? escapeShellValue(value) : rubyString(value));
  if (options.with !== undefined) {
    return flattenArgs(args).map(([key, value]) =>
      value === true ? `--${key}` : `--${key}${options.with}${fmt(value)}`,
    );
  }
  return flattenArgs(args).flatMap(([key, value]) =>
    value === true ? [`--${key}`] : [`--${key}`, fmt(value)],
  );
}
