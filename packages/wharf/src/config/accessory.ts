/** An accessory (database, cache, ...) run next to the app (Kamal's Configuration::Accessory). */
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, relative, resolve } from 'node:path';
import { Env, type SecretLookup } from './env.js';
import { ErbError, renderErb } from './erb.js';
import { shellCommandRunner } from './erb-commands.js';
import { UserError } from '../util/errors.js';
import { Proxy } from './proxy.js';
import { Registry } from './sections.js';
import { argumentize, optionize, present, rubyString } from './shell-args.js';
import type { Config } from './config.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface AccessoryPath {
  /** Local file (absolute) for files; `$PWD/<service>/<dir>` or an absolute host path for directories. */
  local: string;
  /** Path on the host, relative to the SSH user's home unless absolute. */
  hostPath: string;
  containerPath: string;
  /** Local file is an ERB template (files only): render it with `renderFile`. */
  erb: boolean;
  options: string | undefined;
  mode: string | undefined;
  owner: string | undefined;
}

export class Accessory {
  readonly env: Env;
  readonly proxy: Proxy | undefined;
  readonly registry: Registry | undefined;

  constructor(
    readonly name: string,
    readonly raw: Hash,
    private readonly config: Config,
  ) {
    this.env = Env.fromRaw(raw.env);
    this.proxy = this.runningProxy ? new Proxy(raw.proxy as Hash, config.proxyContext) : undefined;
    this.registry = present(raw.registry) && isHash(raw.registry) ? new Registry(raw.registry) : undefined;
  }

  get serviceName(): string {
    return this.raw.service !== undefined && this.raw.service !== null
      ? rubyString(this.raw.service)
      : `${this.config.service}-${this.name}`;
  }
  /** The image, prefixed with this accessory's registry server when it has one. */
  get image(): string {
    return [this.registry?.server, rubyString(this.raw.image)].filter((x) => x !== undefined).join('/');
  }
  /** Hosts from exactly one of host, hosts, role, roles, tag, tags. */
  get hosts(): string[] {
    const r = this.raw;
    if ('host' in r) return [rubyString(r.host)];
    if ('hosts' in r && Array.isArray(r.hosts))
      return r.hosts.map((h) => (isHash(h) ? (Object.keys(h)[0] ?? '') : rubyString(h)));
    if ('role' in r) return this.config.role(rubyString(r.role))?.hosts ?? [];
    if ('roles' in r && Array.isArray(r.roles))
      return unique(r.roles.flatMap((role) => this.config.role(rubyString(role))?.hosts ?? []));
    if ('tag' in r) return this.config.hostsWithTag(rubyString(r.tag));
    if ('tags' in r && Array.isArray(r.tags))
      return unique(r.tags.flatMap((t) => this.config.hostsWithTag(rubyString(t))));
    return [];
  }
  /** "3306" becomes "3306:3306"; anything with a colon is kept. */
  get port(): string | undefined {
    if (this.raw.port === undefined || this.raw.port === null) return undefined;
    const p = rubyString(this.raw.port);
    return p.includes(':') ? p : `${p}:${p}`;
  }
  get network(): string {
    return this.raw.network !== undefined ? rubyString(this.raw.network) : 'kamal';
  }
  networkArgs(): string[] {
    return ['--network', this.network];
  }
  publishArgs(): string[] {
    return this.port ? ['--publish', this.port] : [];
  }
  get labels(): Record<string, string> {
    const out: Record<string, string> = { service: this.serviceName };
    if (isHash(this.raw.labels)) for (const [k, v] of Object.entries(this.raw.labels)) out[k] = rubyString(v);
    return out;
  }
  labelArgs(): string[] {
    return argumentize('--label', this.labels);
  }
  envArgs(): string[] {
    return [...this.env.clearArgs(), '--env-file', this.secretsPath];
  }
  get envDirectory(): string {
    return `${this.config.envDirectory}/accessories`;
  }
  /** `.kamal/apps/<service>[-<dest>]/env/accessories/<name>.env`. */
  get secretsPath(): string {
    return `${this.config.envDirectory}/accessories/${this.name}.env`;
  }
  private paths(key: 'files' | 'directories'): AccessoryPath[] {
    const list = this.raw[key];
    if (!Array.isArray(list)) return [];
    return list.map((entry) => {
      let local: string;
      let remote: string;
      let options: string | undefined;
      let mode: string | undefined = key === 'files' ? '755' : undefined;
      let owner: string | undefined;
      if (isHash(entry)) {
        local = rubyString(entry.local);
        remote = rubyString(entry.remote);
        options = entry.options === undefined ? undefined : rubyString(entry.options);
        if (entry.mode !== undefined) mode = rubyString(entry.mode);
        owner = entry.owner === undefined ? undefined : rubyString(entry.owner);
      } else {
        const parts = rubyString(entry).split(':');
        local = parts[0] ?? '';
        remote = parts[1] ?? '';
        options = parts.length > 2 ? parts.slice(2).join(':') : undefined;
      }
      if (key === 'files') {
        return {
          local: resolve(this.config.cwd, local),
          hostPath: this.serviceName + remote,
          containerPath: remote,
          erb: local.endsWith('erb'),
          options,
          mode,
          owner,
        };
      }
      const hostPath = isAbsolute(local) ? local : `${this.serviceName}/${local}`;
      return {
        local: isAbsolute(local) ? local : `$PWD/${this.serviceName}/${local}`,
        hostPath,
        containerPath: remote,
        erb: false,
        options,
        mode,
        owner,
      };
    });
  }
  get files(): AccessoryPath[] {
    return this.paths('files');
  }
  get directories(): AccessoryPath[] {
    return this.paths('directories');
  }
  get volumes(): string[] {
    return Array.isArray(this.raw.volumes) ? this.raw.volumes.map(rubyString) : [];
  }
  /** `--volume` for the raw volumes, then each file and directory (relative host paths under $PWD). */
  volumeArgs(): string[] {
    const mount = (p: AccessoryPath) => [
      '--volume',
      `${isAbsolute(p.hostPath) ? p.hostPath : `$PWD/${p.hostPath}`}:${p.containerPath}${present(p.options) ? `:${p.options}` : ''}`,
    ];
    return [
      ...argumentize('--volume', this.volumes),
      ...this.files.flatMap(mount),
      ...this.directories.flatMap(mount),
    ];
  }
  private get dockerOptions(): Hash {
    return isHash(this.raw.options) ? this.raw.options : {};
  }
  optionArgs(): string[] {
    return optionize(Object.fromEntries(Object.entries(this.dockerOptions).filter(([k]) => k !== 'restart')));
  }
  get restartPolicy(): string {
    const r = this.dockerOptions.restart;
    return r === undefined || r === null ? 'unless-stopped' : rubyString(r);
  }
  get cmd(): string | undefined {
    return this.raw.cmd === undefined || this.raw.cmd === null ? undefined : rubyString(this.raw.cmd);
  }
  get runningProxy(): boolean {
    return present(this.raw.proxy);
  }

  /**
   * The bytes to upload for a file: plain files byte for byte (binary-safe),
   * `.erb` files rendered as renderFile does.
   */
  fileContent(
    file: AccessoryPath,
    lookup: SecretLookup,
    options: { env?: Record<string, string | undefined>; allowCommands?: boolean } = {},
  ): string | Buffer {
    if (file.erb) return this.renderFile(file, lookup, options);
    try {
      return readFileSync(file.local);
    } catch (error) {
      const shown = relative(this.config.cwd, file.local) || file.local;
      const code = (error as NodeJS.ErrnoException).code;
      throw new UserError(
        `accessories.${this.name}.files: ${shown} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}; fix the local path.`,
      );
    }
  }

  /**
   * The content to upload for a file: `.erb` files are rendered with the
   * accessory's env (clear values and secrets from `lookup`) in ENV, as Kamal
   * does; other files are read as they are.
   */
  renderFile(
    file: AccessoryPath,
    lookup: SecretLookup,
    options: { env?: Record<string, string | undefined>; allowCommands?: boolean } = {},
  ): string {
    const shown = relative(this.config.cwd, file.local) || file.local;
    let text: string;
    try {
      text = readFileSync(file.local, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UserError(
        `accessories.${this.name}.files: ${shown} ${code === 'ENOENT' ? 'does not exist' : `cannot be read (${code})`}; fix the local path.`,
      );
    }
    if (!file.erb) return text;
    const env = { ...(options.env ?? process.env), ...this.env.toRecord(lookup) };
    try {
      return renderErb(text, {
        env,
        runCommand:
          options.allowCommands === false
            ? () => {
                throw new Error('commands are not run in this mode');
              }
            : shellCommandRunner(this.config.cwd, env, 60_000),
        readFile: (p) => readFileSync(resolve(this.config.cwd, p), 'utf8'),
        fileExists: (p) => existsSync(resolve(this.config.cwd, p)),
      }).text;
    } catch (error) {
      if (error instanceof ErbError)
        throw new UserError(
          `${shown}:${error.line}: ERB in the file of accessory ${this.name}: ${error.message}.`,
        );
      throw error;
    }
  }
}

function unique<T>(xs: T[]): T[] {
  return [...new Set(xs)];
}
