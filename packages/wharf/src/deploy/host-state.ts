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

/** What the state read learns about the proxy container (see stateAndProxyScript). */
export interface ProxyProbeTarget {
  /** The proxy container's name on the host (`kamal-proxy`). */
  containerName: string;
  /** Kamal's boot-config image file (`.kamal/proxy/image`), reported as `bootimage=yes` when present. */
  imageFile: string;
}

/**
 * One `docker inspect` for every object a template can tell apart: the
 * service's containers and the new version's names print `container=…`
 * lines, the proxy container (by name) an `inspect=<running> <image>` line,
 * the `latest` image (an image: no State) a `latest=<id>` line. The docker CLI
 * runs a template on the raw JSON when the typed object lacks what it uses,
 * so `index . "State"` tells containers from images.
 */
function combinedFormat(proxyName: string | undefined): string {
  const containerLine = CONTAINER_FORMAT;
  const inner = proxyName
    ? `{{if eq .Name "/${proxyName}"}}inspect={{.State.Running}} {{.Config.Image}}{{else}}${containerLine}{{end}}`
    : containerLine;
  return `{{if index . "State"}}${inner}{{else}}latest={{.Id}}{{end}}`;
}

/**
 * The state read with the proxy probe in two docker runs on the host (`docker
 * ps` for the service's containers, then one `docker inspect` for those, the
 * new version's names, the proxy container and the `latest` image, in that
 * order); when the proxy is not running, `docker network create kamal` as
 * Kamal's proxy boot would, and `bootimage=yes` when the boot-config image
 * file exists. Without app roles on the host, only the proxy probe.
 */
export function stateAndProxyScript(
  config: Config,
  newNames: readonly string[],
  proxy: ProxyProbeTarget | undefined,
): string {
  if (newNames.length === 0 && proxy) return proxyProbe(proxy.containerName, proxy.imageFile);
  if (newNames.length === 0) return 'true';
  const ids = `$(docker ps --all --quiet --filter label=service=${config.service})`;
  const names = [ids, ...newNames, ...(proxy ? [proxy.containerName] : []), config.latestImage];
  const inspect = `docker inspect --format ${singleQuoted(combinedFormat(proxy?.containerName))} ${names.join(' ')} 2>/dev/null`;
  if (!proxy) return `${inspect}; true`;
  return [
    `wharf_state=$(${inspect})`,
    'printf \'%s\\n\' "$wharf_state"',
    `case "$wharf_state" in *"inspect=true "*) ;; *) docker network create kamal >/dev/null 2>&1 ;; esac`,
    `if [ -e ${proxy.imageFile} ]; then echo bootimage=yes; fi`,
    'true',
  ].join('; ');
}

/**
 * The proxy probe alone, one round trip: the proxy container's state and
 * image, whether the host has a boot-config image file, and the `kamal`
 * network created when the proxy is not running (as Kamal's proxy boot does).
 */
export function proxyProbe(containerName: string, imageFile: string): string {
  return [
    `state=$(docker inspect --format '{{.State.Running}} {{.Config.Image}}' ${containerName} 2>/dev/null)`,
    `case "$state" in "true "*) ;; *) docker network create kamal >/dev/null 2>&1 ;; esac`,
    `echo "inspect=$state"`,
    `if [ -e ${imageFile} ]; then echo bootimage=yes; fi`,
  ].join('; ');
}

/** Reads the script's output (other lines, such as the proxy probe's, are ignored). */
export function parseHostState(stdout: string): HostState {
  // The last `latest=` line: the image is the last object inspected.
  const latestLines = [...stdout.matchAll(/^latest=(.*)$/gm)];
  const latestImageId = latestLines.at(-1)?.[1]?.trim() ?? '';
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

/** The role's listed (running, restarting, paused) containers, newest first: the ones that can be stale. */
export function listedContainers(state: HostState, config: Config, role: Role): ContainerInfo[] {
  return newestFirst(roleContainers(state, config, role).filter((c) => LISTED_STATES.includes(c.state)));
}

/**
 * What a proxied role's boot stops once the new version serves: every listed
 * container of the role, the old version and any other. The stale-container
 * phase leaves a proxied role's containers alone, since one of them may be
 * the target of a proxy deploy that an interrupted wharf left in flight
 * (wharf-proxy may still switch to it); after this boot's own swap, which
 * the proxy runs after any deploy in flight, none of them serves. A
 * container with the new version's name goes by the name it was renamed to.
 */
export function replacedContainers(
  state: HostState,
  config: Config,
  role: Role,
  clash?: { name: string; renamed: string },
): string[] {
  return listedContainers(state, config, role).map((c) =>
    clash && c.name === clash.name ? clash.renamed : c.name,
  );
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
