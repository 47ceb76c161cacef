/** A role of the app (web, workers, ...): its hosts and settings merged over the root (Kamal's Configuration::Role). */
import { Env } from './env.js';
import { Logging } from './logging.js';
import { Proxy } from './proxy.js';
import { argumentize, optionize, present, rubyString } from './shell-args.js';
import type { Config } from './config.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Hosts of a host list, each with its tags (`- host`, `- host: tag`, `- host: [a, b]`). */
export function tagHosts(list: unknown): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!Array.isArray(list)) return out;
  for (const entry of list) {
    if (isHash(entry)) {
      const [host, tags] = Object.entries(entry)[0] ?? [];
      if (host === undefined) continue;
      out.set(
        host,
        Array.isArray(tags)
          ? tags.map(rubyString)
          : tags === undefined || tags === null
            ? []
            : [rubyString(tags)],
      );
    } else if (typeof entry === 'string') {
      // Like Kamal, entries that are neither a host name nor a `host: tags` pair are skipped (semantics warns).
      out.set(entry, []);
    }
  }
  return out;
}

export class Role {
  readonly name: string;
  /** The role's own settings (empty for a bare host list). */
  readonly specializations: Hash;
  private readonly taggedHosts: Map<string, string[]>;
  readonly runningProxy: boolean;
  private readonly specializedProxy: Proxy | undefined;
  private readonly envCache = new Map<string, Env>();

  constructor(
    name: string,
    private readonly config: Config,
  ) {
    this.name = name;
    const servers = config.raw.servers;
    const roleConfig = Array.isArray(servers) ? [] : isHash(servers) ? servers[name] : undefined;
    this.specializations = isHash(roleConfig) ? roleConfig : {};
    const hostList = Array.isArray(servers)
      ? servers
      : Array.isArray(roleConfig)
        ? roleConfig
        : isHash(roleConfig)
          ? roleConfig.hosts
          : [];
    this.taggedHosts = tagHosts(hostList);
    const proxySpec = this.specializations.proxy;
    this.runningProxy = this.primary
      ? proxySpec !== false
      : proxySpec !== undefined && proxySpec !== null && proxySpec !== false;
    if (this.runningProxy) {
      this.specializedProxy = new Proxy(isHash(proxySpec) ? proxySpec : {}, config.proxyContext, name);
    }
  }

  toString(): string {
    return this.name;
  }

  get primary(): boolean {
    return this.name === this.config.primaryRoleName;
  }
  get hosts(): string[] {
    return [...this.taggedHosts.keys()];
  }
  get primaryHost(): string | undefined {
    return this.hosts[0];
  }
  /** Tags of a host in this role. */
  tags(host: string): string[] {
    return this.taggedHosts.get(host) ?? [];
  }
  envTags(host: string): { name: string; env: Env }[] {
    return this.tags(host)
      .map((t) => this.config.envTag(t))
      .filter((t): t is { name: string; env: Env } => t !== undefined);
  }
  get cmd(): string | undefined {
    const c = this.specializations.cmd;
    return c === undefined || c === null ? undefined : rubyString(c);
  }
  private get dockerOptions(): Hash {
    return isHash(this.specializations.options) ? this.specializations.options : {};
  }
  /** `docker run` options except restart. */
  optionArgs(): string[] {
    const opts = Object.fromEntries(Object.entries(this.dockerOptions).filter(([k]) => k !== 'restart'));
    return optionize(opts);
  }
  get restartPolicy(): string {
    const r = this.dockerOptions.restart;
    return r === undefined || r === null ? 'unless-stopped' : rubyString(r);
  }
  /** service/role/destination labels, then root labels, then role labels. */
  get labels(): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = {
      service: this.config.service,
      role: this.name,
      destination: this.config.destination,
    };
    for (const src of [this.config.raw.labels, this.specializations.labels])
      if (isHash(src)) for (const [k, v] of Object.entries(src)) out[k] = rubyString(v);
    return out;
  }
  labelArgs(): string[] {
    return argumentize('--label', this.labels);
  }
  get logging(): Logging {
    return this.config.logging.merge(
      new Logging(isHash(this.specializations.logging) ? this.specializations.logging : {}),
    );
  }
  loggingArgs(): string[] {
    return this.logging.args();
  }
  /** The role's proxy settings merged over the root proxy; undefined when the role runs without proxy. */
  get proxy(): Proxy | undefined {
    return this.runningProxy && this.specializedProxy
      ? this.specializedProxy.over(this.config.proxy)
      : undefined;
  }
  get ssl(): boolean {
    return this.proxy?.ssl ?? false;
  }
  get stopTimeout(): number | undefined {
    const t = this.specializations.stop_timeout;
    return typeof t === 'number' ? t : this.config.stopTimeout;
  }
  /** `-t N` for docker stop: the stop timeout, else drain_timeout for roles without proxy. */
  stopArgs(): string[] {
    const t = this.stopTimeout ?? (this.runningProxy ? undefined : this.config.drainTimeout);
    return t === undefined ? [] : ['-t', String(t)];
  }
  /** Root env, then role env, then the env of each tag the host carries. */
  env(host: string): Env {
    let env = this.envCache.get(host);
    if (!env) {
      env = [
        this.config.env,
        Env.fromRaw(this.specializations.env),
        ...this.envTags(host).map((t) => t.env),
      ].reduce((a, b) => a.merge(b));
      this.envCache.set(host, env);
    }
    return env;
  }
  envArgs(host: string): string[] {
    return [...this.env(host).clearArgs(), '--env-file', this.secretsPath];
  }
  get envDirectory(): string {
    return `${this.config.envDirectory}/roles`;
  }
  /** The env file on the host: `.kamal/apps/<service>[-<dest>]/env/roles/<role>.env`. */
  get secretsPath(): string {
    return `${this.config.envDirectory}/roles/${this.name}.env`;
  }
  containerPrefix(): string {
    return [this.config.service, this.name, this.config.destination].filter((x) => x !== undefined).join('-');
  }
  /** `<service>-<role>[-<destination>]-<version>`. */
  containerName(version?: string): string {
    return [this.containerPrefix(), version ?? this.config.version].join('-');
  }
  private get assetPathConfig(): [string, string | undefined] | undefined {
    const raw = this.specializations.asset_path ?? this.config.raw.asset_path;
    if (!present(raw)) return undefined;
    const s = rubyString(raw);
    const i = s.indexOf(':');
    return i < 0 ? [s, undefined] : [s.slice(0, i), s.slice(i + 1)];
  }
  get assetPath(): string | undefined {
    return this.assetPathConfig?.[0];
  }
  get assetPathOptions(): string | undefined {
    return this.assetPathConfig?.[1];
  }
  /** Asset bridging applies only to roles with an asset path that run the proxy. */
  get assets(): boolean {
    return present(this.assetPath) && this.runningProxy;
  }
  assetExtractedDirectory(version?: string): string {
    return `${this.config.assetsDirectory}/extracted/${this.name}-${version ?? this.config.version}`;
  }
  assetVolumeDirectory(version?: string): string {
    return `${this.config.assetsDirectory}/volumes/${this.name}-${version ?? this.config.version}`;
  }
  /** `--volume $PWD/.kamal/apps/<app>/assets/volumes/<role>-<version>:<asset_path>[:opts]`, when assets apply. */
  assetVolumeArgs(version?: string): string[] | undefined {
    if (!this.assets) return undefined;
    const opts = this.assetPathOptions;
    return [
      '--volume',
      `$PWD/${this.assetVolumeDirectory(version)}:${this.assetPath}${present(opts) ? `:${opts}` : ''}`,
    ];
  }
}
