/**
 * A local command as data. Each word carries the exact argument the program
 * receives (wharf runs local programs without a shell) and the text Kamal
 * prints for it, so one value gives both the argv to execute and a rendering
 * byte-identical to Kamal's commands (minus Kamal's trailing `2>&1`: the
 * runner merges stderr into the stream itself).
 */

export interface Word {
  /** The argument exactly as the program receives it. */
  readonly value: string;
  /** Kamal's shell rendering of it (e.g. `service="app"` for the value `service=app`). */
  readonly text: string;
  /** What logs show instead of `text` when the value is sensitive (Kamal's `key=[REDACTED]`). */
  readonly redacted?: string;
  /** Expand `$VAR` / `${VAR}` from the environment before running (Kamal's shell did). */
  readonly expand?: boolean;
}

export interface Command {
  readonly words: readonly Word[];
  /** Extra environment for the process: names only; values that are secrets come from the runner. */
  readonly env?: Readonly<Record<string, string>>;
}

/** A plain word: the value and its rendering are the same. */
export function w(value: string): Word {
  return { value, text: value };
}

export function words(...values: string[]): Word[] {
  return values.map(w);
}

/** `key=value` rendered as Kamal's escape_shell_value renders it (`key="value"`). */
export function keyValue(key: string, value: string, options: { sensitive?: boolean } = {}): Word {
  return {
    value: `${key}=${value}`,
    text: `${key}=${escapeShellValue(value)}`,
    ...(options.sensitive ? { redacted: `${key}=[REDACTED]` } : {}),
  };
}

export function command(words: Word[], env?: Record<string, string>): Command {
  return env && Object.keys(env).length > 0 ? { words, env } : { words };
}

/** The argv (program first) to run. */
export function argv(cmd: Command, environment: NodeJS.ProcessEnv = process.env): string[] {
  return cmd.words.map((word) => (word.expand ? expandVariables(word.value, environment) : word.value));
}

/** Kamal's rendering, values shown (what Kamal's unit tests compare). */
export function kamalText(cmd: Command): string {
  return cmd.words.map((word) => word.text).join(' ');
}

/** The rendering for output and logs: sensitive values redacted. */
export function displayText(cmd: Command): string {
  return cmd.words.map((word) => word.redacted ?? word.text).join(' ');
}

/** `$NAME` and `${NAME}` replaced from `env` (unset names become empty, as in a shell). */
export function expandVariables(text: string, env: NodeJS.ProcessEnv): string {
  return text.replace(
    /\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, a?: string, b?: string) => {
      return env[(a ?? b)!] ?? '';
    },
  );
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

/** Ruby's String#dump of an ASCII string, quotes included. */
function rubyDump(s: string): string {
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

/**
 * Kamal::Utils.escape_shell_value: ASCII runs are dumped in double quotes with
 * backticks and `$` escaped (except `${VAR}`), other characters kept as they are.
 */
export function escapeShellValue(value: string): string {
  if (value === '') return '""';
  const parts = value.match(/[\x00-\x7F]+|[^\x00-\x7F]+/g) ?? [];
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
