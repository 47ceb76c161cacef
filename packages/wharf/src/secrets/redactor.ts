import { shellEscape } from './shellwords.js';

/** What replaces a secret value in any text wharf writes. */
export const REDACTED = '[REDACTED]';

/** Values shorter than this are not redacted: they would blank out ordinary words. */
export const MIN_REDACTED_LENGTH = 4;

/** Lines of a multi-line value (PEM keys) are redacted on their own from this length. */
const MIN_LINE_LENGTH = 8;

/**
 * Replaces every known secret value in a string. The runner passes every log
 * line through one of these; adapters and the secrets loader add values (and
 * session tokens) as soon as they learn them. Besides the raw value it also
 * knows the value's JSON-escaped and shell-escaped spellings and each long line
 * of a multi-line value, so a secret quoted in a command line or a JSON
 * document is caught as well.
 */
export class Redactor {
  private readonly values = new Set<string>();
  private pattern: RegExp | null = null;

  /** Remembers a secret value; ignored when shorter than 4 characters. */
  add(value: string | undefined | null): void {
    if (typeof value !== 'string' || value.length < MIN_REDACTED_LENGTH) return;
    const before = this.values.size;
    this.values.add(value);
    const json = JSON.stringify(value).slice(1, -1);
    if (json !== value) this.values.add(json);
    const escaped = shellEscape(value);
    if (escaped !== value) this.values.add(escaped);
    if (/[\r\n]/.test(value)) {
      for (const line of value.split(/\r?\n/))
        if (line.trim().length >= MIN_LINE_LENGTH) this.values.add(line);
    }
    if (this.values.size !== before) this.pattern = null;
  }

  /** Remembers every value of a map or record. */
  addAll(values: Iterable<string> | Record<string, string>): void {
    const list: Iterable<string> = isIterable(values) ? values : Object.values(values);
    for (const value of list) this.add(value);
  }

  /** How many distinct spellings are known (for tests and diagnostics). */
  get size(): number {
    return this.values.size;
  }

  /** `text` with every known secret replaced by [REDACTED]. */
  redact(text: string): string {
    if (this.values.size === 0 || text === '') return text;
    if (!this.pattern) {
      const sorted = [...this.values].sort((a, b) => b.length - a.length);
      this.pattern = new RegExp(sorted.map(escapeRegExp).join('|'), 'g');
    }
    return text.replace(this.pattern, REDACTED);
  }
}

function isIterable(value: unknown): value is Iterable<string> {
  return typeof value === 'object' && value !== null && Symbol.iterator in value;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
