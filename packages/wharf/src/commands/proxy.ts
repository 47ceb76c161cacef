/**
 * kamal-proxy container commands (Kamal's Commands::Proxy), per host: the
 * container is `kamal-proxy` on network `kamal`, with the named volume
 * `kamal-proxy-config` and `$PWD/.kamal/proxy/apps-config` mounted. With
 * `proxy.run` in the config the `docker run` line is built from it; without,
 * Kamal's legacy boot-config files `.kamal/proxy/{options,image,image_version,
 * run_command}` are read on the host (`echo $(cat … || echo default) … | xargs
 * docker run …`), so a host configured by `kamal proxy boot_config set` keeps
 * its settings.
 */
import type { Config, ProxyRun } from '../config/index.js';
import { PROXY_CONFIG_VOLUME, PROXY_CONTAINER_NAME, PROXY_MINIMUM_VERSION } from '../config/proxy.js';
import { argumentize, optionize, present } from '../config/shell-args.js';
import {
  DOCKER_NETWORK,
  any,
  chain,
  combine,
  docker,
  makeDirectory,
  pipe,
  removeDirectory,
  removeFile,
  runOverSsh,
  singleQuoted,
  doubleQuoted,
  substitute,
  xargs,
  type Command,
} from './base.js';

/** The label kamal-proxy's image carries (used to prune its containers and images). */
export const PROXY_IMAGE_TITLE_FILTER = 'label=org.opencontainers.image.title=kamal-proxy';

/** `docker exec kamal-proxy kamal-proxy <args…>` */
export function proxyExec(...args: string[]): Command {
  return docker('exec', PROXY_CONTAINER_NAME, 'kamal-proxy', ...args);
}

/** Kamal's `older_version?`: compares `v0.9.2`-style versions numerically (prefix `v` ignored). */
export function isOlderVersion(version: string, other: string): boolean {
  const parse = (v: string) =>
    v
      .trim()
      .replace(/^v/, '')
      .split(/[.-]/)
      .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  const a = parse(version);
  const b = parse(other);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x === y) continue;
    // A pre-release part (letters) sorts before any number, as in Gem::Version.
    if (typeof x === 'number' && typeof y === 'number') return x < y;
    if (typeof x === 'string' && typeof y === 'string') return x < y;
    return typeof x === 'string';
  }
  return false;
}

/** Whether a running proxy's version (from `version()`) is too old for this wharf (older than v0.9.2). */
export function proxyVersionTooOld(version: string): boolean {
  return version.trim() !== '' && isOlderVersion(version, PROXY_MINIMUM_VERSION);
}

function publishWords(httpPort: number, httpsPort: number, bindIps: string[] | undefined): Command {
  return (bindIps ?? [undefined]).flatMap((ip) => {
    const bind = ip !== undefined && ip.includes(':') && !/^\[.*\]$/.test(ip) ? `[${ip}]` : ip;
    const http = [bind, httpPort, 80].filter((x) => x !== undefined).join(':');
    const https = [bind, httpsPort, 443].filter((x) => x !== undefined).join(':');
    return argumentize('--publish', [http, https]);
  });
}

/** Options of the deprecated `kamal proxy boot_config set`. */
export interface BootConfigOptions {
  /** Default true. */
  publish?: boolean;
  publishHostIps?: string[];
  httpPort?: number;
  httpsPort?: number;
  /** Default `10m`. */
  logMaxSize?: string;
  registry?: string;
  repository?: string;
  imageVersion?: string;
  metricsPort?: number;
  debug?: boolean;
  /** `option=value` entries, each passed as `--option=value`. */
  dockerOptions?: string[];
}

/** One legacy boot-config file: write `content`, or remove it (`reset`) when the setting is the default. */
export type BootConfigFile = { path: string; content: string } | { path: string; reset: Command };

export class ProxyCommands {
  /** proxy.run settings that apply on this host (undefined: use the legacy boot-config files). */
  readonly runConfig: ProxyRun | undefined;

  constructor(
    readonly config: Config,
    readonly host: string,
  ) {
    this.runConfig = config.proxyRun(host);
  }

  get containerName(): string {
    return PROXY_CONTAINER_NAME;
  }

  private get boot() {
    return this.config.proxyBoot;
  }

  /** `docker run --name kamal-proxy --network kamal --detach --restart unless-stopped --volume kamal-proxy-config:… …` */
  run(): Command {
    const run = this.runConfig;
    if (run) {
      const options: Record<string, unknown> = {};
      if (run.debug) options.debug = true;
      if (run.metricsPort !== undefined) options['metrics-port'] = run.metricsPort;
      return docker(
        ...this.dockerRunPrefix(),
        ...run.appsVolumeArgs(),
        ...run.publishArgs().flatMap((pair) => pair.split(' ')),
        ...run.loggingArgs(),
        ...(run.metricsPort !== undefined ? [`--expose=${run.metricsPort}`] : []),
        ...run.optionsArgs(),
        run.image,
        'kamal-proxy',
        'run',
        ...optionize(options),
      );
    }
    return pipe(this.bootConfig(), xargs(docker(...this.dockerRunPrefix(), ...this.appsVolumeArgs())));
  }

  private dockerRunPrefix(): string[] {
    return [
      'run',
      '--name',
      this.containerName,
      '--network',
      DOCKER_NETWORK,
      '--detach',
      '--restart',
      'unless-stopped',
      '--volume',
      `${PROXY_CONFIG_VOLUME}:/home/kamal-proxy/.config/kamal-proxy`,
    ];
  }

  private appsVolumeArgs(): Command {
    return ['--volume', `$PWD/${this.boot.appsDirectory}:${this.boot.appsContainerDirectory}`];
  }

  /** `docker container start kamal-proxy` */
  start(): Command {
    return docker('container', 'start', this.containerName);
  }

  /** `docker container stop kamal-proxy` */
  stop(name = this.containerName): Command {
    return docker('container', 'stop', name);
  }

  /** Start the existing container, else run a new one. */
  startOrRun(): Command {
    return any(this.start(), this.run());
  }

  /** `docker ps --filter 'name=^kamal-proxy$'` */
  info(): Command {
    return docker('ps', '--filter', `'name=^${this.containerName}$'`);
  }

  /** The running proxy's image tag, e.g. `v0.9.2` (empty when none runs). */
  version(): Command {
    return pipe(docker('inspect', this.containerName, '--format', "'{{.Config.Image}}'"), [
      'awk',
      '-F:',
      "'{print $NF}'",
    ]);
  }

  logs(
    options: {
      timestamps?: boolean;
      since?: string;
      lines?: number | string;
      grep?: string;
      grepOptions?: string;
    } = {},
  ): Command {
    const timestamps = options.timestamps ?? true;
    return pipe(
      docker(
        'logs',
        this.containerName,
        ...(options.since !== undefined ? ['--since', options.since] : []),
        ...(options.lines !== undefined ? ['--tail', String(options.lines)] : []),
        ...(timestamps ? ['--timestamps'] : []),
        '2>&1',
      ),
      options.grep !== undefined
        ? ['grep', singleQuoted(options.grep), ...(options.grepOptions ? [options.grepOptions] : [])]
        : undefined,
    );
  }

  /** Local `ssh -t <host> 'docker logs kamal-proxy … --tail 10 --follow 2>&1 [| grep "…"]'`. */
  followLogs(options: { timestamps?: boolean; grep?: string; grepOptions?: string } = {}): Command {
    const timestamps = options.timestamps ?? true;
    return runOverSsh(
      this.config,
      pipe(
        docker(
          'logs',
          this.containerName,
          ...(timestamps ? ['--timestamps'] : []),
          '--tail',
          '10',
          '--follow',
          '2>&1',
        ),
        options.grep !== undefined
          ? ['grep', doubleQuoted(options.grep), ...(options.grepOptions ? [options.grepOptions] : [])]
          : undefined,
      ),
      this.host,
    );
  }

  /** Remove stopped kamal-proxy containers (by image label). */
  removeContainer(): Command {
    return docker('container', 'prune', '--force', '--filter', PROXY_IMAGE_TITLE_FILTER);
  }

  /** Remove unused kamal-proxy images (by image label). */
  removeImage(): Command {
    return docker('image', 'prune', '--all', '--force', '--filter', PROXY_IMAGE_TITLE_FILTER);
  }

  /** Kamal 1 upgrade: stop Traefik and remove its containers and images. */
  cleanupTraefik(): Command {
    return chain(
      docker('container', 'stop', 'traefik'),
      combine([
        docker('container', 'prune', '--force', '--filter', 'label=org.opencontainers.image.title=Traefik'),
        docker(
          'image',
          'prune',
          '--all',
          '--force',
          '--filter',
          'label=org.opencontainers.image.title=Traefik',
        ),
      ]),
    );
  }

  /** `mkdir -p .kamal/proxy` */
  ensureProxyDirectory(): Command {
    return makeDirectory(this.boot.hostDirectory);
  }

  /** `rm -r .kamal/proxy` */
  removeProxyDirectory(): Command {
    return removeDirectory(this.boot.hostDirectory);
  }

  /** `mkdir -p .kamal/proxy/apps-config` */
  ensureAppsConfigDirectory(): Command {
    return makeDirectory(this.boot.appsDirectory);
  }

  // --- legacy boot-config files ---------------------------------------------------------

  /** `echo $(options) $(image):$(version) $(run command)`, each read from its file with Kamal's default. */
  bootConfig(): Command {
    return [
      'echo',
      `${substitute(this.readBootOptions())} ${substitute(this.readImage())}:${substitute(this.readImageVersion())} ${substitute(this.readRunCommand())}`,
    ];
  }

  readBootOptions(): Command {
    return readFile(this.boot.optionsFile, this.boot.defaultBootOptions.join(' '));
  }
  readImage(): Command {
    return readFile(this.boot.imageFile, this.boot.imageDefault);
  }
  readImageVersion(): Command {
    return readFile(this.boot.imageVersionFile, PROXY_MINIMUM_VERSION);
  }
  readRunCommand(): Command {
    return readFile(this.boot.runCommandFile, '');
  }
  resetBootOptions(): Command {
    return removeFile(this.boot.optionsFile);
  }
  resetImage(): Command {
    return removeFile(this.boot.imageFile);
  }
  resetImageVersion(): Command {
    return removeFile(this.boot.imageVersionFile);
  }
  resetRunCommand(): Command {
    return removeFile(this.boot.runCommandFile);
  }

  /** What `proxy boot_config set` writes (or resets to the default) on a proxy host. */
  bootConfigFiles(options: BootConfigOptions = {}): BootConfigFile[] {
    const boot = this.boot;
    const publish = options.publish ?? true;
    const logMaxSize = options.logMaxSize ?? '10m';
    const bootOptions = [
      ...(publish
        ? [publishWords(options.httpPort ?? 80, options.httpsPort ?? 443, options.publishHostIps).join(' ')]
        : []),
      ...(present(logMaxSize) ? argumentize('--log-opt', `max-size=${logMaxSize}`) : []),
      ...(options.metricsPort !== undefined ? [`--expose=${options.metricsPort}`] : []),
      ...(options.dockerOptions ?? []).map((o) => `--${o}`),
    ];
    const image = [
      present(options.registry) ? options.registry : undefined,
      present(options.repository) ? options.repository : 'basecamp',
      'kamal-proxy',
    ]
      .filter((x) => x !== undefined)
      .join('/');
    const runOptions: Record<string, unknown> = {};
    if (options.debug) runOptions.debug = true;
    if (options.metricsPort !== undefined) runOptions['metrics-port'] = options.metricsPort;
    const runCommand =
      Object.keys(runOptions).length > 0 ? `kamal-proxy run ${optionize(runOptions).join(' ')}` : undefined;
    const defaultOptions = [
      boot.defaultBootOptions.slice(0, 4).join(' '),
      ...boot.defaultBootOptions.slice(4),
    ];
    const sameOptions =
      bootOptions.length === defaultOptions.length && bootOptions.every((o, i) => o === defaultOptions[i]);
    return [
      sameOptions
        ? { path: boot.optionsFile, reset: this.resetBootOptions() }
        : { path: boot.optionsFile, content: bootOptions.join(' ') },
      image === boot.imageDefault
        ? { path: boot.imageFile, reset: this.resetImage() }
        : { path: boot.imageFile, content: image },
      options.imageVersion !== undefined
        ? { path: boot.imageVersionFile, content: options.imageVersion }
        : { path: boot.imageVersionFile, reset: this.resetImageVersion() },
      runCommand !== undefined
        ? { path: boot.runCommandFile, content: runCommand }
        : { path: boot.runCommandFile, reset: this.resetRunCommand() },
    ];
  }
}

/** `cat <file> 2> /dev/null || echo "<default>"` */
function readFile(file: string, fallback: string): Command {
  return any(['cat', file, '2>', '/dev/null'], ['echo', `"${fallback}"`]);
}
