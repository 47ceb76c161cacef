/**
 * One picture of a host's app containers, read in one round trip at the start
 * of a deploy (with the proxy probe) and reused for every decision Kamal makes
 * with a query of its own: each role's current version (Kamal's
 * current_running_version), the stale containers, and whether a container of
 * the new version is already there (to rename it). Kamal asks these per role
 * and per step (about 17 docker runs per host for two roles); here they are
 * three docker runs per host, and the rules run in TypeScript on the answer.
 */
import type { Config, Role } from '../config/index.js';
import { singleQuoted } from '../commands/base.js';
import { ACTIVE_DOCKER_STATUSES } from '../commands/app.js';

export interface ContainerInfo {
  id: string;
  name: string;
  /** The image id the container runs (sha256:…). */
  image: string;
  state: string;
  created: string;
  labels: Record<string, string>;
}

export interface HostState {
  /** Full id of the `latest` image (the ancestor in Kamal's current-version rule), '' when there is none. */
  latestImageId: string;
  containers: ContainerInfo[];
}

/** States `docker ps` without --all lists: the containers that can be stale. */
const LISTED_STATES = ['running', 'restarting', 'paused'];

const CONTAINER_FORMAT =
  'container={{.Id}} {{.Name}} {{.Image}} {{.State.Status}} {{.Created}} {{json .Config.Labels}}';

/**
 * The shell text reading the state: the `latest` image's id, then every
 * container labelled with the service plus those named like the new version
 * (a container with that name clashes whatever its labels), inspected at once.
 */
export function hostStateScript(config: Config, newNames: readonly string[]): string {
  return [latestImageCommand(config), containersCommand(config, newNames), 'true'].join('; ');
}

function latestImageCommand(config: Config): string {
  return `echo "latest=$(docker image inspect --format '{{.Id}}' ${config.latestImage} 2>/dev/null)"`;
}

function containersCommand(config: Config, newNames: readonly string[]): string {
  const ids = `$(docker ps --all --quiet --filter label=service=${config.service})`;
  return `docker inspect --type container --format ${singleQuoted(CONTAINER_FORMAT)} ${ids} ${newNames.join(' ')} 2>/dev/null`;
}

/**
 * The same read with the proxy probe, its independent parts run at once (the
 * probe and the image lookup in the background, their output kept in a
 * temporary directory and printed after the containers'): on the critical
 * path two docker runs instead of four.
 */
export function hostStateWithProbeScript(
  config: Config,
  newNames: readonly string[],
  probe: string | undefined,
): string {
  if (newNames.length === 0) return probe ?? 'true';
  const background = [...(probe ? [probe] : []), latestImageCommand(config)];
  return [
    'wharf_state=$(mktemp -d 2>/dev/null) || { wharf_state=.kamal/wharf-state-$$; mkdir -p "$wharf_state"; }',
    [
      ...background.map((part, i) => `( ${part} ) > "$wharf_state/${i}" 2>/dev/null`),
      containersCommand(config, newNames),
    ].join(' & '),
    'wait',
    ...background.map((_, i) => `cat "$wharf_state/${i}"`),
    'rm -rf "$wharf_state"',
    'true',
  ].join('; ');
}

/** Reads the script's output (other lines, such as the proxy probe's, are ignored). */
export function parseHostState(stdout: string): HostState {
  const latestImageId = /^latest=(.*)$/m.exec(stdout)?.[1]?.trim() ?? '';
  const seen = new Set<string>();
  const containers: ContainerInfo[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^container=(\S+) \/?(\S+) (\S+) (\S+) (\S+) (.*)$/.exec(line.trim());
    if (!m || seen.has(m[1]!)) continue;
    seen.add(m[1]!);
    let labels: Record<string, string> = {};
    try {
      const parsed = JSON.parse(m[6]!) as unknown;
      if (parsed && typeof parsed === 'object') labels = parsed as Record<string, string>;
    } catch {
      labels = {};
    }
    containers.push({ id: m[1]!, name: m[2]!, image: m[3]!, state: m[4]!, created: m[5]!, labels });
  }
  return { latestImageId, containers };
}

/** The role's containers as Kamal's filters find them: service, destination ('' without one) and role labels. */
export function roleContainers(state: HostState, config: Config, role: Role): ContainerInfo[] {
  const destination = config.destination ?? '';
  return state.containers.filter(
    (c) =>
      c.labels.service === config.service &&
      c.labels.destination === destination &&
      c.labels.role === role.name,
  );
}

/**
 * A sortable key for Docker's RFC 3339 creation time, whose fraction Go trims
 * of trailing zeros (`…:21.1234Z` is earlier than `…:21.12345Z`): the
 * fraction padded to nanoseconds.
 */
export function createdKey(created: string): string {
  const m = /^(.*?T\d\d:\d\d:\d\d)(?:\.(\d+))?(.*)$/.exec(created);
  if (!m) return created;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}${m[3]}`;
}

/** Newest first, as `docker ps` lists them. */
function newestFirst(containers: ContainerInfo[]): ContainerInfo[] {
  const key = new Map(containers.map((c) => [c, createdKey(c.created)]));
  return [...containers].sort((a, b) => {
    const ka = key.get(a)!;
    const kb = key.get(b)!;
    return ka < kb ? 1 : ka > kb ? -1 : 0;
  });
}

/** `<prefix>-<version>` → version (a name without the prefix stays whole, as Kamal's `${line#…}` leaves it). */
function versionOf(name: string, prefix: string): string {
  return name.startsWith(`${prefix}-`) ? name.slice(prefix.length + 1) : name;
}

/**
 * Kamal's current_running_version: among the role's running or restarting
 * containers, the newest one running the `latest` image, else the newest one;
 * undefined when none runs.
 */
export function currentVersion(state: HostState, config: Config, role: Role): string | undefined {
  const active = newestFirst(
    roleContainers(state, config, role).filter((c) =>
      (ACTIVE_DOCKER_STATUSES as readonly string[]).includes(c.state),
    ),
  );
  const latest = state.latestImageId ? active.find((c) => c.image === state.latestImageId) : undefined;
  const current = latest ?? active[0];
  return current ? versionOf(current.name, role.containerPrefix()) : undefined;
}

/** The role's listed (running, restarting, paused) containers as `<id> <name>` lines, for staleContainers. */
export function listedContainers(state: HostState, config: Config, role: Role): string {
  return roleContainers(state, config, role)
    .filter((c) => LISTED_STATES.includes(c.state))
    .map((c) => `${c.id} ${c.name}`)
    .join('\n');
}

/** The container with exactly this name, whatever its labels. */
export function containerNamed(state: HostState, name: string): ContainerInfo | undefined {
  return state.containers.find((c) => c.name === name);
}

/** The picture after wharf stopped these containers (by name). */
export function withStopped(state: HostState, names: readonly string[]): HostState {
  return {
    ...state,
    containers: state.containers.map((c) => (names.includes(c.name) ? { ...c, state: 'exited' } : c)),
  };
}
