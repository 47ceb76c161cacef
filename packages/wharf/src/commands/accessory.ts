/**
 * Accessory commands (Kamal's Commands::Accessory and Accessory::Proxy). An
 * accessory runs as one container named after its service name
 * (`<service>-<name>` unless set), labelled `service=<service name>`. Its
 * files are uploaded to `<service name>/<remote path>` and its relative
 * directories live in `$PWD/<service name>/…`, both under the SSH user's home;
 * its secrets go to `.kamal/apps/<app>/env/accessories/<name>.env`.
 */
import type { Accessory, AccessoryPath, Config, SecretLookup } from '../config/index.js';
import { UserError } from '../util/errors.js';
import type { RemoteFile } from './app.js';
import {
  containerIdFor,
  docker,
  dockerInteractiveArgs,
  doubleQuoted,
  makeDirectory,
  makeDirectoryFor,
  pipe,
  runOverSsh,
  singleQuoted,
  type Command,
} from './base.js';
import { proxyExec } from './proxy.js';

/** Ruby's `to_sentence`: `a`, `a and b`, `a, b, and c`. */
function toSentence(items: string[]): string {
  if (items.length <= 1) return items.join('');
  if (items.length === 2) return `${items[0]} and ${items[1]}`;
  return `${items.slice(0, -1).join(', ')}, and ${items[items.length - 1]}`;
}

/** A step that prepares an accessory path on the host: a command, or an upload of a local file. */
export type PathStep = { command: Command } | { upload: { local: string; remote: string } };

export class AccessoryCommands {
  readonly accessory: Accessory;

  constructor(
    readonly config: Config,
    name: string,
  ) {
    const found = config.accessory(name);
    if (!found) {
      const names = config.accessories.map((a) => a.name);
      throw new UserError(
        names.length > 0
          ? `No accessory by the name of '${name}' (options: ${toSentence(names)})`
          : `No accessory by the name of '${name}': ${config.files[0] ?? 'config/deploy.yml'} defines no accessories`,
      );
    }
    this.accessory = found;
  }

  get serviceName(): string {
    return this.accessory.serviceName;
  }

  private get serviceFilter(): string[] {
    return ['--filter', `label=service=${this.serviceName}`];
  }

  /** `docker run --name <service> --detach --restart … --network … <logging> <publish> [KAMAL_HOST] <env> <volumes> <labels> <options> <image> [cmd]` */
  run(host?: string): Command {
    const a = this.accessory;
    return docker(
      'run',
      '--name',
      this.serviceName,
      '--detach',
      '--restart',
      a.restartPolicy,
      ...a.networkArgs(),
      ...this.config.loggingArgs(),
      ...a.publishArgs(),
      ...(host !== undefined ? ['--env', `KAMAL_HOST="${host}"`] : []),
      ...a.envArgs(),
      ...a.volumeArgs(),
      ...a.labelArgs(),
      ...a.optionArgs(),
      a.image,
      a.cmd,
    );
  }

  /** `docker container start <service>` */
  start(): Command {
    return docker('container', 'start', this.serviceName);
  }

  /** `docker container stop <service>` */
  stop(): Command {
    return docker('container', 'stop', this.serviceName);
  }

  /** `docker ps [-a] [-q] --filter label=service=<service>` */
  info(options: { all?: boolean; quiet?: boolean } = {}): Command {
    return docker(
      'ps',
      options.all ? '-a' : undefined,
      options.quiet ? '-q' : undefined,
      ...this.serviceFilter,
    );
  }

  /** `docker logs <service> [--since S] [--tail N] [--timestamps] 2>&1 [| grep '…' …]` */
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
        this.serviceName,
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

  /** Local `ssh -t <first host> 'docker logs <service> [--timestamps] --tail 10 --follow 2>&1 [| grep "…"]'` */
  followLogs(
    options: { timestamps?: boolean; grep?: string; grepOptions?: string; host?: string } = {},
  ): Command {
    const timestamps = options.timestamps ?? true;
    return this.runOverSsh(
      pipe(
        docker(
          'logs',
          this.serviceName,
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
      options.host,
    );
  }

  /** `docker exec [-it] <service> <command…>` */
  executeInExistingContainer(
    command: string[],
    options: { interactive?: boolean; tty?: boolean } = {},
  ): Command {
    return docker(
      'exec',
      options.interactive ? dockerInteractiveArgs(options.tty ?? true) : undefined,
      this.serviceName,
      ...command,
    );
  }

  /** `docker run [-it] --rm <network> <env> <volumes> <options> <image> <command…>` */
  executeInNewContainer(command: string[], options: { interactive?: boolean; tty?: boolean } = {}): Command {
    const a = this.accessory;
    return docker(
      'run',
      options.interactive ? dockerInteractiveArgs(options.tty ?? true) : undefined,
      '--rm',
      ...a.networkArgs(),
      ...a.envArgs(),
      ...a.volumeArgs(),
      ...a.optionArgs(),
      a.image,
      ...command,
    );
  }

  executeInExistingContainerOverSsh(
    command: string[],
    options: { tty?: boolean; host?: string } = {},
  ): Command {
    return this.runOverSsh(
      this.executeInExistingContainer(command, { tty: options.tty, interactive: true }),
      options.host,
    );
  }

  executeInNewContainerOverSsh(command: string[], options: { tty?: boolean; host?: string } = {}): Command {
    return this.runOverSsh(
      this.executeInNewContainer(command, { tty: options.tty, interactive: true }),
      options.host,
    );
  }

  /** Local ssh line to the given host, by default the accessory's first host. */
  runOverSsh(command: Command, onHost?: string): Command {
    const host = onHost ?? this.accessory.hosts[0];
    if (host === undefined)
      throw new UserError(
        `Accessory ${this.accessory.name} has no hosts; set accessories.${this.accessory.name}.host in ${this.config.files[0] ?? 'config/deploy.yml'}.`,
      );
    return runOverSsh(this.config, command, host);
  }

  /** `docker container ls [--all] --filter 'name=^<service>$' --quiet` */
  containerId(options: { onlyRunning?: boolean } = {}): Command {
    return containerIdFor(this.serviceName, options);
  }

  /** `docker container inspect --format '{{.Config.Image}} {{.Image}}' <service>`: the image name and id the container runs (wharf's upgrade report). */
  runningImage(): Command {
    return docker('container', 'inspect', '--format', "'{{.Config.Image}} {{.Image}}'", this.serviceName);
  }

  /** `docker image inspect --format '{{.Id}}' <image>` */
  imageId(image: string = this.accessory.image): Command {
    return docker('image', 'inspect', '--format', "'{{.Id}}'", image);
  }

  /** `docker container inspect --format '{{range .Mounts}}…{{end}}' <service>`: one `<type> <name> <destination>` line per mount. */
  mounts(): Command {
    return docker(
      'container',
      'inspect',
      '--format',
      `'{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{println}}{{end}}'`,
      this.serviceName,
    );
  }

  /** `docker image pull <image>` */
  pullImage(): Command {
    return docker('image', 'pull', this.accessory.image);
  }

  /** `rm -rf <service>`: the accessory's files and relative directories. */
  removeServiceDirectory(): Command {
    return ['rm', '-rf', this.serviceName];
  }

  /** `docker container prune --force --filter label=service=<service>` */
  removeContainer(): Command {
    return docker('container', 'prune', '--force', ...this.serviceFilter);
  }

  /** `docker image rm --force <image>` */
  removeImage(): Command {
    return docker('image', 'rm', '--force', this.accessory.image);
  }

  /** `mkdir -p .kamal/apps/<app>/env/accessories` */
  ensureEnvDirectory(): Command {
    return makeDirectory(this.accessory.envDirectory);
  }

  /** The env file to upload before `run` (mode 0600). */
  envFile(lookup: SecretLookup): RemoteFile {
    return { path: this.accessory.secretsPath, content: this.accessory.env.envFile(lookup), mode: '0600' };
  }

  /** For each file: `mkdir -p <dir>`, upload it (ERB files rendered first by the caller), `chmod <mode>`, `chown <owner>` if set. */
  fileSteps(): { file: AccessoryPath; steps: PathStep[] }[] {
    return this.accessory.files.map((file) => ({
      file,
      steps: [
        { command: makeDirectoryFor(file.hostPath) },
        { upload: { local: file.local, remote: file.hostPath } },
        ...(file.mode !== undefined ? [{ command: ['chmod', file.mode, file.hostPath] }] : []),
        ...(file.owner !== undefined ? [{ command: ['chown', file.owner, file.hostPath] }] : []),
      ],
    }));
  }

  /** For each directory: `mkdir -p $PWD/<service>/<dir>` (or the absolute path), then chmod/chown when set. */
  directoryCommands(): Command[] {
    return this.accessory.directories.flatMap((dir) => [
      makeDirectory(dir.local),
      ...(dir.mode !== undefined ? [['chmod', dir.mode, dir.local]] : []),
      ...(dir.owner !== undefined ? [['chown', dir.owner, dir.local]] : []),
    ]);
  }

  // --- proxy ---------------------------------------------------------------------

  /** `docker exec kamal-proxy kamal-proxy deploy <service> --target="<id>:<port>" …` */
  deploy(target: string): Command {
    const proxy = this.accessory.proxy;
    if (!proxy) {
      throw new UserError(
        `Accessory ${this.accessory.name} has no proxy settings; add accessories.${this.accessory.name}.proxy in ${this.config.files[0] ?? 'config/deploy.yml'} to route traffic to it.`,
      );
    }
    return proxyExec('deploy', this.serviceName, ...proxy.deployCommandArgs(target));
  }

  /** `docker exec kamal-proxy kamal-proxy remove <service>` */
  remove(): Command {
    return proxyExec('remove', this.serviceName);
  }
}
