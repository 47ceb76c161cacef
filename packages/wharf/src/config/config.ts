/**
 * The resolved configuration: the merged raw config plus everything Kamal
 * derives from it (roles, hosts, names, paths, defaults). Command builders use
 * these helpers so names and defaults match Kamal's Configuration classes.
 * Secret values are never resolved here: where a value is needed, callers pass
 * a lookup from the secrets module.
 */
import { Accessory } from './accessory.js';
import { Builder, localDockerArch } from './builder.js';
import { Env } from './env.js';
import { Logging } from './logging.js';
import { Proxy, ProxyBoot, type ProxyContext } from './proxy.js';
import type { RawConfig } from './schema.js';
import { Boot, Registry, Ssh, Sshkit } from './sections.js';
import { argumentize, present, rubyString } from './shell-args.js';
import { Role, tagHosts } from './role.js';
import type { ConfigProblem } from './problems.js';
import { UserError } from '../util/errors.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The Kamal release whose behaviour wharf implements (for minimum_version). */
export const KAMAL_COMPATIBLE_VERSION = '2.12.0';

export interface ConfigContext {
  destination?: string;
  cwd: string;
  /** Files read, base first (paths as given, for messages). */
  files: string[];
  /** Resolves the version lazily (may throw UserError when there is no git and no version). */
  version: () => string;
  /** Whether cwd is in a git repository, and its root (asked lazily: it runs git). */
  git: () => { used: boolean; root?: string };
  localArch?: string;
  warnings?: ConfigProblem[];
}

export class Config {
  readonly raw: RawConfig & Hash;
  readonly destination: string | undefined;
  readonly cwd: string;
  readonly files: string[];
  /** Things Kamal accepts but that are probably mistakes (duplicate keys, ignored keys). */
  readonly warnings: ConfigProblem[];
  readonly registry: Registry;
  readonly env: Env;
  readonly logging: Logging;
  readonly ssh: Ssh;
  readonly sshkit: Sshkit;
  readonly proxyBoot: ProxyBoot;
  readonly proxyContext: ProxyContext;
  readonly proxy: Proxy;
  readonly builder: Builder;
  readonly roles: Role[];
  readonly accessories: Accessory[];
  private readonly versionResolver: () => string;
  private resolvedVersion: string | undefined;

  constructor(raw: unknown, ctx: ConfigContext) {
    this.raw = (isHash(raw) ? raw : {}) as RawConfig & Hash;
    this.destination = ctx.destination;
    this.cwd = ctx.cwd;
    this.files = ctx.files;
    this.warnings = ctx.warnings ?? [];
    this.versionResolver = ctx.version;
    this.registry = new Registry(isHash(this.raw.registry) ? this.raw.registry : {});
    this.env = Env.fromRaw(this.raw.env);
    this.logging = new Logging(isHash(this.raw.logging) ? this.raw.logging : {});
    this.ssh = new Ssh(isHash(this.raw.ssh) ? this.raw.ssh : {});
    this.sshkit = new Sshkit(isHash(this.raw.sshkit) ? this.raw.sshkit : {});
    this.proxyBoot = new ProxyBoot(this.runDirectory, this.serviceAndDestination);
    const self = this;
    this.proxyContext = {
      serviceAndDestination: this.serviceAndDestination,
      runDirectory: this.runDirectory,
      deployTimeout: this.deployTimeout,
      drainTimeout: this.drainTimeout,
      errorPagesPath: this.errorPagesPath,
      version: () => self.version,
    };
    this.proxy = new Proxy(isHash(this.raw.proxy) ? this.raw.proxy : {}, this.proxyContext);
    this.builder = new Builder(isHash(this.raw.builder) ? this.raw.builder : {}, {
      image: this.image,
      registryServer: this.registry.server,
      service: this.service,
      cwd: ctx.cwd,
      git: ctx.git,
      localArch: ctx.localArch ?? localDockerArch(),
    });
    this.roles = this.roleNames.map((name) => new Role(name, this));
    this.accessories = isHash(this.raw.accessories)
      ? Object.entries(this.raw.accessories).map(([name, a]) => new Accessory(name, isHash(a) ? a : {}, this))
      : [];
  }

  // --- identity -------------------------------------------------------------

  get service(): string {
    return rubyString(this.raw.service);
  }
  /** The image name; with a local registry it defaults to the service name. */
  get image(): string | undefined {
    const name = present(this.raw.image) ? rubyString(this.raw.image) : undefined;
    return name ?? (this.registry.local && present(this.raw.service) ? this.service : undefined);
  }
  /** `--version`, else $VERSION, else the git SHA (with `_uncommitted_<hex>` for a dirty tree). */
  get version(): string {
    if (this.resolvedVersion === undefined) this.resolvedVersion = this.versionResolver();
    return this.resolvedVersion;
  }
  set version(value: string) {
    this.resolvedVersion = value;
  }
  get abbreviatedVersion(): string {
    const v = this.version;
    return v.includes('_') ? v : v.slice(0, 7);
  }
  get minimumVersion(): string | undefined {
    return this.raw.minimum_version === undefined ? undefined : rubyString(this.raw.minimum_version);
  }
  /** `<service>` or `<service>-<destination>`. */
  get serviceAndDestination(): string {
    return [this.service, this.destination].filter((x) => x !== undefined).join('-');
  }
  /** `[<registry>/]<image>`. */
  get repository(): string {
    return [this.registry.server, this.image].filter((x) => x !== undefined).join('/');
  }
  get absoluteImage(): string {
    return `${this.repository}:${this.version}`;
  }
  /** `latest` or `latest-<destination>`. */
  get latestTag(): string {
    return ['latest', this.destination].filter((x) => x !== undefined).join('-');
  }
  get latestImage(): string {
    return `${this.repository}:${this.latestTag}`;
  }
  get serviceWithVersion(): string {
    return `${this.service}-${this.version}`;
  }

  // --- roles and hosts ------------------------------------------------------

  /** Role names sorted (a host list is the single role `web`). */
  get roleNames(): string[] {
    const s = this.raw.servers;
    if (Array.isArray(s)) return ['web'];
    if (isHash(s)) return Object.keys(s).sort();
    return [];
  }
  role(name: string): Role | undefined {
    return this.roles.find((r) => r.name === name);
  }
  accessory(name: string): Accessory | undefined {
    return this.accessories.find((a) => a.name === name);
  }
  get primaryRoleName(): string {
    return this.raw.primary_role === undefined ? 'web' : rubyString(this.raw.primary_role);
  }
  get primaryRole(): Role | undefined {
    return this.role(this.primaryRoleName);
  }
  get primaryHost(): string | undefined {
    return this.primaryRole?.primaryHost;
  }
  get allowEmptyRoles(): boolean {
    return this.raw.allow_empty_roles === true;
  }
  get allHosts(): string[] {
    return unique([...this.roles.flatMap((r) => r.hosts), ...this.accessories.flatMap((a) => a.hosts)]);
  }
  get appHosts(): string[] {
    return unique(this.roles.flatMap((r) => r.hosts));
  }
  hostRoles(host: string): Role[] {
    return this.roles.filter((r) => r.hosts.includes(host));
  }
  hostAccessories(host: string): Accessory[] {
    return this.accessories.filter((a) => a.hosts.includes(host));
  }
  /** Hosts carrying a tag, in any role (used for accessory placement by tag). */
  hostsWithTag(tag: string): string[] {
    const s = this.raw.servers;
    const lists: unknown[] = Array.isArray(s)
      ? [s]
      : isHash(s)
        ? Object.values(s).map((r) => (isHash(r) ? r.hosts : r))
        : [];
    const out: string[] = [];
    for (const list of lists)
      for (const [host, tags] of tagHosts(list))
        if (tags.includes(tag) && !out.includes(host)) out.push(host);
    return out;
  }
  get proxyRoles(): Role[] {
    return this.roles.filter((r) => r.runningProxy);
  }
  get proxyRoleNames(): string[] {
    return this.proxyRoles.map((r) => r.name);
  }
  get proxyAccessories(): Accessory[] {
    return this.accessories.filter((a) => a.runningProxy);
  }
  get proxyHosts(): string[] {
    return unique([
      ...this.proxyRoles.flatMap((r) => r.hosts),
      ...this.proxyAccessories.flatMap((a) => a.hosts),
    ]);
  }
  /** The proxy run settings for a host (validated to be the same for every role and accessory there). */
  proxyRun(host: string) {
    return this.proxyRuns(host)[0];
  }
  proxyRuns(host: string) {
    return [...this.hostRoles(host).map((r) => r.proxy), ...this.hostAccessories(host).map((a) => a.proxy)]
      .map((p) => p?.run)
      .filter((r): r is NonNullable<typeof r> => r !== undefined);
  }

  /**
   * Every secret name the config refers to (env secrets of roles, tags and
   * accessories, registry credentials in list form, builder secrets, ssh
   * key_data, custom SSL certificates), for the secrets module to fetch.
   */
  secretNames(): string[] {
    const names = new Set<string>();
    const add = (n: string | undefined) => n !== undefined && n !== '' && names.add(n);
    for (const role of this.roles) for (const host of role.hosts) role.env(host).secretNames.forEach(add);
    this.env.secretNames.forEach(add);
    for (const tag of this.envTags) tag.env.secretNames.forEach(add);
    for (const registry of [this.registry, ...this.accessories.map((a) => a.registry)]) {
      for (const c of [registry?.usernameCredential, registry?.passwordCredential])
        if (c && 'secret' in c) add(c.secret);
    }
    for (const a of this.accessories) a.env.secretNames.forEach(add);
    this.builder.secrets.forEach(add);
    this.ssh.keyData?.forEach(add);
    for (const p of [...this.roles.map((r) => r.proxy), ...this.accessories.map((a) => a.proxy)]) {
      if (p?.customSslCertificate) {
        add(p.certificatePemSecret);
        add(p.privateKeyPemSecret);
      }
    }
    return [...names];
  }

  // --- env ------------------------------------------------------------------

  /** Env of each tag in the root `env.tags`. */
  get envTags(): { name: string; env: Env }[] {
    const env = this.raw.env;
    if (!isHash(env) || !isHash(env.tags)) return [];
    return Object.entries(env.tags).map(([name, cfg]) => ({ name, env: Env.fromRaw(cfg) }));
  }
  envTag(name: string): { name: string; env: Env } | undefined {
    return this.envTags.find((t) => t.name === name);
  }

  // --- timings and paths ------------------------------------------------------

  private int(key: string, fallback: number): number {
    const v = this.raw[key];
    return typeof v === 'number' ? v : fallback;
  }
  get retainContainers(): number {
    return this.int('retain_containers', 5);
  }
  get readinessDelay(): number {
    return this.int('readiness_delay', 7);
  }
  get deployTimeout(): number {
    return this.int('deploy_timeout', 30);
  }
  get drainTimeout(): number {
    return this.int('drain_timeout', 30);
  }
  get stopTimeout(): number | undefined {
    return typeof this.raw.stop_timeout === 'number' ? this.raw.stop_timeout : undefined;
  }
  get requireDestination(): boolean {
    return this.raw.require_destination === true;
  }
  get volumes(): string[] {
    return Array.isArray(this.raw.volumes) ? this.raw.volumes.map(rubyString) : [];
  }
  volumeArgs(): string[] {
    return argumentize('--volume', this.volumes);
  }
  loggingArgs(): string[] {
    return this.logging.args();
  }
  /** The Docker network app containers join (Kamal's fixed `kamal`). */
  get network(): string {
    return 'kamal';
  }
  /** Always `.kamal` on the hosts (run_directory is accepted but, as in Kamal, not used). */
  get runDirectory(): string {
    return '.kamal';
  }
  get appsDirectory(): string {
    return `${this.runDirectory}/apps`;
  }
  /** `.kamal/apps/<service>[-<destination>]`. */
  get appDirectory(): string {
    return `${this.appsDirectory}/${this.serviceAndDestination}`;
  }
  get envDirectory(): string {
    return `${this.appDirectory}/env`;
  }
  get assetsDirectory(): string {
    return `${this.appDirectory}/assets`;
  }
  /** Lock directory on the primary host. */
  get lockDirectory(): string {
    return `${this.runDirectory}/lock-${this.serviceAndDestination}`;
  }
  get auditLogFile(): string {
    return `${this.runDirectory}/${this.serviceAndDestination}-audit.log`;
  }
  get hooksPath(): string {
    return this.raw.hooks_path === undefined ? '.kamal/hooks' : rubyString(this.raw.hooks_path);
  }
  get secretsPath(): string {
    return this.raw.secrets_path === undefined ? '.kamal/secrets' : rubyString(this.raw.secrets_path);
  }
  get assetPath(): string | undefined {
    return this.raw.asset_path === undefined ? undefined : rubyString(this.raw.asset_path);
  }
  get errorPagesPath(): string | undefined {
    return this.raw.error_pages_path === undefined ? undefined : rubyString(this.raw.error_pages_path);
  }
  /** quiet/verbose for a hook, or undefined to follow the CLI verbosity. */
  hooksOutputFor(hook: string): 'quiet' | 'verbose' | undefined {
    const h = this.raw.hooks_output;
    const v = isHash(h) ? h[hook] : h;
    if (v === undefined || v === null) return undefined;
    const s = rubyString(v).replace(/^:/, '');
    return s === 'quiet' || s === 'verbose' ? s : undefined;
  }
  get boot(): Boot {
    return new Boot(isHash(this.raw.boot) ? this.raw.boot : {}, this.allHosts.length);
  }
  /** Alias name → the wharf arguments it stands for. */
  get aliases(): Record<string, string> {
    return isHash(this.raw.aliases)
      ? Object.fromEntries(Object.entries(this.raw.aliases).map(([k, v]) => [k, rubyString(v)]))
      : {};
  }
  get output(): { otelEndpoint?: string; filePath?: string } {
    const o = isHash(this.raw.output) ? this.raw.output : {};
    const otel = isHash(o.otel) && o.otel.endpoint !== undefined ? rubyString(o.otel.endpoint) : undefined;
    const file = isHash(o.file) && o.file.path !== undefined ? rubyString(o.file.path) : undefined;
    return {
      ...(otel !== undefined ? { otelEndpoint: otel } : {}),
      ...(file !== undefined ? { filePath: file } : {}),
    };
  }
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}

export { UserError };
