import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { DockerClient } from '../docker/client.js';
import { ensureEngine, findEngine, stopPrivateEngine, type Engine } from '../docker/engine.js';
import { firstLine, UserError } from '../util/errors.js';
import { execFile } from '../util/exec.js';
import { httpStatus } from '../util/http-probe.js';
import { withLocalLock } from '../util/lock.js';
import { wharfHome } from '../util/paths.js';
import { ensureKeyPair } from '../ssh/keys.js';
import { sshProbe } from '../ssh/probe.js';
import { ensureBaseImages, type BaseImageRefs } from './base-images.js';
import { replaceKnownHosts } from './known-hosts.js';
import {
  chooseSubnet,
  DEFAULT_REGISTRY_PORT,
  DEFAULT_SERVER_COUNT,
  describeFleet,
  FLEET_LABEL,
  fleetNames,
  networkCreateArgs,
  planServers,
  registryRunArgs,
  serverRunArgs,
  validateFleetName,
  volumeCreateArgs,
  type FleetDescription,
  type FleetServer,
  type FleetState,
} from './plan.js';

type Log = (line: string) => void;

interface StoredState extends FleetState {
  /** False while `up` is still creating the fleet; a crashed `up` resumes from here. */
  complete: boolean;
  dockerHost: string;
}

export function fleetDir(name: string): string {
  return join(wharfHome(), 'fleets', name);
}

const paths = (name: string) => ({
  dir: fleetDir(name),
  state: join(fleetDir(name), 'fleet.json'),
  key: join(fleetDir(name), 'id_ed25519'),
  knownHosts: join(fleetDir(name), 'known_hosts'),
  lock: join(wharfHome(), 'fleets', `${name}.lock`),
});

async function loadState(name: string): Promise<StoredState | undefined> {
  const file = paths(name).state;
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(await readFile(file, 'utf8')) as StoredState;
  } catch {
    throw new UserError(
      `The fleet state file ${file} is unreadable; run \`wharf fleet down --name ${name}\` to clear it.`,
    );
  }
}

async function saveState(state: StoredState): Promise<void> {
  const file = paths(state.name).state;
  await mkdir(paths(state.name).dir, { recursive: true, mode: 0o700 });
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${file}.tmp`, file);
}

interface ContainerRow {
  Names: string;
  State: string;
  Status: string;
  Labels: string;
}

async function fleetContainers(docker: DockerClient, name: string): Promise<Map<string, ContainerRow>> {
  const rows = await docker.jsonLines<ContainerRow>(
    ['ps', '--all', '--filter', `label=${FLEET_LABEL}=${name}`, '--format', '{{json .}}'],
    'Listing the fleet containers',
  );
  return new Map(rows.map((r) => [r.Names, r]));
}

async function fleetNetworks(docker: DockerClient, name: string): Promise<string[]> {
  const out = await docker.ok(
    ['network', 'ls', '--filter', `label=${FLEET_LABEL}=${name}`, '--format', '{{.Name}}'],
    'Listing the fleet networks',
  );
  return out.split('\n').filter(Boolean);
}

async function fleetVolumes(docker: DockerClient, name: string): Promise<string[]> {
  const out = await docker.ok(
    ['volume', 'ls', '--filter', `label=${FLEET_LABEL}=${name}`, '--format', '{{.Name}}'],
    'Listing the fleet volumes',
  );
  return out.split('\n').filter(Boolean);
}

async function subnetsInUse(docker: DockerClient): Promise<string[]> {
  const ids = (await docker.ok(['network', 'ls', '--quiet'], 'Listing Docker networks'))
    .split('\n')
    .filter(Boolean);
  const subnets: string[] = [];
  if (ids.length > 0) {
    const out = await docker.ok(
      ['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}} {{end}}', ...ids],
      'Inspecting Docker networks',
    );
    subnets.push(...out.split(/\s+/).filter((s) => s.includes('/')));
  }
  // Routes of this machine too: a fleet subnet must not shadow a real network.
  const routes = await execFile('ip', ['-4', 'route']).catch(() => undefined);
  for (const line of routes?.stdout.split('\n') ?? []) {
    const cidr = /^(\d+\.\d+\.\d+\.\d+\/\d+)/.exec(line)?.[1];
    if (cidr) subnets.push(cidr);
  }
  return subnets;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

async function choosePort(requested: number | undefined, taken: Set<number>): Promise<number> {
  if (requested !== undefined) {
    if (taken.has(requested) || !(await portFree(requested))) {
      throw new UserError(
        `Port ${requested} on 127.0.0.1 is already in use, so the fleet registry cannot listen there; free it or pass another --registry-port.`,
      );
    }
    return requested;
  }
  for (let port = DEFAULT_REGISTRY_PORT; port < DEFAULT_REGISTRY_PORT + 100; port++) {
    if (!taken.has(port) && (await portFree(port))) return port;
  }
  throw new UserError(
    `No free port from ${DEFAULT_REGISTRY_PORT} to ${DEFAULT_REGISTRY_PORT + 99} on 127.0.0.1 for the fleet registry; pass --registry-port.`,
  );
}

async function portsOfOtherFleets(self: string): Promise<Set<number>> {
  const dir = join(wharfHome(), 'fleets');
  const taken = new Set<number>();
  for (const entry of await readdir(dir).catch(() => [] as string[])) {
    if (entry === self || entry.endsWith('.lock')) continue;
    const state = await loadState(entry).catch(() => undefined);
    if (state) taken.add(state.registryPort);
  }
  return taken;
}

function halfUp(name: string, what: string): UserError {
  return new UserError(
    `Fleet "${name}" is half up (${what}); run \`wharf fleet down --name ${name}\` and then \`wharf fleet up --name ${name}\` again.`,
  );
}

export interface UpOptions {
  name: string;
  servers?: number;
  registryPort?: number;
  registryForward?: boolean;
  log: Log;
}

export interface UpResult {
  fleet: FleetDescription;
  created: string[];
  started: string[];
  seconds: number;
}

export async function fleetUp(options: UpOptions): Promise<UpResult> {
  const t0 = Date.now();
  const name = validateFleetName(options.name);
  const engine = await ensureEngine(options.log);
  const docker = engine.client;
  await mkdir(join(wharfHome(), 'fleets'), { recursive: true, mode: 0o700 });
  return withLocalLock(paths(name).lock, `fleet "${name}"`, async () => {
    const names = fleetNames(name);
    let state = await loadState(name);
    const containers = await fleetContainers(docker, name);
    const networks = await fleetNetworks(docker, name);
    if (state && state.dockerHost !== engine.host && containers.size === 0 && networks.length === 0) {
      // Recorded on another engine and nothing of it here: start afresh on this one.
      state = undefined;
    }
    if (!state && (containers.size > 0 || networks.length > 0)) {
      const found = [...containers.keys(), ...networks].join(', ');
      throw halfUp(name, `${found} exist but its state in ${paths(name).state} is missing`);
    }
    if (state?.complete) {
      if (!networks.includes(state.network)) throw halfUp(name, `network ${state.network} is missing`);
      if (!containers.has(names.registry))
        throw halfUp(name, `registry container ${names.registry} is missing`);
      const missing = state.servers.filter((s) => !containers.has(s.name)).map((s) => s.name);
      if (missing.length > 0) throw halfUp(name, `server container ${missing.join(', ')} is missing`);
    }
    if (!state) {
      const registryPort = await choosePort(options.registryPort, await portsOfOtherFleets(name));
      state = {
        name,
        network: names.network,
        subnet: chooseSubnet(await subnetsInUse(docker)),
        registryPort,
        registryForward: options.registryForward ?? true,
        servers: [],
        createdAt: new Date().toISOString(),
        complete: false,
        dockerHost: engine.host,
      };
    } else if (options.registryPort !== undefined && options.registryPort !== state.registryPort) {
      throw new UserError(
        `Fleet "${name}" already serves its registry on port ${state.registryPort}; --registry-port ${options.registryPort} can only be chosen when the fleet is created.`,
      );
    }
    // The key only once the request is known to be good: a refused `up` leaves no fleet folder behind.
    const key = await ensureKeyPair(paths(name).key, `wharf-fleet-${name}`);
    const want = Math.max(options.servers ?? DEFAULT_SERVER_COUNT, state.servers.length);
    if (options.servers !== undefined && options.servers < state.servers.length) {
      options.log(
        `Fleet "${name}" has ${state.servers.length} servers; --servers ${options.servers} does not shrink it (run \`wharf fleet down\` to start over).`,
      );
    }
    state.servers = planServers(state, want);
    await saveState(state);

    const images = await ensureBaseImages(docker, options.log);
    const created: string[] = [];
    const started: string[] = [];

    if (!networks.includes(state.network)) {
      await docker.ok(networkCreateArgs(state), `Creating network ${state.network}`);
      created.push(state.network);
    }
    const volumes = new Set(await fleetVolumes(docker, name));
    const ensureVolume = async (volume: string) => {
      if (!volumes.has(volume)) await docker.ok(volumeCreateArgs(name, volume), `Creating volume ${volume}`);
    };
    const tasks: Promise<void>[] = [];
    if (!containers.has(names.registry)) {
      tasks.push(
        (async () => {
          await ensureVolume(names.registryVolume);
          const result = await docker.run(registryRunArgs(state, images.server));
          if (result.code !== 0) {
            await docker.run(['rm', '--force', names.registry]);
            if (/address already in use|port is already allocated/i.test(result.stderr)) {
              throw new UserError(
                `Port ${state.registryPort} on 127.0.0.1 is already in use, so registry ${names.registry} cannot start; free it or run \`wharf fleet down --name ${name}\` and pass another --registry-port.`,
              );
            }
            throw new UserError(`Starting registry ${names.registry} failed: ${firstLine(result.stderr)}.`);
          }
          created.push(names.registry);
        })(),
      );
    }
    for (const server of state.servers) {
      const row = containers.get(server.name);
      if (!row) {
        tasks.push(
          (async () => {
            await ensureVolume(names.serverVolume(server.index));
            await docker.ok(
              serverRunArgs(state, server, key.publicKey, images.server),
              `Starting server ${server.name}`,
            );
            created.push(server.name);
          })(),
        );
      }
    }
    for (const [container, row] of containers) {
      if (row.State !== 'running') {
        tasks.push(
          docker
            .ok(['start', container], `Starting stopped container ${container}`)
            .then(() => void started.push(container)),
        );
      }
    }
    await settleAll(tasks);
    const hostKeys = await waitReady(state, key.privateKeyPath, options.log);
    await writeFile(
      paths(name).knownHosts,
      state.servers.map((s) => `${s.address} ${hostKeys.get(s.name)}\n`).join(''),
      { mode: 0o600 },
    );
    await replaceKnownHosts(
      state.servers.map((s) => ({ address: s.address, port: 22, key: hostKeys.get(s.name)! })),
      state.servers.map((s) => s.address),
    );
    state.complete = true;
    await saveState(state);
    return {
      fleet: describe(state, engine, images),
      created,
      started,
      seconds: (Date.now() - t0) / 1000,
    };
  });
}

/** Waits for every task, then throws the first failure (so no task is left running unobserved). */
async function settleAll(tasks: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(tasks);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

function describe(state: FleetState, engine: Engine, images: BaseImageRefs): FleetDescription {
  return describeFleet(state, {
    sshKey: paths(state.name).key,
    knownHosts: paths(state.name).knownHosts,
    dockerHost: engine.host,
    baseImages: images,
  });
}

async function registryAnswers(port: number): Promise<boolean> {
  return (await httpStatus(`http://127.0.0.1:${port}/v2/`)) === 200;
}

/** The command a server must pass to count as ready: its engine answers and the registry is reachable. */
function readinessCommand(state: FleetState): string {
  const engine = "docker info --format '{{.ServerVersion}}'";
  if (!state.registryForward) return engine;
  return `${engine} && curl -sf -o /dev/null http://localhost:${state.registryPort}/v2/`;
}

async function waitReady(
  state: FleetState,
  keyPath: string,
  log: Log,
  timeoutMs = 120_000,
): Promise<Map<string, string>> {
  const privateKey = await readFile(keyPath);
  const deadline = Date.now() + timeoutMs;
  const hostKeys = new Map<string, string>();
  const lastError = new Map<string, string>();
  const command = readinessCommand(state);
  const pending = new Set(state.servers.map((s) => s.name));
  let registryOk = false;
  while (Date.now() < deadline) {
    if (!registryOk) registryOk = await registryAnswers(state.registryPort);
    await Promise.all(
      state.servers
        .filter((s) => pending.has(s.name))
        .map(async (server) => {
          try {
            const result = await sshProbe(
              { host: server.address, port: 22, user: 'root', privateKey },
              command,
              5000,
            );
            if (result.code === 0) {
              hostKeys.set(server.name, result.hostKey);
              pending.delete(server.name);
            } else {
              lastError.set(server.name, firstLine(result.stderr) || `readiness check exited ${result.code}`);
            }
          } catch (error) {
            lastError.set(server.name, (error as Error).message);
          }
        }),
    );
    if (registryOk && pending.size === 0) return hostKeys;
    await new Promise((r) => setTimeout(r, 300));
  }
  if (!registryOk) {
    throw new UserError(
      `Registry ${fleetNames(state.name).registry} did not answer on 127.0.0.1:${state.registryPort} within ${timeoutMs / 1000} s; see \`docker logs ${fleetNames(state.name).registry}\`.`,
    );
  }
  const first = [...pending][0]!;
  throw new UserError(
    `Server ${first} did not become ready within ${timeoutMs / 1000} s (${lastError.get(first) ?? 'no answer'}); see \`docker logs ${first}\`.`,
  );
}

export interface DownResult {
  removed: string[];
  engineStopped: boolean;
}

export async function fleetDown(nameInput: string, log: Log, stopEngine = false): Promise<DownResult> {
  const name = validateFleetName(nameInput);
  const engine = await findEngine();
  const removed: string[] = [];
  await mkdir(join(wharfHome(), 'fleets'), { recursive: true, mode: 0o700 });
  await withLocalLock(paths(name).lock, `fleet "${name}"`, async () => {
    if (engine) {
      const docker = engine.client;
      const containers = [...(await fleetContainers(docker, name)).keys()];
      if (containers.length > 0) {
        await docker.ok(
          ['rm', '--force', '--volumes', ...containers],
          `Removing fleet containers ${containers.join(', ')}`,
        );
        removed.push(...containers);
      }
      for (const network of await fleetNetworks(docker, name)) {
        await docker.ok(['network', 'rm', network], `Removing network ${network}`);
        removed.push(network);
      }
      const volumes = await fleetVolumes(docker, name);
      if (volumes.length > 0) {
        await docker.ok(['volume', 'rm', '--force', ...volumes], `Removing volumes ${volumes.join(', ')}`);
        removed.push(...volumes);
      }
    }
    const state = await loadState(name).catch(() => undefined);
    if (state)
      await replaceKnownHosts(
        [],
        state.servers.map((s) => s.address),
      );
    await rm(paths(name).dir, { recursive: true, force: true });
  });
  let engineStopped = false;
  if (stopEngine && engine?.kind === 'private') {
    const running = (await engine.client.ok(['ps', '--quiet'], 'Listing containers')).trim();
    if (running !== '') {
      throw new UserError(
        `Fleet "${name}" is down, but wharf's own engine still runs other containers, so it was left running; remove them first.`,
      );
    }
    engineStopped = await stopPrivateEngine();
    if (engineStopped) log("Stopped wharf's own Docker engine (its image cache stays).");
  }
  return { removed, engineStopped };
}

export interface ServerStatus {
  name: string;
  address: string;
  container: string;
  sshd: boolean;
  engine: string | null;
  registry: boolean | null;
  error?: string;
}

export interface StatusResult {
  name: string;
  exists: boolean;
  dockerHost: string | null;
  registry: { container: string; state: string; answers: boolean; address: string } | null;
  servers: ServerStatus[];
}

export async function fleetStatus(nameInput: string): Promise<StatusResult> {
  const name = validateFleetName(nameInput);
  const state = await loadState(name);
  const engine = await findEngine();
  if (!engine) {
    return { name, exists: state !== undefined, dockerHost: null, registry: null, servers: [] };
  }
  const containers = await fleetContainers(engine.client, name);
  if (!state) {
    return { name, exists: containers.size > 0, dockerHost: engine.host, registry: null, servers: [] };
  }
  const names = fleetNames(name);
  const privateKey = await readFile(paths(name).key).catch(() => undefined);
  const servers = await Promise.all(
    state.servers.map(async (server: FleetServer): Promise<ServerStatus> => {
      const status: ServerStatus = {
        name: server.name,
        address: server.address,
        container: containers.get(server.name)?.State ?? 'missing',
        sshd: false,
        engine: null,
        registry: null,
      };
      if (status.container !== 'running' || !privateKey) return status;
      try {
        const command = `docker info --format '{{.ServerVersion}}'; ${state.registryForward ? `curl -sf -o /dev/null http://localhost:${state.registryPort}/v2/ && echo registry-ok` : 'true'}`;
        const result = await sshProbe(
          { host: server.address, port: 22, user: 'root', privateKey },
          command,
          5000,
        );
        status.sshd = true;
        const lines = result.stdout.split('\n').map((l) => l.trim());
        status.engine = lines[0] && !lines[0].startsWith('registry-ok') ? lines[0] : null;
        status.registry = state.registryForward ? lines.includes('registry-ok') : null;
        if (!status.engine) status.error = firstLine(result.stderr) || 'docker info failed';
      } catch (error) {
        status.error = (error as Error).message;
      }
      return status;
    }),
  );
  const registryRow = containers.get(names.registry);
  return {
    name,
    exists: true,
    dockerHost: engine.host,
    registry: {
      container: registryRow?.State ?? 'missing',
      state: registryRow?.Status ?? 'missing',
      answers: await registryAnswers(state.registryPort),
      address: `localhost:${state.registryPort}`,
    },
    servers,
  };
}

/** The description of a running fleet (for `fleet up --json` and other commands) without changing it. */
export async function fleetDescription(nameInput: string): Promise<FleetDescription | undefined> {
  const name = validateFleetName(nameInput);
  const state = await loadState(name);
  const engine = await findEngine();
  if (!state || !engine) return undefined;
  const { baseImageRecipes, detectDebianSource, imageRef } = await import('./base-images.js');
  const source = detectDebianSource();
  const recipes = baseImageRecipes();
  return describe(state, engine, {
    debian: imageRef(recipes.debian, source),
    node: imageRef(recipes.node, source),
    server: imageRef(recipes.server, source),
  });
}
