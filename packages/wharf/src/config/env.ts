/** Env of a role, an accessory or a tag: clear values and secret names (never secret values). */
import { argumentize, rubyString } from './shell-args.js';

export type SecretLookup = (name: string) => string;

export interface SecretRef {
  /** Env variable name in the container. */
  name: string;
  /** Secret to read its value from (the part after `:` in `NAME:SECRET`, else the name itself). */
  secret: string;
}

const isHash = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v);

export class Env {
  /** Clear variables, values as strings. */
  readonly clear: Record<string, string>;
  /** Secret entries as written (`NAME` or `NAME:SECRET`). */
  readonly secretKeys: string[];

  constructor(clear: Record<string, string>, secretKeys: string[]) {
    this.clear = clear;
    this.secretKeys = secretKeys;
  }

  /** Kamal's reading: `clear`/`secret`/`tags` keys make a structured env, otherwise every key is clear. */
  static fromRaw(raw: unknown): Env {
    if (!isHash(raw)) return new Env({}, []);
    const structured = 'clear' in raw || 'secret' in raw || 'tags' in raw;
    const clearRaw = structured ? (isHash(raw.clear) ? raw.clear : {}) : raw;
    const clear: Record<string, string> = {};
    for (const [k, v] of Object.entries(clearRaw)) clear[k] = rubyString(v);
    const secretKeys = structured && Array.isArray(raw.secret) ? raw.secret.map((s) => rubyString(s)) : [];
    return new Env(clear, secretKeys);
  }

  /** Later wins for clear values; secret lists are unioned in order. */
  merge(other: Env): Env {
    const secrets = [...this.secretKeys];
    for (const s of other.secretKeys) if (!secrets.includes(s)) secrets.push(s);
    return new Env({ ...this.clear, ...other.clear }, secrets);
  }

  /** The secrets as (env name, secret name) pairs; later duplicates of a name win. */
  get secrets(): SecretRef[] {
    const byName = new Map<string, SecretRef>();
    for (const key of this.secretKeys) {
      const i = key.indexOf(':');
      const ref = i < 0 ? { name: key, secret: key } : { name: key.slice(0, i), secret: key.slice(i + 1) };
      byName.set(ref.name, ref);
    }
    return [...byName.values()];
  }

  /** The names of the secrets this env needs. */
  get secretNames(): string[] {
    return [...new Set(this.secrets.map((s) => s.secret))];
  }

  /** `--env KEY="value"` for each clear variable. */
  clearArgs(): string[] {
    return argumentize('--env', this.clear);
  }

  /** Secret values looked up now (for the env file at deploy time). */
  resolveSecrets(lookup: SecretLookup): Record<string, string> {
    const out: Record<string, string> = {};
    for (const ref of this.secrets) out[ref.name] = lookup(ref.secret);
    return out;
  }

  /** Clear and secret values together (what an accessory's .erb files see in ENV). */
  toRecord(lookup: SecretLookup): Record<string, string> {
    return { ...this.clear, ...this.resolveSecrets(lookup) };
  }

  /** The env file written to the host (Kamal::EnvFile): `KEY=value` lines, escaped for Docker env files. */
  envFile(lookup: SecretLookup): string {
    return envFileContent(this.resolveSecrets(lookup));
  }
}

/** Kamal::EnvFile#to_s. */
export function envFileContent(values: Record<string, string>): string {
  let out = '';
  for (const [key, value] of Object.entries(values)) out += `${key}=${escapeEnvFileValue(value)}\n`;
  return out === '' ? '\n' : out;
}

function escapeEnvFileValue(value: string): string {
  const parts = value.match(/[\x00-\x7F]+|[^\x00-\x7F]+/g) ?? [];
  return parts
    .map((part) => {
      if (!/^[\x00-\x7F]+$/.test(part)) return part;
      // String#dump without the outer quotes; docker env files take quotes and # literally.
      let s = '';
      for (let i = 0; i < part.length; i++) {
        const c = part[i]!;
        const code = c.charCodeAt(0);
        const esc: Record<string, string> = {
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
        if (esc[c]) s += esc[c];
        else if (code < 0x20 || code === 0x7f) s += `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
        else s += c;
      }
      return s;
    })
    .join('');
}
