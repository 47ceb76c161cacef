/** Sizes as people write them ("64MB", "2GiB", "500k") and as wharf prints them. */
import { UserError } from '../../util/errors.js';

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Bytes from a size: a number with an optional unit, case-insensitive.
 * Units are binary whatever the spelling (MB = MiB = 1024² bytes), as
 * Postgres' own size settings and pg_size_pretty read them.
 */
export function parseSize(text: string, option = '--defer-over'): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = match ? UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new UserError(
      `${option} ${JSON.stringify(text)} is not a size; write a number with an optional unit such as 64MB, 512kB or 2GiB.`,
    );
  }
  return Math.round(Number(match[1]) * unit);
}

/** 1536 -> "1.5 kB", 2147483648 -> "2.0 GB" (binary units, as pg_size_pretty). */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[i]}`;
}

/** Seconds with one decimal: "2.3 s". */
export function formatSeconds(seconds: number): string {
  return `${seconds.toFixed(1)} s`;
}
