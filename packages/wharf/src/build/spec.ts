/**
 * What a build needs to know, as plain data (filled from the config's
 * `service`, `image`, `registry` and `builder` sections plus what was detected
 * on this machine), and the settings Kamal derives from it.
 */
import { UserError } from '../util/errors.js';

/** Kamal's `builder` section, as written in deploy.yml. */
export interface BuilderSettings {
  /** `amd64`, `arm64` or a list; Kamal's validator requires it (default when absent: both, or none for `driver: docker`). */
  arch?: string | readonly string[];
  /** Remote builder connection, e.g. `ssh://docker@host`. */
  remote?: string;
  /** `false`: build every arch on the remote builder. */
  local?: boolean;
  cache?: { type?: string; options?: string; image?: string } | null;
  /** Build context; when set wharf builds from it instead of a clean git clone. */
  context?: string;
  dockerfile?: string;
  target?: string;
  args?: Readonly<Record<string, string | number | boolean>>;
  /** Names of secrets exposed to the build (`RUN --mount=type=secret,id=NAME`). */
  secrets?: readonly string[];
  ssh?: string;
  driver?: string;
  provenance?: string | boolean;
  sbom?: string | boolean;
  /** Cloud Native Buildpacks: not supported by wharf (planning refuses it). */
  pack?: unknown;
}

/** What this machine's docker CLI can do (see capabilities.ts). */
export interface BuildCapabilities {
  /** `docker buildx` is installed. */
  buildx: boolean;
  /** Plain `docker build` can use BuildKit (DOCKER_BUILDKIT=1): only CLIs before 23.0 without buildx. */
  buildkit?: boolean;
  /** The engine's architecture in Docker's naming (amd64, arm64); defaults to this machine's. */
  engineArch?: string;
}

export interface BuildSpec {
  service: string;
  /** The image repository including the registry host, e.g. `localhost:5641/app` or `dhh/app`. */
  repository: string;
  /** `registry.server` (undefined: Docker Hub). `localhost:PORT` is Kamal's local-registry mode. */
  registryServer?: string;
  version: string;
  destination?: string;
  builder: BuilderSettings;
  capabilities: BuildCapabilities;
}

/** Docker's name for this machine's architecture (what Kamal reads as `docker_arch`). */
export function localDockerArch(): string {
  return process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
}

/** Kamal's Registry#local?: `localhost:PORT` (or bare `localhost`). */
export function isLocalRegistry(server: string | undefined): boolean {
  return server !== undefined && /^localhost(:|$)/.test(server);
}

export function localRegistryPort(server: string): number {
  const port = Number(server.split(':')[1] ?? '80');
  return Number.isInteger(port) && port > 0 ? port : 80;
}

export function latestTag(destination: string | undefined): string {
  return destination ? `latest-${destination}` : 'latest';
}

export function versionedImage(spec: Pick<BuildSpec, 'repository' | 'version'>): string {
  return `${spec.repository}:${spec.version}`;
}

export function latestImage(spec: Pick<BuildSpec, 'repository' | 'destination'>): string {
  return `${spec.repository}:${latestTag(spec.destination)}`;
}

/** The builder kinds of Kamal's Commands::Builder#target, plus wharf's plain `docker build`. */
export type BuilderKind = 'local' | 'remote' | 'hybrid' | 'cloud' | 'docker-build';

/** Kamal's derived builder settings. */
export class BuilderView {
  constructor(
    readonly settings: BuilderSettings,
    readonly registryServer: string | undefined,
    readonly repository: string,
    readonly engineArch: string = localDockerArch(),
  ) {}

  get driver(): string {
    return this.settings.driver ?? 'docker-container';
  }
  get dockerDriver(): boolean {
    return this.driver === 'docker';
  }
  get cloud(): boolean {
    return this.driver.startsWith('cloud');
  }
  get arches(): string[] {
    const a = this.settings.arch;
    if (a === undefined) return this.dockerDriver ? [] : ['amd64', 'arm64'];
    return typeof a === 'string' ? [a] : [...a];
  }
  get localDisabled(): boolean {
    return this.settings.local === false;
  }
  get localArches(): string[] {
    if (this.localDisabled) return [];
    if (this.settings.remote) return this.arches.filter((a) => a === this.engineArch);
    return this.arches;
  }
  get remoteArches(): string[] {
    if (!this.settings.remote) return [];
    const local = this.localArches;
    return this.arches.filter((a) => !local.includes(a));
  }
  /** Some arch is built on the remote builder. */
  get remote(): boolean {
    return this.remoteArches.length > 0;
  }
  get local(): boolean {
    return !this.localDisabled && (this.arches.length === 0 || this.localArches.length > 0);
  }
  get localRegistry(): boolean {
    return isLocalRegistry(this.registryServer);
  }
  /** Which of Kamal's builders runs the build when buildx is present. */
  get buildxKind(): Exclude<BuilderKind, 'docker-build'> {
    if (this.remote) return this.local ? 'hybrid' : 'remote';
    if (this.cloud) return 'cloud';
    return 'local';
  }
  get dockerfile(): string {
    return this.settings.dockerfile ?? 'Dockerfile';
  }
  get context(): string {
    return this.settings.context ?? '.';
  }
  get cached(): boolean {
    return this.settings.cache !== undefined && this.settings.cache !== null;
  }
  private get cacheImageRef(): string {
    const image = this.settings.cache?.image;
    if (image === undefined || image === null) return `${this.repository}-build-cache`;
    return [this.registryServer, image].filter((x) => x !== undefined).join('/');
  }
  /** `--cache-from` value (Kamal keeps only url/url_v2/token/scope/timeout options for gha). */
  get cacheFrom(): string | undefined {
    if (!this.cached) return undefined;
    const type = this.settings.cache?.type;
    if (type === 'gha') {
      const allowed = (this.settings.cache?.options?.split(',') ?? []).filter((o) =>
        /^(url|url_v2|token|scope|timeout)=/.test(o),
      );
      return ['type=gha', ...allowed].join(',');
    }
    if (type === 'registry') return `type=registry,ref=${this.cacheImageRef}`;
    return undefined;
  }
  get cacheTo(): string | undefined {
    if (!this.cached) return undefined;
    const type = this.settings.cache?.type;
    const options = this.settings.cache?.options;
    if (type === 'gha') return ['type=gha', options].filter((x) => x !== undefined).join(',');
    if (type === 'registry')
      return ['type=registry', `ref=${this.cacheImageRef}`, options].filter((x) => x !== undefined).join(',');
    return undefined;
  }
  private get remoteSuffix(): string {
    const remote = this.settings.remote ?? '';
    return `${remote.replace(/[^a-z0-9_-]/g, '-')}${this.localRegistry ? '-local-registry' : ''}`;
  }
  /** The buildx builder's name, exactly as Kamal names it. */
  get builderName(): string {
    switch (this.buildxKind) {
      case 'remote':
        return `kamal-remote-${this.remoteSuffix}`;
      case 'hybrid':
        return `kamal-hybrid-${this.driver}-${this.remoteSuffix}`;
      case 'cloud':
        return this.driver.replace(/[ /]/g, '-');
      case 'local':
        return this.localRegistry ? `kamal-local-registry-${this.driver}` : `kamal-local-${this.driver}`;
    }
  }
  /** The docker context a remote or hybrid builder uses. */
  get remoteContextName(): string {
    return `${this.builderName}-context`;
  }

  /** Kamal's configuration checks for the `docker` driver and cache types, as one sentence each. */
  validate(): void {
    if (this.dockerDriver) {
      if (this.settings.remote)
        throw new UserError(
          'builder.driver `docker` cannot use a remote builder; remove builder.remote or use the default docker-container driver.',
        );
      if (this.cached)
        throw new UserError(
          'builder.driver `docker` cannot use a build cache; remove builder.cache or use the default docker-container driver.',
        );
      if (this.arches.length > 1)
        throw new UserError(
          'builder.driver `docker` cannot build several architectures; set a single builder.arch or use the default docker-container driver.',
        );
    }
    const type = this.settings.cache?.type;
    if (this.cached && type !== undefined && type !== 'gha' && type !== 'registry') {
      throw new UserError(`builder.cache.type "${type}" is not supported; use gha or registry.`);
    }
    if (this.settings.remote !== undefined && this.settings.remote.trim() === '') {
      throw new UserError(
        'builder.remote is empty; set it to a builder address such as ssh://docker@host, or remove it.',
      );
    }
  }
}

export function builderView(spec: BuildSpec): BuilderView {
  return new BuilderView(spec.builder, spec.registryServer, spec.repository, spec.capabilities.engineArch);
}
