/**
 * Ports published on every interface of a host (a wharf check beyond Kamal).
 *
 * Docker publishes `--publish 5432:5432` on 0.0.0.0 and [::], so an
 * accessory with a bare `port: 5432` (Kamal turns it into `5432:5432`) is open
 * to the whole network unless a firewall in front says otherwise. wharf warns
 * about every such accessory port when the config loads, and refuses the
 * config in strict mode (`--strict`, or `x-wharf: {strict: true}` in the
 * config: Kamal ignores `x-` keys, so the file stays loadable by Kamal).
 *
 * The proxy's own 80/443 are public on purpose in most configs, so they are
 * only checked in strict mode (where a public web port must be spelled out by
 * binding it: `proxy.run.bind_ips`).
 */
import type { Config } from './config.js';
import type { ConfigProblem } from './problems.js';
import { rubyString } from './shell-args.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The extension section wharf reads (Kamal ignores top-level keys starting with `x-`). */
export const WHARF_EXTENSION_KEY = 'x-wharf';

/** Addresses that mean "every interface" to Docker. */
const ALL_INTERFACES = new Set(['', '0.0.0.0', '::', '[::]', '*']);

export interface PortBinding {
  /** The bind address, or undefined when there is none (every interface). */
  address: string | undefined;
  hostPort: string;
  containerPort: string;
}

/**
 * Splits a Docker publish spec: `5432`, `5432:5432`, `127.0.0.1:5432:5432`,
 * `[::1]:5432:5432`, `10.0.0.5::5432` (random host port).
 */
export function parsePublish(spec: string): PortBinding {
  let rest = spec.trim();
  let address: string | undefined;
  const bracket = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracket) {
    address = `[${bracket[1]}]`;
    rest = bracket[2]!;
    const [hostPort = '', containerPort = hostPort] = rest.split(':');
    return { address, hostPort, containerPort };
  }
  const parts = rest.split(':');
  if (parts.length === 1) return { address: undefined, hostPort: parts[0]!, containerPort: parts[0]! };
  if (parts.length === 2) return { address: undefined, hostPort: parts[0]!, containerPort: parts[1]! };
  const containerPort = parts.pop()!;
  const hostPort = parts.pop()!;
  return { address: parts.join(':'), hostPort, containerPort };
}

/** True when Docker would listen on every interface for this publish spec. */
export function bindsAllInterfaces(spec: string): boolean {
  const { address } = parsePublish(spec);
  return address === undefined || ALL_INTERFACES.has(address);
}

/** The same publish spec bound to 127.0.0.1. */
export function safeSpelling(spec: string): string {
  const { hostPort, containerPort } = parsePublish(spec);
  const port = /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/;
  if (!port.test(containerPort) || (hostPort !== '' && !port.test(hostPort)))
    return '127.0.0.1:HOST_PORT:CONTAINER_PORT';
  return `127.0.0.1:${hostPort || containerPort}:${containerPort}`;
}

export interface Exposure {
  /** Key path of the setting, e.g. ['accessories', 'db', 'port']. */
  path: (string | number)[];
  /** What is exposed, e.g. "accessory db". */
  subject: string;
  /** The publish spec as Docker sees it (e.g. "5432:5432"). */
  spec: string;
  /** The sentence for a warning or an error (after the key path unless standalone). */
  message: string;
  standalone?: boolean;
}

/** Publish specs hidden in an accessory's docker `options` (`publish`, `p`). */
function optionPublishes(options: unknown): { key: string; spec: string; index?: number }[] {
  if (!isHash(options)) return [];
  const out: { key: string; spec: string; index?: number }[] = [];
  for (const key of ['publish', 'p']) {
    const value = options[key];
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) value.forEach((v, index) => out.push({ key, spec: rubyString(v), index }));
    else out.push({ key, spec: rubyString(value) });
  }
  return out;
}

/** Every accessory port (and option publish) that binds all interfaces. */
export function accessoryExposures(config: Config): Exposure[] {
  const out: Exposure[] = [];
  for (const accessory of config.accessories) {
    const port = accessory.port;
    if (port !== undefined && bindsAllInterfaces(port)) {
      const given = rubyString(accessory.raw.port);
      out.push({
        path: ['accessories', accessory.name, 'port'],
        subject: `accessory ${accessory.name}`,
        spec: port,
        message: `is "${given}", which publishes port ${parsePublish(port).hostPort} of accessory ${accessory.name} on every interface (0.0.0.0); bind it to one address, e.g. port: "${safeSpelling(port)}" (or a private address), or drop port and reach it over the docker network`,
      });
    }
    for (const { key, spec, index } of optionPublishes(accessory.raw.options)) {
      if (!bindsAllInterfaces(spec)) continue;
      const path = ['accessories', accessory.name, 'options', key, ...(index !== undefined ? [index] : [])];
      out.push({
        path,
        subject: `accessory ${accessory.name}`,
        spec,
        message: `is "${spec}", which publishes port ${parsePublish(spec).hostPort} of accessory ${accessory.name} on every interface (0.0.0.0); bind it to one address, e.g. "${safeSpelling(spec)}"`,
      });
    }
  }
  return out;
}

/** The proxy's publishes on all interfaces (from proxy.run of each role and accessory, or Kamal's default 80/443). */
export function proxyExposures(config: Config): Exposure[] {
  if (config.proxyHosts.length === 0) return [];
  const out: Exposure[] = [];
  const seen = new Set<string>();
  for (const host of config.proxyHosts) {
    const run = config.proxyRun(host);
    if (run && !run.publish) continue;
    const ips = run?.bindIps;
    const open = ips === undefined ? [undefined] : ips.filter((ip) => ALL_INTERFACES.has(ip));
    if (open.length === 0) continue;
    const http = run?.httpPort ?? 80;
    const https = run?.httpsPort ?? 443;
    const key = `${http}/${https}/${open.join(',')}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({
      path: run ? ['proxy', 'run'] : ['proxy'],
      subject: 'the proxy',
      spec: `${http}:${http}`,
      message: `the proxy publishes ports ${http} and ${https} on every interface (0.0.0.0) of ${host}; bind it to one address with proxy.run.bind_ips: ["127.0.0.1"] (or a private address), or set proxy.run.publish: false`,
      standalone: true,
    });
  }
  return out;
}

/**
 * Proxied accessories whose proxy service name is also a proxied role's
 * (`<service>-<role>[-<destination>]`, e.g. an accessory named `web`): on a
 * shared host one route would replace the other. Kamal does not check this.
 */
export function proxyNameClashes(config: Config): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  for (const accessory of config.proxyAccessories) {
    for (const role of config.proxyRoles) {
      if (role.containerPrefix() !== accessory.serviceName) continue;
      if (!role.hosts.some((h) => accessory.hosts.includes(h))) continue;
      out.push({
        path: ['accessories', accessory.name],
        message: `is served by the proxy as ${accessory.serviceName}, the name the ${role.name} role's route has on the same hosts, so one would replace the other; give the accessory another name or set accessories.${accessory.name}.service`,
      });
    }
  }
  return out;
}

/** `x-wharf.strict` from the config, and a problem when it is not a boolean. */
export function strictFromConfig(raw: Hash): { strict: boolean; problem?: ConfigProblem } {
  const ext = raw[WHARF_EXTENSION_KEY];
  if (ext === undefined || ext === null) return { strict: false };
  if (!isHash(ext))
    return {
      strict: false,
      problem: { path: [WHARF_EXTENSION_KEY], message: 'should be a hash (e.g. `x-wharf: {strict: true}`)' },
    };
  const value = ext.strict;
  if (value === undefined) return { strict: false };
  if (typeof value !== 'boolean')
    return {
      strict: false,
      problem: { path: [WHARF_EXTENSION_KEY, 'strict'], message: 'should be a boolean (true or false)' },
    };
  return { strict: value };
}

/**
 * The exposure checks of one loaded config: warnings (accessories, always;
 * proxy name clashes) and, in strict mode, errors (accessories and the proxy).
 */
export function checkExposure(
  config: Config,
  strict: boolean,
): { warnings: ConfigProblem[]; errors: ConfigProblem[] } {
  const accessories = accessoryExposures(config);
  const clashes = proxyNameClashes(config);
  if (!strict) {
    return {
      warnings: [
        ...accessories.map((e) => ({ path: e.path, message: e.message, standalone: e.standalone })),
        ...clashes,
      ],
      errors: [],
    };
  }
  const all = [...accessories, ...proxyExposures(config)];
  return {
    warnings: clashes,
    errors: all.map((e) => ({
      path: e.path,
      message: `${e.message} (refused in strict mode: --strict or x-wharf.strict)`,
      standalone: e.standalone,
    })),
  };
}
