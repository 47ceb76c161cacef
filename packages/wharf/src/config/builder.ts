/** How the image is built (Kamal's Configuration::Builder). */
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rubyString } from './shell-args.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Docker's name for this machine's architecture (what Kamal reads from `docker info`). */
export function localDockerArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
}

export interface BuilderContext {
  image: string | undefined;
  registryServer: string | undefined;
  service: string;
  cwd: string;
  git: () => { used: boolean; root?: string };
  localArch: string;
}

export class Builder {
  constructor(
    readonly raw: Hash,
    private readonly ctx: BuilderContext,
  ) {}

  get remote(): string | undefined {
    return this.raw.remote === undefined || this.raw.remote === null
      ? undefined
      : rubyString(this.raw.remote);
  }
  get arches(): string[] {
    const a = 'arch' in this.raw ? this.raw.arch : this.dockerDriver ? [] : ['amd64', 'arm64'];
    return Array.isArray(a) ? a.map(rubyString) : [rubyString(a)];
  }
  get localDisabled(): boolean {
    return this.raw.local === false;
  }
  get localArches(): string[] {
    if (this.localDisabled) return [];
    if (this.remote) return this.arches.filter((a) => a === this.ctx.localArch);
    return this.arches;
  }
  get remoteArches(): string[] {
    return this.remote ? this.arches.filter((a) => !this.localArches.includes(a)) : [];
  }
  /** Some architecture is built on the remote builder. */
  get isRemote(): boolean {
    return this.remoteArches.length > 0;
  }
  get isLocal(): boolean {
    return !this.localDisabled && (this.arches.length === 0 || this.localArches.length > 0);
  }
  get driver(): string {
    return 'driver' in this.raw ? rubyString(this.raw.driver) : 'docker-container';
  }
  get cloud(): boolean {
    return this.driver.startsWith('cloud');
  }
  get dockerDriver(): boolean {
    return this.driver === 'docker';
  }
  get cached(): boolean {
    return this.raw.cache !== undefined && this.raw.cache !== null && this.raw.cache !== false;
  }
  get pack(): boolean {
    return this.raw.pack !== undefined && this.raw.pack !== null && this.raw.pack !== false;
  }
  get packBuilder(): string | undefined {
    return isHash(this.raw.pack) && this.raw.pack.builder !== undefined
      ? rubyString(this.raw.pack.builder)
      : undefined;
  }
  get packBuildpacks(): string[] | undefined {
    return isHash(this.raw.pack) && Array.isArray(this.raw.pack.buildpacks)
      ? this.raw.pack.buildpacks.map(rubyString)
      : undefined;
  }
  get args(): Record<string, string> {
    return isHash(this.raw.args)
      ? Object.fromEntries(Object.entries(this.raw.args).map(([k, v]) => [k, rubyString(v)]))
      : {};
  }
  /** Secret names exposed to the build (values come from the secrets module). */
  get secrets(): string[] {
    return Array.isArray(this.raw.secrets) ? this.raw.secrets.map(rubyString) : [];
  }
  get dockerfile(): string {
    return this.raw.dockerfile !== undefined ? rubyString(this.raw.dockerfile) : 'Dockerfile';
  }
  get target(): string | undefined {
    return this.raw.target !== undefined ? rubyString(this.raw.target) : undefined;
  }
  get context(): string {
    return this.raw.context !== undefined ? rubyString(this.raw.context) : '.';
  }
  get ssh(): string | undefined {
    return this.raw.ssh !== undefined ? rubyString(this.raw.ssh) : undefined;
  }
  get provenance(): string | boolean | undefined {
    const p = this.raw.provenance;
    return p === undefined ? undefined : typeof p === 'boolean' ? p : rubyString(p);
  }
  get sbom(): boolean | undefined {
    return typeof this.raw.sbom === 'boolean' ? this.raw.sbom : undefined;
  }
  private get cacheRaw(): Hash {
    return isHash(this.raw.cache) ? this.raw.cache : {};
  }
  get cacheType(): string | undefined {
    return this.cacheRaw.type !== undefined ? rubyString(this.cacheRaw.type) : undefined;
  }
  private get cacheOptions(): string | undefined {
    return this.cacheRaw.options !== undefined && this.cacheRaw.options !== null
      ? rubyString(this.cacheRaw.options)
      : undefined;
  }
  get cacheImage(): string {
    return this.cacheRaw.image !== undefined && this.cacheRaw.image !== null
      ? rubyString(this.cacheRaw.image)
      : `${this.ctx.image ?? ''}-build-cache`;
  }
  get cacheImageRef(): string {
    return [this.ctx.registryServer, this.cacheImage].filter((x) => x !== undefined).join('/');
  }
  /** `--cache-from` value. */
  get cacheFrom(): string | undefined {
    if (!this.cached) return undefined;
    if (this.cacheType === 'gha') {
      const allowed = (this.cacheOptions?.split(',') ?? []).filter((o) =>
        /^(url|url_v2|token|scope|timeout)=/.test(o),
      );
      return ['type=gha', ...allowed].join(',');
    }
    if (this.cacheType === 'registry') return ['type=registry', `ref=${this.cacheImageRef}`].join(',');
    return undefined;
  }
  /** `--cache-to` value. */
  get cacheTo(): string | undefined {
    if (!this.cached) return undefined;
    if (this.cacheType === 'gha')
      return ['type=gha', this.cacheOptions].filter((x) => x !== undefined).join(',');
    if (this.cacheType === 'registry')
      return ['type=registry', `ref=${this.cacheImageRef}`, this.cacheOptions]
        .filter((x) => x !== undefined)
        .join(',');
    return undefined;
  }
  /** Builds from a clean git clone when there is a repository and no explicit context. */
  get gitClone(): boolean {
    return this.raw.context === undefined && this.ctx.git().used;
  }
  /** `<tmpdir>/kamal-clones/<service>-<sha256(cwd)[0..12]>`. */
  get cloneDirectory(): string {
    const sha = createHash('sha256').update(this.ctx.cwd).digest('hex').slice(0, 13);
    return join(tmpdir(), 'kamal-clones', `${this.ctx.service}-${sha}`);
  }
  get buildDirectory(): string {
    const root = this.ctx.git().root;
    if (!this.gitClone || !root) return '.';
    const rel = this.ctx.cwd.startsWith(root) ? this.ctx.cwd.slice(root.length) : '';
    return join(this.cloneDirectory, root.split('/').pop() ?? '', rel);
  }
}
