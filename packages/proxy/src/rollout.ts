// Canary split: a request goes to the rollout targets when its kamal-rollout
// cookie is on the allowlist or hashes (FNV-1a, 32 bit) under the percentage.

export const ROLLOUT_COOKIE = 'kamal-rollout';

export interface RolloutSnapshot {
  percentage: number;
  allowlist: string[];
}

export class RolloutController {
  readonly percentage: number;
  readonly allowlist: string[];
  private readonly splitPoint: number;

  constructor(percentage: number, allowlist: readonly string[]) {
    this.percentage = percentage;
    this.allowlist = [...allowlist];
    this.splitPoint = (0xffffffff * percentage) / 100;
  }

  snapshot(): RolloutSnapshot {
    return { percentage: this.percentage, allowlist: this.allowlist };
  }

  /** `value` is the kamal-rollout cookie value, or null when absent. */
  usesRollout(value: string | null): boolean {
    if (value === null || value === '') return false;
    if (this.allowlist.includes(value)) return true;
    return fnv32a(value) <= this.splitPoint;
  }
}

export function fnv32a(value: string): number {
  const bytes = Buffer.from(value, 'utf8');
  let hash = 0x811c9dc5;
  for (const b of bytes) {
    hash ^= b;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** The value of one cookie in a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (header === undefined) return null;
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(';', start);
    if (end === -1) end = header.length;
    const eq = header.indexOf('=', start);
    if (eq !== -1 && eq < end && header.slice(start, eq).trim() === name) {
      let v = header.slice(eq + 1, end).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      return v;
    }
    start = end + 1;
  }
  return null;
}
