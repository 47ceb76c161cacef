/**
 * The accessory lifecycle (Kamal's Cli::Accessory): boot, reboot, start, stop,
 * restart, details, exec, logs, remove, and wharf's upgrade. Every operation
 * takes an accessory name or `all`, runs on that accessory's hosts that the
 * -h/-r selection keeps, and never takes the deploy lock itself: the CLI (or
 * `setup`) holds it around the mutating ones.
 *
 * Boot follows Kamal: registry login (the accessory's own registry when it
 * has one) and the `kamal` network; hosts where a container with the
 * accessory's service label exists are skipped ("Skipping booting …");
 * directories are created and files uploaded (`.erb` rendered locally with
 * the accessory's env); then, per host, an audit line, the env file (0600)
 * and `docker run`; a proxied accessory is handed to wharf-proxy.
 */
import { isAbsolute } from 'node:path';
import { AccessoryCommands } from '../commands/accessory.js';
import { Auditor } from '../commands/auditor.js';
import { combine, type Command } from '../commands/base.js';
import { createNetwork, NETWORK_EXISTS_MARKER } from '../commands/docker.js';
import { RegistryCommands } from '../commands/registry.js';
import type { Accessory, Config } from '../config/index.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { defaultLogLines, type LogsOptions } from './app-ops.js';
import { runInTerminal } from './local-terminal.js';
import { bootProxy } from './proxy.js';
import { failureDetail, type Remote } from './remote.js';

/** The name that means every accessory. */
export const ALL_ACCESSORIES = 'all';

/** Owners the upload command takes itself (`user`, `user:group`, numeric ids). */
const OWNER = /^[A-Za-z0-9._][A-Za-z0-9._-]*(:[A-Za-z0-9._][A-Za-z0-9._-]*)?$/;

/** Networks Docker always has (never created). */
const BUILTIN_NETWORKS = new Set(['kamal', 'bridge', 'host', 'none']);

export interface AccessoryScope {
  /** Only these hosts (still limited to the accessory's hosts and the -h/-r selection); for rolling upgrades. */
  hosts?: readonly string[];
}

/** The accessory names an operation acts on: all of them for `all`, else the one named (checked, Kamal's message). */
export async function accessoryNames(ctx: Context, name: string): Promise<string[]> {
  const config = await ctx.config();
  if (name === ALL_ACCESSORIES) return config.accessories.map((a) => a.name);
  return [new AccessoryCommands(config, name).accessory.name];
}

/** The accessory's hosts that the selection keeps (Kamal: accessory_hosts & accessory.hosts). */
export async function accessoryHosts(
  ctx: Context,
  accessory: Accessory,
  scope: AccessoryScope = {},
): Promise<string[]> {
  const selection = await ctx.selection();
  return accessory.hosts.filter(
    (h, i, all) =>
      all.indexOf(h) === i && selection.hosts.includes(h) && (!scope.hosts || scope.hosts.includes(h)),
  );
}

async function auditor(ctx: Context): Promise<Auditor> {
  return new Auditor(await ctx.config(), await ctx.stamp());
}

async function commandsFor(ctx: Context, name: string): Promise<AccessoryCommands> {
  return new AccessoryCommands(await ctx.config(), name);
}

/**
 * Fetches the accessory's secret env values so that output of its container
 * (exec, logs) is redacted; a secret that cannot be read only skips that.
 */
async function knowSecrets(ctx: Context, accessory: Accessory): Promise<void> {
  try {
    accessory.env.toRecord(await ctx.secretLookup());
  } catch {
    // Nothing to mask then; reading output does not need the secrets.
  }
}

async function forEachName(ctx: Context, name: string, fn: (name: string) => Promise<void>): Promise<void> {
  for (const each of await accessoryNames(ctx, name)) await fn(each);
}

// --- prepare ---------------------------------------------------------------------

/** Registry login (the accessory's registry, else the config's) and the networks, on each host. */
async function prepare(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<void> {
  const config = await ctx.config();
  const registry = acc.accessory.registry ?? config.registry;
  const login = new RegistryCommands(config).login(await ctx.secretLookup(), registry);
  const networks = [createNetwork()];
  if (!BUILTIN_NETWORKS.has(acc.accessory.network) && !acc.accessory.network.startsWith('container:'))
    networks.push(['docker', 'network', 'create', acc.accessory.network]);
  await remote.onHosts(hosts, async (host) => {
    if (login) await remote.run(host, login, `log in to ${registry.server ?? 'Docker Hub'}`);
    for (const network of networks) {
      const result = await remote.run(host, network, `create the ${network[3]} network`, {
        allowFailure: true,
      });
      if (result.code !== 0 && !result.stderr.includes(NETWORK_EXISTS_MARKER))
        throw new UserError(
          `Creating the docker network ${network[3]} failed on ${host}: ${failureDetail(result)}.`,
        );
    }
  });
}

// --- boot ------------------------------------------------------------------------

/** A file of the accessory, read (and rendered) on this machine, ready to upload. */
export interface PreparedFile {
  hostPath: string;
  mode?: string;
  owner?: string;
  content: string | Buffer;
}

/** Reads (and renders) every file of the accessory before anything changes on a host. */
async function fileContents(ctx: Context, acc: AccessoryCommands): Promise<PreparedFile[]> {
  const files = acc.accessory.files;
  if (files.length === 0) return [];
  const lookup = await ctx.secretLookup();
  return files.map((file) => ({
    hostPath: file.hostPath,
    mode: file.mode,
    owner: file.owner,
    content: acc.accessory.fileContent(file, lookup, { env: ctx.env }),
  }));
}

/** `directories`: mkdir -p each (then chmod/chown when set), on each host. */
async function createDirectories(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<void> {
  const commands = acc.directoryCommands();
  if (commands.length === 0) return;
  await remote.onHosts(hosts, (host) =>
    remote.run(host, combine(commands), `create the directories of accessory ${acc.accessory.name}`),
  );
}

/** `upload`: each file written under `<service>/…` with its mode (default 755) and owner, on each host. */
async function uploadFiles(
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
  files: readonly PreparedFile[],
): Promise<void> {
  if (files.length === 0) return;
  await remote.onHosts(hosts, async (host) => {
    for (const file of files) {
      const step = `upload ${file.hostPath} for accessory ${acc.accessory.name}`;
      // An octal mode and a plain owner go with the (atomic) upload itself: one round trip.
      const octal = file.mode !== undefined && /^[0-7]{3,4}$/.test(file.mode);
      const plainOwner = file.owner === undefined || OWNER.test(file.owner);
      await remote.pool.upload(host, file.hostPath, file.content, {
        mode: octal ? Number.parseInt(file.mode!, 8) : 0o600,
        ...(plainOwner && file.owner !== undefined ? { owner: file.owner } : {}),
        step,
      });
      // Anything else (a symbolic mode, an unusual owner) as Kamal does it: chmod/chown afterwards.
      const after: Command[] = [];
      if (file.mode !== undefined && !octal) after.push(['chmod', file.mode, file.hostPath]);
      if (file.owner !== undefined && !plainOwner) after.push(['chown', file.owner, file.hostPath]);
      if (after.length > 0) await remote.run(host, combine(after), step);
    }
  });
}

/** The running container of the accessory on a host, handed to wharf-proxy (booting the proxy first if needed). */
async function deployToProxy(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  host: string,
): Promise<void> {
  const config = await ctx.config();
  const target = await remote.capture(
    host,
    acc.containerId({ onlyRunning: true }),
    `find the running ${acc.serviceName} container`,
  );
  if (!target)
    throw new UserError(
      `Accessory ${acc.accessory.name} is not running on ${host}, so it cannot be put behind wharf-proxy; run \`wharf accessory logs ${acc.accessory.name} -h ${host}\` to see why it stopped.`,
    );
  await remote.run(host, acc.deploy(target), `hand ${acc.serviceName} to wharf-proxy`, {
    timeoutMs: (config.deployTimeout + 60) * 1000,
  });
}

/** Hosts of the accessory where a container with its service label exists (running or not). */
async function hostsWithContainer(
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<string[]> {
  const found = await remote.onHosts(hosts, async (host) => ({
    host,
    exists:
      (await remote.capture(host, acc.info({ all: true, quiet: true }), `look for ${acc.serviceName}`)) !==
      '',
  }));
  return found.filter((f) => f.exists).map((f) => f.host);
}

/**
 * `accessory boot NAME|all`: prepare, skip hosts where the container exists,
 * directories, files, then env file and `docker run` per host (and the proxy
 * for a proxied accessory).
 */
export async function accessoryBoot(
  ctx: Context,
  remote: Remote,
  name: string,
  options: AccessoryScope & { prepare?: boolean; files?: readonly PreparedFile[] } = {},
): Promise<void> {
  if (name === ALL_ACCESSORIES) return forEachName(ctx, name, (n) => accessoryBoot(ctx, remote, n, options));
  const acc = await commandsFor(ctx, name);
  let hosts = await accessoryHosts(ctx, acc.accessory, options);
  if (hosts.length === 0) return;
  const lookup = await ctx.secretLookup();
  // Files are read (and ERB rendered) once, before anything changes, so a missing file stops the boot early.
  const files = options.files ?? (await fileContents(ctx, acc));
  if (options.prepare !== false) await prepare(ctx, remote, acc, hosts);
  const booted = await hostsWithContainer(remote, acc, hosts);
  if (booted.length > 0) {
    ctx.reporter.warn(
      `Skipping booting \`${name}\` on ${[...booted].sort().join(', ')}, a container already exists`,
    );
  }
  // As Kamal: directories and files are brought up to date on every host of the accessory, booted or not.
  await createDirectories(ctx, remote, acc, hosts);
  await uploadFiles(remote, acc, hosts, files);
  hosts = hosts.filter((h) => !booted.includes(h));
  if (hosts.length === 0) return;
  const audit = await auditor(ctx);
  if (acc.accessory.runningProxy) await bootProxy(ctx, remote, hosts);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `boot accessory ${name}`, async () => {
      await remote.run(
        host,
        combine([audit.record(`Booted ${name} accessory`), acc.ensureEnvDirectory()]),
        `prepare accessory ${name}`,
      );
      const env = acc.envFile(lookup);
      await remote.pool.upload(host, env.path, env.content, {
        mode: 0o600,
        step: `write the env file of accessory ${name}`,
      });
      await remote.run(host, acc.run(host), `start ${acc.serviceName}`);
      if (acc.accessory.runningProxy) await deployToProxy(ctx, remote, acc, host);
    }),
  );
}

// --- start / stop / restart ---------------------------------------------------------

export async function accessoryStart(
  ctx: Context,
  remote: Remote,
  name: string,
  scope: AccessoryScope = {},
): Promise<void> {
  if (name === ALL_ACCESSORIES) return forEachName(ctx, name, (n) => accessoryStart(ctx, remote, n, scope));
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory, scope);
  const audit = await auditor(ctx);
  if (acc.accessory.runningProxy && hosts.length > 0) await bootProxy(ctx, remote, hosts);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `start accessory ${name}`, async () => {
      await remote.run(
        host,
        combine([audit.record(`Started ${name} accessory`), acc.start()]),
        `start ${acc.serviceName}`,
      );
      if (acc.accessory.runningProxy) await deployToProxy(ctx, remote, acc, host);
    }),
  );
}

export async function accessoryStop(
  ctx: Context,
  remote: Remote,
  name: string,
  scope: AccessoryScope = {},
): Promise<void> {
  if (name === ALL_ACCESSORIES) return forEachName(ctx, name, (n) => accessoryStop(ctx, remote, n, scope));
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory, scope);
  const audit = await auditor(ctx);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `stop accessory ${name}`, async () => {
      await remote.run(host, audit.record(`Stopped ${name} accessory`), 'write the audit log');
      // Out of the proxy first (no requests to a stopping container), then stopped; both may find nothing.
      if (acc.accessory.runningProxy)
        await remote.run(host, acc.remove(), `remove ${acc.serviceName} from wharf-proxy`, {
          allowFailure: true,
        });
      await remote.run(host, acc.stop(), `stop ${acc.serviceName}`, { allowFailure: true });
    }),
  );
}

export async function accessoryRestart(
  ctx: Context,
  remote: Remote,
  name: string,
  scope: AccessoryScope = {},
): Promise<void> {
  await accessoryStop(ctx, remote, name, scope);
  await accessoryStart(ctx, remote, name, scope);
}

// --- reboot ------------------------------------------------------------------------

async function pullImage(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<void> {
  const audit = await auditor(ctx);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `pull ${acc.accessory.image}`, () =>
      remote.run(
        host,
        combine([audit.record(`Pull ${acc.accessory.name} accessory image`), acc.pullImage()]),
        `pull ${acc.accessory.image}`,
      ),
    ),
  );
}

async function removeContainer(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<void> {
  const audit = await auditor(ctx);
  await remote.onHosts(hosts, (host) =>
    remote.run(
      host,
      combine([audit.record(`Remove ${acc.accessory.name} accessory container`), acc.removeContainer()]),
      `remove the ${acc.serviceName} container`,
    ),
  );
}

/** Container paths the config keeps across containers (volumes, directories, files). */
function keptPaths(accessory: Accessory): Set<string> {
  const kept = new Set<string>();
  for (const v of accessory.volumes) {
    const parts = v.split(':');
    if (parts.length >= 2) kept.add(parts[1]!);
  }
  for (const p of [...accessory.directories, ...accessory.files]) kept.add(p.containerPath);
  return kept;
}

/**
 * Warns about data a new container would not get: anonymous volumes (an
 * image's VOLUME without a mount in the config) are left behind by a reboot.
 */
async function warnAboutAnonymousVolumes(
  ctx: Context,
  remote: Remote,
  acc: AccessoryCommands,
  hosts: readonly string[],
): Promise<void> {
  const kept = keptPaths(acc.accessory);
  await remote.onHosts(hosts, async (host) => {
    const result = await remote.run(host, acc.mounts(), `inspect the mounts of ${acc.serviceName}`, {
      allowFailure: true,
    });
    if (result.code !== 0) return;
    for (const line of result.stdout.split('\n')) {
      const [type, volume, destination] = line.trim().split(' ');
      if (type !== 'volume' || !volume || !destination || kept.has(destination)) continue;
      if (!/^[0-9a-f]{64}$/.test(volume)) continue;
      ctx.reporter.warn(
        `accessory ${acc.accessory.name} on ${host} keeps data at ${destination} in the anonymous volume ${volume.slice(0, 12)}, which the new container will not get; name it in accessories.${acc.accessory.name}.volumes (e.g. "${acc.serviceName}-data:${destination}") or directories to keep it`,
      );
    }
  });
}

/** `accessory reboot NAME|all`: prepare, pull, stop, remove the container, boot (data in directories and volumes stays). */
export async function accessoryReboot(
  ctx: Context,
  remote: Remote,
  name: string,
  scope: AccessoryScope = {},
): Promise<void> {
  if (name === ALL_ACCESSORIES) return forEachName(ctx, name, (n) => accessoryReboot(ctx, remote, n, scope));
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory, scope);
  if (hosts.length === 0) return;
  const files = await fileContents(ctx, acc);
  await prepare(ctx, remote, acc, hosts);
  await pullImage(ctx, remote, acc, hosts);
  await warnAboutAnonymousVolumes(ctx, remote, acc, hosts);
  await accessoryStop(ctx, remote, name, { hosts });
  await removeContainer(ctx, remote, acc, hosts);
  await accessoryBoot(ctx, remote, name, { hosts, prepare: false, files });
}

// --- upgrade -----------------------------------------------------------------------

export interface UpgradeOptions {
  /** The new image (as written in the config: the accessory's registry server is put in front when missing). */
  image?: string;
  /** One host at a time. */
  rolling?: boolean;
}

export interface UpgradeReport extends HostOutput {
  accessory: string;
  before: string | undefined;
  after: string | undefined;
  changed: boolean;
}

/** `<image> (<short id>)`, or undefined when no container. */
async function runningImage(
  remote: Remote,
  acc: AccessoryCommands,
  host: string,
): Promise<{ image: string; id: string } | undefined> {
  const result = await remote.run(host, acc.runningImage(), `inspect ${acc.serviceName}`, {
    allowFailure: true,
  });
  if (result.code !== 0) return undefined;
  const [image = '', id = ''] = result.stdout.trim().split(' ');
  return image ? { image, id } : undefined;
}

function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function describe(image: { image: string; id: string } | undefined): string | undefined {
  return image ? `${image.image} (${shortId(image.id)})` : undefined;
}

/** Sets the accessory's image for this run (`--image`), as the config would spell it. */
export function overrideImage(accessory: Accessory, image: string): void {
  const server = accessory.registry?.server;
  const raw = server && image.startsWith(`${server}/`) ? image.slice(server.length + 1) : image;
  (accessory.raw as Record<string, unknown>).image = raw;
}

/**
 * `accessory upgrade NAME|all [--image NEW] [--rolling]`: on each host (one
 * at a time with rolling) pull the image, and where the running container's
 * image differs, reboot it on the new one; data in directories and volumes
 * stays. Returns what ran before and after on each host.
 */
export async function accessoryUpgrade(
  ctx: Context,
  remote: Remote,
  name: string,
  options: UpgradeOptions = {},
): Promise<UpgradeReport[]> {
  const names = await accessoryNames(ctx, name);
  if (options.image !== undefined && names.length !== 1)
    throw new UserError(`--image names one image, so upgrade one accessory at a time, not ${name}.`);
  const reports: UpgradeReport[] = [];
  const audit = await auditor(ctx);
  for (const each of names) {
    const acc = await commandsFor(ctx, each);
    if (options.image !== undefined) overrideImage(acc.accessory, options.image);
    const hosts = await accessoryHosts(ctx, acc.accessory);
    if (hosts.length === 0) continue;
    const files = await fileContents(ctx, acc);
    await prepare(ctx, remote, acc, hosts);
    const groups = options.rolling ? hosts.map((h) => [h]) : [hosts];
    for (const group of groups) {
      ctx.reporter.info(`Upgrading ${each} on ${group.join(', ')} to ${acc.accessory.image}...`);
      await pullImage(ctx, remote, acc, group);
      const states = await remote.onHosts(group, async (host) => ({
        host,
        before: await runningImage(remote, acc, host),
        target: await remote.capture(host, acc.imageId(), `inspect ${acc.accessory.image}`),
      }));
      const changing = states.filter((s) => !s.before || s.before.id !== s.target).map((s) => s.host);
      if (changing.length > 0) {
        await warnAboutAnonymousVolumes(ctx, remote, acc, changing);
        await accessoryStop(ctx, remote, each, { hosts: changing });
        await removeContainer(ctx, remote, acc, changing);
        await accessoryBoot(ctx, remote, each, { hosts: changing, prepare: false, files });
      }
      for (const state of states) {
        const after = changing.includes(state.host)
          ? await runningImage(remote, acc, state.host)
          : state.before;
        const before = describe(state.before);
        const now = describe(after);
        const changed = changing.includes(state.host);
        if (changed)
          await remote.run(
            state.host,
            audit.record(`Upgraded ${each} accessory from ${before ?? 'nothing'} to ${now ?? 'nothing'}`),
            'write the audit log',
          );
        reports.push({
          host: state.host,
          accessory: each,
          before,
          after: now,
          changed,
          output: changed
            ? `${each}: ${before ?? '(no container)'} -> ${now ?? '(no container)'}`
            : `${each}: already runs ${now}, nothing to upgrade`,
        });
      }
    }
  }
  return reports;
}

// --- details / logs / exec ------------------------------------------------------------

/** `accessory details NAME|all`: `docker ps --filter label=service=<service>` per host, grouped as "Accessory NAME Host: …". */
export async function accessoryDetails(
  ctx: Context,
  remote: Remote,
  name: string,
): Promise<{ type: string; items: HostOutput[] }[]> {
  const out: { type: string; items: HostOutput[] }[] = [];
  for (const each of await accessoryNames(ctx, name)) {
    const acc = await commandsFor(ctx, each);
    const hosts = await accessoryHosts(ctx, acc.accessory);
    const items = await remote.onHosts(hosts, async (host) => ({
      host,
      output: await remote.capture(host, acc.info(), `list the ${acc.serviceName} container`),
    }));
    out.push({ type: `Accessory ${each}`, items });
  }
  return out;
}

/** `accessory logs NAME`: each host's container logs, or -f over `ssh -t` on the first (or the -h) host. */
export async function accessoryLogs(
  ctx: Context,
  remote: Remote,
  name: string,
  options: LogsOptions,
): Promise<HostOutput[] | number> {
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory);
  const timestamps = !options.skipTimestamps;
  await knowSecrets(ctx, acc.accessory);
  if (options.follow) {
    const host = hosts[0];
    if (!host)
      throw new UserError(
        `No host of accessory ${name} is selected to follow its logs on; check its hosts and the -h/-r filters.`,
      );
    const command = acc.followLogs({
      timestamps,
      grep: options.grep,
      grepOptions: options.grepOptions,
      host,
    });
    ctx.reporter.info(`Following logs on ${host}...`);
    return runInTerminal(command);
  }
  const lines = defaultLogLines({ ...options, follow: false });
  return remote.onHosts(hosts, async (host) => {
    const result = await remote.run(
      host,
      acc.logs({
        timestamps,
        since: options.since,
        lines,
        grep: options.grep,
        grepOptions: options.grepOptions,
      }),
      `read the ${acc.serviceName} logs`,
      { allowFailure: true },
    );
    return { host, output: result.code === 0 && result.stdout.trim() ? result.stdout : 'Nothing found' };
  });
}

export interface AccessoryExecRequest {
  command: string[];
  interactive?: boolean;
  reuse?: boolean;
  /** Only stdout, byte for byte (Kamal's --raw). */
  raw?: boolean;
}

/**
 * `accessory exec NAME CMD…`, Kamal's four modes: interactive with --reuse
 * (`ssh -t … docker exec -it`), interactive (`ssh -t … docker run -it --rm`),
 * --reuse (`docker exec` on every host), default (`docker run --rm` on every
 * host, after the registry login). Interactive modes use the accessory's
 * first selected host.
 */
export async function accessoryExec(
  ctx: Context,
  remote: Remote,
  name: string,
  request: AccessoryExecRequest,
): Promise<HostOutput[] | number> {
  const config = await ctx.config();
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory);
  const cmd = request.command.map((w) => w.trim()).join(' ');
  await knowSecrets(ctx, acc.accessory);
  const registry = acc.accessory.registry ?? config.registry;
  const login = async (on: readonly string[]) => {
    const command = new RegistryCommands(config).login(await ctx.secretLookup(), registry);
    if (command)
      await remote.onHosts(on, (host) =>
        remote.run(host, command, `log in to ${registry.server ?? 'Docker Hub'}`),
      );
  };
  if (request.interactive) {
    const host = hosts[0];
    if (!host)
      throw new UserError(
        `No host of accessory ${name} is selected to run an interactive command on; check its hosts and the -h/-r filters.`,
      );
    const tty = Boolean(process.stdin.isTTY);
    if (request.reuse) {
      ctx.reporter.info('Launching interactive command via SSH from existing container...');
      return runInTerminal(acc.executeInExistingContainerOverSsh([cmd], { tty, host }));
    }
    ctx.reporter.info('Launching interactive command via SSH from new container...');
    await login([host]);
    return runInTerminal(acc.executeInNewContainerOverSsh([cmd], { tty, host }));
  }
  const audit = await auditor(ctx);
  ctx.reporter.info(`Launching command from ${request.reuse ? 'existing' : 'new'} container...`);
  if (!request.reuse) await login(hosts);
  return remote.onHosts(hosts, async (host) => {
    await remote.run(host, audit.record(`Executed cmd '${cmd}' on ${name} accessory`), 'write the audit log');
    const command = request.reuse ? acc.executeInExistingContainer([cmd]) : acc.executeInNewContainer([cmd]);
    const result = await remote.run(
      host,
      command,
      `run '${cmd}' in ${request.reuse ? acc.serviceName : `a new ${name} container`}`,
    );
    if (request.raw) return { host, output: result.stdout };
    return { host, output: `${result.stdout}${result.stderr && !result.stdout ? result.stderr : ''}` };
  });
}

// --- remove ------------------------------------------------------------------------

export interface RemovalPlan {
  accessory: string;
  hosts: string[];
  container: string;
  image: string;
  /** Deleted: the `~/<service>` directory on each host, and what it holds. */
  serviceDirectory: string;
  deletedData: string[];
  /** Not deleted by remove (Kamal's behaviour): named volumes, bind mounts and absolute directories. */
  keptData: string[];
}

/** What `accessory remove NAME|all` deletes, and which data it leaves on the hosts. */
export async function removalPlan(ctx: Context, name: string): Promise<RemovalPlan[]> {
  const config = await ctx.config();
  const plans: RemovalPlan[] = [];
  for (const each of await accessoryNames(ctx, name)) {
    const accessory = config.accessory(each)!;
    const deleted: string[] = [];
    const kept: string[] = [];
    for (const dir of accessory.directories) {
      if (isAbsolute(dir.hostPath)) kept.push(`host directory ${dir.hostPath} (at ${dir.containerPath})`);
      else deleted.push(`directory ~/${dir.hostPath} (at ${dir.containerPath})`);
    }
    for (const file of accessory.files) deleted.push(`file ~/${file.hostPath}`);
    for (const volume of accessory.volumes) {
      const [source = '', target = ''] = volume.split(':');
      kept.push(
        source.startsWith('/') || source.startsWith('$') || source.startsWith('.')
          ? `host directory ${source} (at ${target})`
          : `volume ${source} (at ${target})`,
      );
    }
    plans.push({
      accessory: each,
      hosts: await accessoryHosts(ctx, accessory),
      container: accessory.serviceName,
      image: accessory.image,
      serviceDirectory: `~/${accessory.serviceName}`,
      deletedData: deleted,
      keptData: kept,
    });
  }
  return plans;
}

/** One sentence per accessory for the confirmation question. */
export function describeRemoval(plans: readonly RemovalPlan[]): string {
  return plans
    .map((p) => {
      const on = p.hosts.length > 0 ? p.hosts.join(', ') : 'no selected host';
      const data = p.deletedData.length > 0 ? `, with ${p.deletedData.join(', ')}` : '';
      const kept = p.keptData.length > 0 ? `; left in place: ${p.keptData.join(', ')}` : '';
      return `accessory ${p.accessory} on ${on}: container ${p.container}, image ${p.image} and ${p.serviceDirectory}${data}${kept}`;
    })
    .join('\n');
}

/** True when removing deletes data (a directory or file under ~/<service>). */
export function removalDeletesData(plans: readonly RemovalPlan[]): boolean {
  return plans.some((p) => p.deletedData.length > 0 && p.hosts.length > 0);
}

/** `accessory remove NAME|all` (after the CLI's confirmation): stop, remove container, image and `~/<service>`. */
export async function accessoryRemove(ctx: Context, remote: Remote, name: string): Promise<void> {
  if (name === ALL_ACCESSORIES) return forEachName(ctx, name, (n) => accessoryRemove(ctx, remote, n));
  const acc = await commandsFor(ctx, name);
  const hosts = await accessoryHosts(ctx, acc.accessory);
  if (hosts.length === 0) return;
  await accessoryStop(ctx, remote, name);
  await removeContainer(ctx, remote, acc, hosts);
  const audit = await auditor(ctx);
  await remote.onHosts(hosts, (host) =>
    ctx.reporter.step(host, `remove accessory ${name}`, async () => {
      await remote.run(
        host,
        combine([audit.record(`Removed ${name} accessory image`), acc.removeImage()]),
        `remove the ${acc.accessory.image} image`,
        { allowFailure: true },
      );
      await remote.run(host, acc.removeServiceDirectory(), `remove ~/${acc.serviceName}`);
    }),
  );
}

/** For `setup`: boot every accessory (the lock is already held by setup). */
export async function bootAllAccessories(ctx: Context, remote: Remote): Promise<void> {
  const config: Config = await ctx.config();
  if (config.accessories.length === 0) return;
  const done = ctx.reporter.phase('Accessories');
  try {
    await accessoryBoot(ctx, remote, ALL_ACCESSORIES);
  } finally {
    done();
  }
}
