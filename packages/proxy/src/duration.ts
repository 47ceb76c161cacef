// Go-style durations ("30s", "1m30s", "500ms", "1.5h"), as kamal-proxy's CLI
// accepts them, converted to and from milliseconds.
import { ProxyError } from './errors.js';

const UNITS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Parses a Go duration into milliseconds; throws ProxyError naming the flag when malformed. */
export function parseDuration(text: string, flag = 'duration'): number {
  let rest = text.trim();
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    if (rest.startsWith('-')) sign = -1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid(text, flag);
  let total = 0;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (!m) throw invalid(text, flag);
    total += Number(m[1]) * (UNITS[m[2]!] ?? 0);
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

function invalid(text: string, flag: string): ProxyError {
  return new ProxyError(
    `invalid argument "${text}" for "--${flag}" flag: use a duration such as 30s, 1m30s or 500ms`,
  );
}

/** Formats milliseconds the way Go prints a time.Duration (30s, 1m30s, 500ms). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${trimFloat(ms)}ms`;
  let rest = ms / 1000;
  const h = Math.floor(rest / 3600);
  rest -= h * 3600;
  const m = Math.floor(rest / 60);
  rest -= m * 60;
  let out = '';
  if (h > 0) out += `${h}h`;
  if (h > 0 || m > 0) out += `${m}m`;
  out += `${trimFloat(rest)}s`;
  return out;
}

function trimFloat(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}
