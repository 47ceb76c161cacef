/**
 * Turning argv arrays into POSIX shell command text. Every remote command
 * wharf runs is data (an argv array) until this one place makes it a string
 * for `sh -c` on the server, so quoting lives here and nowhere else.
 */

/** A piece of shell syntax passed through unquoted: pipes, redirections, `&&`. */
export interface RawShell {
  readonly raw: string;
}

/** One word of a command: a literal argument (quoted as needed) or raw shell syntax. */
export type ShellWord = string | RawShell;

/** Marks `text` as shell syntax that must not be quoted, e.g. `shellRaw('2>&1')` or `shellRaw('|')`. */
export function shellRaw(text: string): RawShell {
  return { raw: text };
}

export function isRawShell(word: unknown): word is RawShell {
  return typeof word === 'object' && word !== null && typeof (word as RawShell).raw === 'string';
}

/** Characters that never need quoting in any POSIX shell, wherever they sit in a word. */
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * Quotes one argument so a POSIX shell reads it back as exactly that string:
 * safe words stay bare, everything else goes in single quotes, and a single
 * quote inside becomes `'\''`. NUL cannot travel in an argument, so it throws.
 */
export function shellQuote(word: string): string {
  if (word.includes('\0')) throw new Error('a shell argument cannot contain a NUL byte');
  if (word === '') return "''";
  if (SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Joins argv into one command line: literal words quoted, raw words as they are. */
export function shellJoin(argv: readonly ShellWord[]): string {
  return argv.map((word) => (isRawShell(word) ? word.raw : shellQuote(word))).join(' ');
}

/** A command as callers give it: shell text used verbatim, or argv to quote. */
export type RemoteCommand = string | readonly ShellWord[];

export function commandText(command: RemoteCommand): string {
  return typeof command === 'string' ? command : shellJoin(command);
}

/** Valid environment variable name for `export`. */
export function isEnvName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}
