/** Small config sections: registry, ssh, sshkit, boot. */
import { rubyString } from './shell-args.js';
import type { SecretLookup } from './env.js';

type Hash = Record<string, unknown>;

/** A registry credential: a literal value, or the name of a secret (list form `[NAME]`). */
export type Credential = { value: string } | { secret: string };

function credential(raw: unknown): Credential | undefined {
  if (Array.isArray(raw)) return raw.length > 0 ? { secret: rubyString(raw[0]) } : undefined;
  if (raw === undefined || raw === null) return undefined;
  return { value: rubyString(raw) };
}

export class Registry {
  constructor(readonly raw: Hash) {}
  get server(): string | undefined {
    return this.raw.server === undefined || this.raw.server === null
      ? undefined
      : rubyString(this.raw.server);
  }
  get usernameCredential(): Credential | undefined {
    return credential(this.raw.username);
  }
  get passwordCredential(): Credential | undefined {
    return credential(this.raw.password);
  }
  /** The user name, looking a secret up when given in list form. */
  username(lookup: SecretLookup): string | undefined {
    const c = this.usernameCredential;
    return c === undefined ? undefined : 'secret' in c ? lookup(c.secret) : c.value;
  }
  password(lookup: SecretLookup): string | undefined {
    const c = this.passwordCredential;
    return c === undefined ? undefined : 'secret' in c ? lookup(c.secret) : c.value;
  }
  /** `localhost:PORT` (or `localhost`) means a local registry tunnelled to the servers. */
  get local(): boolean {
    return /^localhost(:|$)/.test(this.server ?? '');
  }
  get localPort(): number | undefined {
    if (!this.local) return undefined;
    const port = Number.parseInt(this.server!.split(':').pop() ?? '', 10);
    return Number.isNaN(port) ? 0 : port;
  }
}

export class Ssh {
  constructor(readonly raw: Hash) {}
  get user(): string {
    return 'user' in this.raw ? rubyString(this.raw.user) : 'root';
  }
  get port(): number | string {
    const p = this.raw.port;
    if (p === undefined) return 22;
    return typeof p === 'number' ? p : rubyString(p);
  }
  /** Jump host as `user@host` (user defaults to root). */
  get proxy(): string | undefined {
    if (this.raw.proxy === undefined || this.raw.proxy === null) return undefined;
    const p = rubyString(this.raw.proxy);
    return p.includes('@') ? p : `root@${p}`;
  }
  get proxyCommand(): string | undefined {
    return this.raw.proxy !== undefined || this.raw.proxy_command === undefined
      ? undefined
      : rubyString(this.raw.proxy_command);
  }
  get keysOnly(): boolean | undefined {
    return typeof this.raw.keys_only === 'boolean' ? this.raw.keys_only : undefined;
  }
  get keys(): string[] | undefined {
    return Array.isArray(this.raw.keys) ? this.raw.keys.map(rubyString) : undefined;
  }
  /** Names of secrets holding private keys (an entry that is no secret name is inline PEM, deprecated). */
  get keyData(): string[] | undefined {
    return Array.isArray(this.raw.key_data) ? this.raw.key_data.map(rubyString) : undefined;
  }
  get config(): boolean | string | string[] | undefined {
    const c = this.raw.config;
    if (c === undefined) return undefined;
    if (typeof c === 'boolean') return c;
    return Array.isArray(c) ? c.map(rubyString) : rubyString(c);
  }
  get forwardAgent(): boolean | undefined {
    return typeof this.raw.forward_agent === 'boolean' ? this.raw.forward_agent : undefined;
  }
  get logLevel(): string {
    return 'log_level' in this.raw ? rubyString(this.raw.log_level) : 'fatal';
  }
}

export class Sshkit {
  constructor(readonly raw: Hash) {}
  get maxConcurrentStarts(): number {
    return typeof this.raw.max_concurrent_starts === 'number' ? this.raw.max_concurrent_starts : 30;
  }
  get poolIdleTimeout(): number {
    return typeof this.raw.pool_idle_timeout === 'number' ? this.raw.pool_idle_timeout : 900;
  }
  get dnsRetries(): number {
    return typeof this.raw.dns_retries === 'number' ? this.raw.dns_retries : 3;
  }
}

export class Boot {
  constructor(
    readonly raw: Hash,
    private readonly hostCount: number,
  ) {}
  /** Hosts per boot group: a number, or a percentage of all hosts (at least 1); undefined = all at once. */
  get limit(): number | undefined {
    const l = this.raw.limit;
    if (l === undefined || l === null) return undefined;
    const s = rubyString(l);
    if (s.endsWith('%'))
      return Math.max(Math.floor((this.hostCount * (Number.parseInt(s, 10) || 0)) / 100), 1);
    return typeof l === 'number' ? l : Number.parseInt(s, 10) || undefined;
  }
  get wait(): number | undefined {
    return typeof this.raw.wait === 'number' ? this.raw.wait : undefined;
  }
  get parallelRoles(): boolean {
    return this.raw.parallel_roles === true;
  }
}
