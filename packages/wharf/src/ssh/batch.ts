/**
 * Several commands in one round trip: they run one after another in one
 * channel, and after each one a marker with its exit status goes to stdout
 * and to stderr, so both streams can be cut back into per-command results.
 * The marker carries a random nonce and NUL bytes, which command output of
 * this kind (docker, coreutils) does not contain.
 */
import { randomBytes } from 'node:crypto';
import { commandText, type RemoteCommand } from './quote.js';

export interface BatchResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function newBatchNonce(): string {
  return randomBytes(8).toString('hex');
}

/** The shell text for the batch. With stopOnError, the batch stops at the first non-zero exit. */
export function batchScript(commands: readonly RemoteCommand[], nonce: string, stopOnError = true): string {
  return commands
    .map((command, i) => {
      const marker = `printf '\\000wharf-${nonce}:${i}:%s\\000' "$wharf_s"`;
      const stop = stopOnError ? ` && [ "$wharf_s" -eq 0 ] || exit "$wharf_s"` : '';
      // A subshell keeps one command's `exit`, `cd` or `set` from leaking into the next.
      return `( ${commandText(command)}\n); wharf_s=$?; ${marker}; ${marker} >&2${stop}`;
    })
    .join('\n');
}

/** Splits the batch's output back into one result per command that ran. */
export function splitBatchOutput(stdout: string, stderr: string, nonce: string): BatchResult[] {
  const pattern = new RegExp(`\\0wharf-${nonce}:(\\d+):(\\d+)\\0`, 'g');
  const cut = (text: string): { index: number; code: number; text: string }[] => {
    const parts: { index: number; code: number; text: string }[] = [];
    let last = 0;
    for (const m of text.matchAll(pattern)) {
      parts.push({ index: Number(m[1]), code: Number(m[2]), text: text.slice(last, m.index) });
      last = m.index! + m[0].length;
    }
    return parts;
  };
  const out = cut(stdout);
  const err = cut(stderr);
  return out.map((o, i) => ({ code: o.code, stdout: o.text, stderr: err[i]?.text ?? '' }));
}

/** What is left after the last marker (output of a command that never finished). */
export function batchTail(text: string, nonce: string): string {
  const at = text.lastIndexOf(`\0wharf-${nonce}:`);
  if (at < 0) return text;
  const end = text.indexOf('\0', at + 1);
  return end < 0 ? '' : text.slice(end + 1);
}
