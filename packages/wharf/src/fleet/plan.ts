/**
 * Pure planning for the local fleet: names, addresses and the exact docker
 * argv for each piece. No I/O here, so all of it is unit-tested.
 */
import { UserError } from '../util/errors.js';

export const FLEET_LABEL = 'wharf.fleet';
export const DEFAULT_FLEET_NAME = 'wharf';
export const DEFAULT_SERVER_COUNT = 2;
export const DEFAULT_REGISTRY_PORT = 5555;
export const MAX_SERVERS = 200;

/** Every capability except SYS_RESOURCE (missing from this kind of machine's bounding set, so --privileged fails). */
export const SERVER_CAPABILITIES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
] as const;

export interface FleetServer {
  name: string;
  index: number;
  address: string;
}

/** What `fleet up` records about a fleet; the source of its stable names and addresses. */
export interface FleetState {
  name: string;
  network: string;
  subnet: string;
  registryPort: number;
  registryForward: boolean;
  servers: FleetServer[];
  createdAt: string;
}

export function validateFleetName(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(name)) {
    throw new UserError(
      `Fleet name "${name}" is not valid; use 1-31 lowercase letters, digits and dashes, starting with a letter or digit.`,
    );
  }
  return name;
}

export function fleetNames(name: string) {
  return {
    network: `${name}-net`,
    registry: `${name}-registry`,
    registryVolume: `${name}-registry-data`,
    server: (index: number) => `${name}-vm${index}`,
    serverVolume: (index: number) => `${name}-vm${index}-docker`,
  };
}

// ---- addresses -------------------------------------------------------------

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseCidr(cidr: string): { base: number; size: number } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) return undefined;
  const bits = Number(m[2]);
  if (bits < 0 || bits > 32) return undefined;
  const size = 2 ** (32 - bits);
  const base = Math.floor(ipToInt(m[1]!) / size) * size;
  return { base, size };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  if (!x || !y) return false;
  return x.base < y.base + y.size && y.base < x.base + x.size;
}

/** The first /24 in 172.30.0.0/16 (then 10.213.0.0/16) that overlaps no network in use. */
export function chooseSubnet(inUse: readonly string[]): string {
  const candidates: string[] = [];
  for (let k = 0; k < 256; k++) candidates.push(`172.30.${k}.0/24`);
  for (let k = 0; k < 256; k++) candidates.push(`10.213.${k}.0/24`);
  const free = candidates.find((c) => !inUse.some((used) => cidrsOverlap(c, used)));
  if (!free)
    throw new UserError(
      'No free private subnet for the fleet network; remove unused Docker networks and run again.',
    );
  return free;
}

/** .1 is the gateway, .2 the registry, servers from .11. */
export function registryAddress(subnet: string): string {
  return intToIp(parseCidr(subnet)!.base + 2);
}

export function serverAddress(subnet: string, index: number): string {
  return intToIp(parseCidr(subnet)!.base + 10 + index);
}

export function planServers(
  state: Pick<FleetState, 'name' | 'subnet' | 'servers'>,
  count: number,
): FleetServer[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SERVERS) {
    throw new UserError(`--servers must be a whole number from 1 to ${MAX_SERVERS}; got ${count}.`);
  }
  const names = fleetNames(state.name);
  const servers = [...state.servers];
  for (let index = servers.length + 1; index <= count; index++) {
    servers.push({ name: names.server(index), index, address: serverAddress(state.subnet, index) });
  }
  return servers;
}

// ---- docker argv -----------------------------------------------------------

export function networkCreateArgs(state: FleetState): string[] {
  return [
    'network',
    'create',
    '--driver',
    'bridge',
    '--subnet',
    state.subnet,
    '--label',
    `${FLEET_LABEL}=${state.name}`,
    state.network,
  ];
}

export function volumeCreateArgs(fleet: string, volume: string): string[] {
  return ['volume', 'create', '--label', `${FLEET_LABEL}=${fleet}`, volume];
}

export function registryRunArgs(state: FleetState, serverImage: string): string[] {
  const names = fleetNames(state.name);
  return [
    'run',
    '--detach',
    '--name',
    names.registry,
    '--hostname',
    names.registry,
    '--network',
    state.network,
    '--ip',
    registryAddress(state.subnet),
    '--restart',
    'unless-stopped',
    '--init',
    '--label',
    `${FLEET_LABEL}=${state.name}`,
    '--label',
    `${FLEET_LABEL}.role=registry`,
    // Loopback only: the registry has no auth, so it must not be reachable from other machines.
    '--publish',
    `127.0.0.1:${state.registryPort}:5000`,
    '--volume',
    `${names.registryVolume}:/var/lib/docker-registry`,
    serverImage,
    'docker-registry',
    'serve',
    '/etc/wharf/registry.yml',
  ];
}

export function serverRunArgs(
  state: FleetState,
  server: FleetServer,
  publicKey: string,
  serverImage: string,
): string[] {
  const names = fleetNames(state.name);
  const registryInside = `${names.registry}:5000`;
  const dockerdArgs = `--insecure-registry ${registryInside} --insecure-registry ${registryAddress(state.subnet)}:5000`;
  return [
    'run',
    '--detach',
    '--name',
    server.name,
    '--hostname',
    server.name,
    '--network',
    state.network,
    '--ip',
    server.address,
    '--restart',
    'unless-stopped',
    '--init',
    '--label',
    `${FLEET_LABEL}=${state.name}`,
    '--label',
    `${FLEET_LABEL}.role=server`,
    '--label',
    `${FLEET_LABEL}.server=${server.index}`,
    ...SERVER_CAPABILITIES.flatMap((cap) => ['--cap-add', cap]),
    '--security-opt',
    'seccomp=unconfined',
    '--security-opt',
    'apparmor=unconfined',
    '--device-cgroup-rule',
    'a *:* rwm',
    '--volume',
    '/sys/fs/cgroup:/sys/fs/cgroup:rw',
    '--tmpfs',
    '/run',
    '--tmpfs',
    '/tmp',
    '--volume',
    `${names.serverVolume(server.index)}:/var/lib/docker`,
    '--env',
    `WHARF_AUTHORIZED_KEY=${publicKey}`,
    '--env',
    `WHARF_DOCKERD_ARGS=${dockerdArgs}`,
    ...(state.registryForward
      ? ['--env', `WHARF_REGISTRY_FORWARD=${state.registryPort}=${registryInside}`]
      : []),
    serverImage,
  ];
}

/** The JSON `wharf fleet up --json` prints: everything a deploy config or a test needs. */
export interface FleetDescription {
  name: string;
  registry: string;
  registry_internal: string;
  ssh_key: string;
  known_hosts: string;
  docker_host: string;
  network: string;
  subnet: string;
  servers: { name: string; address: string; port: number; user: string }[];
  base_images: { debian: string; node: string; server: string };
}

export function describeFleet(
  state: FleetState,
  extra: {
    sshKey: string;
    knownHosts: string;
    dockerHost: string;
    baseImages: FleetDescription['base_images'];
  },
): FleetDescription {
  return {
    name: state.name,
    registry: `localhost:${state.registryPort}`,
    registry_internal: `${fleetNames(state.name).registry}:5000`,
    ssh_key: extra.sshKey,
    known_hosts: extra.knownHosts,
    docker_host: extra.dockerHost,
    network: state.network,
    subnet: state.subnet,
    servers: state.servers.map((s) => ({ name: s.name, address: s.address, port: 22, user: 'root' })),
    base_images: extra.baseImages,
  };
}
