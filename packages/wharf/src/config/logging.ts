/** Docker logging options (root and per role). */
import { argumentize, optionize, present, rubyString } from './shell-args.js';

const isHash = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isHash(base) || !isHash(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : v;
  return out;
}

export class Logging {
  constructor(readonly raw: Record<string, unknown> = {}) {}

  get driver(): string | undefined {
    return this.raw.driver === undefined || this.raw.driver === null
      ? undefined
      : rubyString(this.raw.driver);
  }

  get options(): Record<string, unknown> {
    return isHash(this.raw.options) ? this.raw.options : {};
  }

  merge(other: Logging): Logging {
    return new Logging(deepMerge(this.raw, other.raw) as Record<string, unknown>);
  }

  /** `--log-driver "x" --log-opt k="v"`, or Kamal's default `--log-opt max-size="10m"`. */
  args(): string[] {
    if (present(this.driver) || present(this.options)) {
      return [
        ...optionize(this.driver !== undefined ? { 'log-driver': this.driver } : {}),
        ...argumentize('--log-opt', this.options),
      ];
    }
    return argumentize('--log-opt', { 'max-size': '10m' });
  }
}
