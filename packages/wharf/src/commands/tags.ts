/**
 * Kamal::Tags: the details stamped on audit lines (`[2026-…Z] [dev@example.com]
 * [staging] [web] message`) and given to hooks as KAMAL_* variables. Who and
 * when come from the caller (a Stamp), so building tags stays pure: the
 * performer is `git config user.email`, else `whoami`; the time is now, UTC.
 */
import type { Config } from '../config/index.js';
import { iso8601 } from './base.js';

/** Who runs wharf and when (computed once per invocation by the caller). */
export interface Stamp {
  /** `git config user.email`, else the output of `whoami`. */
  performer: string;
  /** When the invocation started; rendered as ISO 8601 UTC in whole seconds. */
  at: Date;
}

/** A tag value; objects (a Role) are shown with their toString. */
export type TagValue = string | number | boolean | undefined | null | { toString(): string };

/** Ordered tags; undefined/null values are dropped (Ruby's `compact`). */
export class Tags {
  readonly entries: ReadonlyArray<readonly [string, string]>;

  constructor(tags: Iterable<readonly [string, TagValue]>) {
    const map = new Map<string, string>();
    for (const [k, v] of tags) {
      if (v === undefined || v === null) map.delete(k);
      else map.set(k, String(v));
    }
    this.entries = [...map.entries()];
  }

  /** The default tags of a config (recorded_at, performer, destination, version, service_version, service) then `extra`. */
  static fromConfig(config: Config, stamp: Stamp, extra: Record<string, TagValue> = {}): Tags {
    const defaults: [string, TagValue][] = [
      ['recorded_at', iso8601(stamp.at)],
      ['performer', stamp.performer],
      ['destination', config.destination],
      ['version', config.version],
      ['service_version', serviceVersion(config)],
      ['service', config.service],
    ];
    // Like Ruby's Hash#merge: a key given again keeps its place, takes the new value.
    const merged = new Map<string, TagValue>(defaults);
    for (const [k, v] of Object.entries(extra)) merged.set(k, v);
    return new Tags(merged);
  }

  /** `KAMAL_RECORDED_AT` … (prefix + upcased name). */
  env(prefix = 'KAMAL'): Record<string, string> {
    return Object.fromEntries(this.entries.map(([k, v]) => [`${prefix}_${k.toUpperCase()}`, v]));
  }

  /** `[v1] [v2] …` */
  toString(): string {
    return this.entries.map(([, v]) => `[${v}]`).join(' ');
  }

  except(...keys: string[]): Tags {
    return new Tags(this.entries.filter(([k]) => !keys.includes(k)));
  }
}

/** `<service>@<abbreviated version>` */
export function serviceVersion(config: Config): string {
  return `${config.service}@${config.abbreviatedVersion}`;
}
