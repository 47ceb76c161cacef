/**
 * App container commands (Kamal's Commands::App with its Containers,
 * Execution, Images, Logging and Proxy parts). Bound to the config and, for
 * most commands, a role and a host. Container names are
 * `<service>-<role>[-<destination>]-<version>`; containers carry the labels
 * service/role/destination, which is how both Kamal and wharf find them.
 */
import { randomBytes } from 'node:crypto';
import type { Config, Role, SecretLookup } from '../config/index.js';
import { argumentize } from '../config/shell-args.js';
import { UserError } from '../util/errors.js';
import { cleanUpAssets, extractAssets, syncAssetVolumes } from './app-assets.js';
import { cleanUpErrorPages, createErrorPagesDirectory } from './app-error-pages.js';
import {
  DOCKER_HEALTH_LOG_FORMAT,
  DOCKER_HEALTH_STATUS_FORMAT,
  DOCKER_NETWORK,
  chain,
  containerIdFor,
  docker,
  dockerInteractiveArgs,
  doubleQuoted,
  filterArgs,
  makeDirectory,
  pipe,
  removeDirectory,
  runOverSsh,
  shell,
  singleQuoted,
  xargs,
  type Command,
} from './base.js';
import { proxyExec } from './proxy.js';

/** Statuses of a container that counts as running. */
export const ACTIVE_DOCKER_STATUSES = ['running', 'restarting'] as const;

/** A file to write on a host (the runner uploads `content` with `mode`). */
export interface RemoteFile {
  path: string;
  content: string;
  mode: string;
}

export interface LogOptions {
  /** A container id, or a command printing one; default: the current running container. */
  containerId?: string | Command;
  /** Default true. */
  timestamps?: boolean;
  since?: string;
  lines?: number | string;
  grep?: string;
  /** Extra grep arguments, passed to the shell as written (e.g. `-C 2`). */
  grepOptions?: string;
}

export interface ExecOptions {
  interactive?: boolean;
  /** Whether local stdin is a terminal (`-it` vs `-i` when interactive). Default true. */
  tty?: boolean;
  /** Extra `--env` for the command (clear values; they appear in the command line, as in Kamal). */
  env?: Record<string, string>;
}

/** `<first 51 chars of host, one trailing '.' removed>-<12 hex>`: the --hostname Kamal gives a booted container. */
export function containerHostname(host: string, hex: string = randomBytes(6).toString('hex')): string {
  let h = host.slice(0, 51);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return `${h}-${hex}`;
}

/** Kamal's default line count for `app logs`: 100 (10 when following) unless --since or --grep is given. */
export function defaultLogLines(options: {
  lines?: number;
  since?: string;
  grep?: string;
  follow?: boolean;
}): number | undefined {
  if (options.lines !== undefined) return options.lines;
  if (options.since !== undefined || options.grep !== undefined) return undefined;
  return options.follow ? 10 : 100;
}

/** Versions from `listVersions()` output other than the current one (from `currentRunningVersion()` output): the stale containers. */
export function staleVersions(listVersionsOutput: string, currentVersionOutput: string): string[] {
  const current = currentVersionOutput.trim();
  return listVersionsOutput
    .split('\n')
    .map((v) => v.trim())
    .filter((v) => v !== '' && v !== current);
}

export class AppCommands {
  readonly role: Role | undefined;
  readonly host: string | undefined;

  constructor(
    readonly config: Config,
    options: { role?: Role | string; host?: string } = {},
  ) {
    const role = options.role;
    if (typeof role === 'string') {
      const found = config.role(role);
      if (!found) {
        throw new UserError(
          `There is no role named ${role} in ${config.files[0] ?? 'config/deploy.yml'} (roles: ${config.roleNames.join(', ')}).`,
        );
      }
      this.role = found;
    } else {
      this.role = role;
    }
    this.host = options.host;
  }

  private get r(): Role {
    if (!this.role) throw new Error('this app command needs a role');
    return this.role;
  }

  private get h(): string {
    if (this.host === undefined) throw new Error('this app command needs a host');
    return this.host;
  }

  /** `<service>-<role>[-<dest>]-<version>` (the config's version unless given). */
  containerName(version?: string): string {
    return this.r.containerName(version);
  }

  // --- run / start / stop ----------------------------------------------------

  /** `docker run --detach …` for a new container of this role on this host. */
  run(options: { hostname?: string } = {}): Command {
    const role = this.r;
    const host = this.h;
    const name = this.containerName();
    const config = this.config;
    return docker(
      'run',
      '--detach',
      '--restart',
      role.restartPolicy,
      '--name',
      name,
      '--network',
      DOCKER_NETWORK,
      ...(options.hostname !== undefined ? ['--hostname', options.hostname] : []),
      '--env',
      `KAMAL_CONTAINER_NAME="${name}"`,
      '--env',
      `KAMAL_VERSION="${config.version}"`,
      '--env',
      `KAMAL_HOST="${host}"`,
      ...(config.destination !== undefined ? ['--env', `KAMAL_DESTINATION="${config.destination}"`] : []),
      ...role.envArgs(host),
      ...role.loggingArgs(),
      ...config.volumeArgs(),
      ...(role.assetVolumeArgs() ?? []),
      ...role.labelArgs(),
      ...role.optionArgs(),
      config.absoluteImage,
      role.cmd,
    );
  }

  /** `docker start <container>` */
  start(): Command {
    return docker('start', this.containerName());
  }

  /** Health (or state) of a version's container: `healthy`, `running`, `exited`… */
  status(version: string): Command {
    return pipe(
      this.containerIdForVersion(version),
      xargs(docker('inspect', '--format', DOCKER_HEALTH_STATUS_FORMAT)),
    );
  }

  /** Stop a version's container, or the current running one (`-t N` from stop_timeout / drain_timeout). */
  stop(options: { version?: string } = {}): Command {
    return pipe(
      options.version !== undefined
        ? this.containerIdForVersion(options.version)
        : this.currentRunningContainerId(),
      xargs(docker('stop', ...this.r.stopArgs())),
    );
  }

  /** `docker ps` filtered to this service/destination[/role]. */
  info(): Command {
    return docker('ps', ...this.containerFilterArgs());
  }

  // --- finding containers and versions -----------------------------------------

  /** The id of the running container: preferring one from the `latest` image, else the newest running. */
  currentRunningContainerId(): Command {
    return this.currentRunningContainer(['--quiet']);
  }

  containerIdForVersion(version: string, options: { onlyRunning?: boolean } = {}): Command {
    return containerIdFor(this.containerName(version), options);
  }

  /** The version of the running container (its name without `<service>-<role>[-<dest>]-`). */
  currentRunningVersion(): Command {
    return pipe(this.currentRunningContainer(['--format', "'{{.Names}}'"]), this.extractVersionFromName());
  }

  /** Versions of this role's containers (one per line). */
  listVersions(dockerArgs: string[] = [], options: { statuses?: readonly string[] } = {}): Command {
    return pipe(
      docker('ps', ...this.containerFilterArgs(options.statuses), ...dockerArgs, '--format', '"{{.Names}}"'),
      this.extractVersionFromName(),
    );
  }

  private latestImageId(): Command {
    return docker(
      'image',
      'ls',
      ...argumentize('--filter', `reference=${this.config.latestImage}`),
      '--format',
      "'{{.ID}}'",
    );
  }

  private currentRunningContainer(format: string[]): Command {
    return pipe(shell(chain(this.latestImageContainer(format), this.latestContainer(format))), [
      'head',
      '-1',
    ]);
  }

  private latestImageContainer(format: string[]): Command {
    return this.latestContainer(format, [`ancestor=$(${this.latestImageId().join(' ')})`]);
  }

  private latestContainer(format: string[], filters: string[] = []): Command {
    return docker(
      'ps',
      '--latest',
      ...format,
      ...this.containerFilterArgs(ACTIVE_DOCKER_STATUSES),
      ...filterArgs(filters),
    );
  }

  /** `label=service=…`, `label=destination=…` (empty without destination), `label=role=…`, `status=…`. */
  containerFilters(statuses?: readonly string[]): string[] {
    const filters = [
      `label=service=${this.config.service}`,
      `label=destination=${this.config.destination ?? ''}`,
    ];
    if (this.role) filters.push(`label=role=${this.role.name}`);
    for (const s of statuses ?? []) filters.push(`status=${s}`);
    return filters;
  }

  private containerFilterArgs(statuses?: readonly string[]): Command {
    return filterArgs(this.containerFilters(statuses));
  }

  private extractVersionFromName(): string {
    return `while read line; do echo \${line#${this.r.containerPrefix()}-}; done`;
  }

  // --- env file ----------------------------------------------------------------

  /** `mkdir -p .kamal/apps/<app>/env/roles` */
  ensureEnvDirectory(): Command {
    return makeDirectory(this.r.envDirectory);
  }

  /** `.kamal/apps/<service>[-<dest>]/env/roles/<role>.env` */
  get envFilePath(): string {
    return this.r.secretsPath;
  }

  /** The env file to upload before `run` (secret values looked up now; mode 0600). */
  envFile(lookup: SecretLookup): RemoteFile {
    return { path: this.envFilePath, content: this.r.env(this.h).envFile(lookup), mode: '0600' };
  }

  // --- containers ----------------------------------------------------------------

  /** `docker container ls --all` of this service/destination[/role]. */
  listContainers(): Command {
    return docker('container', 'ls', '--all', ...this.containerFilterArgs());
  }

  listContainerNames(): Command {
    return [...this.listContainers(), '--format', "'{{ .Names }}'"];
  }

  removeContainer(version: string): Command {
    return pipe(containerIdFor(this.containerName(version)), xargs(docker('container', 'rm')));
  }

  /** `docker rename <name-version> <name-newVersion>` (a clashing container becomes `<version>_replaced_<hex>`). */
  renameContainer(version: string, newVersion: string): Command {
    return docker('rename', this.containerName(version), this.containerName(newVersion));
  }

  /** `docker container prune --force` of this service/destination[/role] (stopped containers only). */
  removeContainers(): Command {
    return docker('container', 'prune', '--force', ...this.containerFilterArgs());
  }

  containerHealthLog(version: string): Command {
    return pipe(
      containerIdFor(this.containerName(version)),
      xargs(docker('inspect', '--format', DOCKER_HEALTH_LOG_FORMAT)),
    );
  }

  // --- exec ------------------------------------------------------------------------

  /** `docker exec [-it] [--env k="v"] <container> <command…>` (command words passed as written). */
  executeInExistingContainer(command: string[], options: ExecOptions = {}): Command {
    return docker(
      'exec',
      options.interactive ? dockerInteractiveArgs(options.tty ?? true) : undefined,
      ...argumentize('--env', options.env ?? {}),
      this.containerName(),
      ...command,
    );
  }

  /** `docker run [-it] --rm|--detach --name <prefix>-exec-<version>-<hex> …` with the role's env file, logging, volumes and options. */
  executeInNewContainer(
    command: string[],
    options: ExecOptions & { detach?: boolean; name?: string } = {},
  ): Command {
    const role = this.r;
    return docker(
      'run',
      options.interactive ? dockerInteractiveArgs(options.tty ?? true) : undefined,
      options.detach ? '--detach' : undefined,
      options.detach ? undefined : '--rm',
      '--name',
      options.name ?? this.containerNameForExec(),
      '--network',
      DOCKER_NETWORK,
      ...role.envArgs(this.h),
      ...argumentize('--env', options.env ?? {}),
      ...role.loggingArgs(),
      ...this.config.volumeArgs(),
      ...role.optionArgs(),
      this.config.absoluteImage,
      ...command,
    );
  }

  /** Local `ssh -t … 'docker exec -it …'` for an interactive command in the running container. */
  executeInExistingContainerOverSsh(
    command: string[],
    options: Omit<ExecOptions, 'interactive'> = {},
  ): Command {
    return runOverSsh(
      this.config,
      this.executeInExistingContainer(command, { ...options, interactive: true }),
      this.h,
    );
  }

  /** Local `ssh -t … 'docker run -it --rm …'` for an interactive command in a new container. */
  executeInNewContainerOverSsh(command: string[], options: Omit<ExecOptions, 'interactive'> = {}): Command {
    return runOverSsh(
      this.config,
      this.executeInNewContainer(command, { ...options, interactive: true }),
      this.h,
    );
  }

  /** `<service>-<role>[-<dest>]-exec-<version>-<6 hex>` */
  containerNameForExec(hex: string = randomBytes(3).toString('hex')): string {
    return [this.r.containerPrefix(), 'exec', this.config.version, hex].join('-');
  }

  // --- images -------------------------------------------------------------------------

  /** `docker image ls <repository>` */
  listImages(): Command {
    return docker('image', 'ls', this.config.repository);
  }

  /** `docker image prune --all --force --filter label=service=<service>` */
  removeImages(): Command {
    return docker(
      'image',
      'prune',
      '--all',
      '--force',
      ...filterArgs([`label=service=${this.config.service}`]),
    );
  }

  /** `docker tag <repo>:<version> <repo>:latest[-<dest>]` */
  tagLatestImage(): Command {
    return docker('tag', this.config.absoluteImage, this.config.latestImage);
  }

  // --- logs ---------------------------------------------------------------------------

  private containerIdCommand(containerId: string | Command | undefined): Command {
    if (Array.isArray(containerId)) return containerId;
    if (typeof containerId === 'string') return shell([`echo ${containerId}`]);
    return this.currentRunningContainerId();
  }

  /** Log lines of the running (or given) container, optionally filtered through grep. */
  logs(options: LogOptions = {}): Command {
    const timestamps = options.timestamps ?? true;
    return pipe(
      this.containerIdCommand(options.containerId),
      [
        'xargs',
        'docker',
        'logs',
        ...(timestamps ? ['--timestamps'] : []),
        ...(options.since !== undefined ? ['--since', options.since] : []),
        ...(options.lines !== undefined ? ['--tail', String(options.lines)] : []),
        '2>&1',
      ],
      options.grep !== undefined
        ? ['grep', singleQuoted(options.grep), ...grepOptionWords(options.grepOptions)]
        : undefined,
    );
  }

  /** Local `ssh -t <host> '… | xargs docker logs … --follow 2>&1 [| grep "…"]'`. */
  followLogs(options: Omit<LogOptions, 'since'> & { host: string }): Command {
    const timestamps = options.timestamps ?? true;
    return runOverSsh(
      this.config,
      pipe(
        this.containerIdCommand(options.containerId),
        [
          'xargs',
          'docker',
          'logs',
          ...(timestamps ? ['--timestamps'] : []),
          ...(options.lines !== undefined ? ['--tail', String(options.lines)] : []),
          '--follow',
          '2>&1',
        ],
        options.grep !== undefined
          ? ['grep', doubleQuoted(options.grep), ...grepOptionWords(options.grepOptions)]
          : undefined,
      ),
      options.host,
    );
  }

  // --- proxy ----------------------------------------------------------------------------

  private get proxy() {
    const proxy = this.r.proxy;
    if (!proxy) {
      throw new UserError(
        `Role ${this.r.name} does not run behind kamal-proxy; set servers.${this.r.name}.proxy in ${this.config.files[0] ?? 'config/deploy.yml'} to route traffic to it.`,
      );
    }
    return proxy;
  }

  /** `docker exec kamal-proxy kamal-proxy deploy <service-role[-dest]> --target="<id>:<port>" …` */
  deploy(target: string): Command {
    return proxyExec('deploy', this.r.containerPrefix(), ...this.proxy.deployCommandArgs(target));
  }

  /** `docker exec kamal-proxy kamal-proxy remove <service-role[-dest]>` */
  remove(): Command {
    return proxyExec('remove', this.r.containerPrefix());
  }

  /** `docker exec kamal-proxy kamal-proxy resume <service-role[-dest]>` (leave maintenance). */
  live(): Command {
    return proxyExec('resume', this.r.containerPrefix());
  }

  /** `docker exec kamal-proxy kamal-proxy stop <service-role[-dest]> [--drain-timeout="Ns"] [--message="…"]` */
  maintenance(options: { drainTimeout?: number; message?: string } = {}): Command {
    return proxyExec('stop', this.r.containerPrefix(), ...this.proxy.stopCommandArgs(options));
  }

  /** `rm -r .kamal/proxy/apps-config/<service>[-<dest>]` */
  removeProxyAppDirectory(): Command {
    return removeDirectory(this.config.proxyBoot.appDirectory);
  }

  /** `mkdir -p .kamal/proxy/apps-config/<app>/tls/<role>` (custom certificates). */
  createSslDirectory(): Command {
    return makeDirectory(`${this.config.proxyBoot.tlsDirectory}/${this.r.name}`);
  }

  /** The custom certificate and key files for this role (mode 0644), when proxy.ssl has certificate_pem/private_key_pem. */
  sslCertificateFiles(lookup: SecretLookup): RemoteFile[] {
    const proxy = this.proxy;
    if (!proxy.customSslCertificate) return [];
    const files: RemoteFile[] = [];
    if (proxy.hostTlsCert && proxy.certificatePemSecret)
      files.push({ path: proxy.hostTlsCert, content: lookup(proxy.certificatePemSecret), mode: '0644' });
    if (proxy.hostTlsKey && proxy.privateKeyPemSecret)
      files.push({ path: proxy.hostTlsKey, content: lookup(proxy.privateKeyPemSecret), mode: '0644' });
    return files;
  }

  // --- assets and error pages --------------------------------------------------------

  extractAssets(): Command {
    return extractAssets(this.config, this.r);
  }

  syncAssetVolumes(options: { oldVersion?: string } = {}): Command {
    return syncAssetVolumes(this.config, this.r, options.oldVersion);
  }

  cleanUpAssets(): Command {
    return cleanUpAssets(this.r);
  }

  createErrorPagesDirectory(): Command {
    return createErrorPagesDirectory(this.config);
  }

  cleanUpErrorPages(): Command {
    return cleanUpErrorPages(this.config);
  }
}

function grepOptionWords(options: string | undefined): string[] {
  return options === undefined || options === '' ? [] : [options];
}
