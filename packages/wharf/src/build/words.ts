/**
 * A local command as data. Each word carries the exact argument the program
 * receives (wharf runs local programs without a shell) and the text Kamal
 * prints for it, so one value gives both the argv to execute and a rendering
 * byte-identical to Kamal's commands (minus Kamal's trailing `2>&1`: the
 * runner merges stderr into the stream itself).
 */
import { escapeShellValue } from '../config/shell-args.js';

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

/** Kamal::Utils.escape_shell_value, shared with the config's argument helpers. */
export { escapeShellValue };
