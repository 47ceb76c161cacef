/**
 * Checks that span keys (Kamal's ensure_* checks and the special validators):
 * required keys, roles and hosts, SSL rules, placement of accessories, proxy
 * run conflicts, builder rules, aliases. Each returns problems instead of
 * stopping at the first, so a run reports everything at once.
 */
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { KAMAL_COMPATIBLE_VERSION, type Config } from './config.js';
import { suggestKey, type ConfigProblem, type KeyPath } from './problems.js';
import { present, rubyString } from './shell-args.js';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Built-in commands an alias may not shadow. */
export const BUILT_IN_COMMANDS = [
  'accessory',
  'app',
  'audit',
  'build',
  'config',
  'deploy',
  'details',
  'docs',
  'help',
  'init',
  'lock',
  'proxy',
  'prune',
  'redeploy',
  'registry',
  'remove',
  'rollback',
  'secrets',
  'server',
  'setup',
  'upgrade',
  'version',
];

const RESERVED_LABELS = ['destination', 'role', 'service'];
const RESTART_POLICY = /^(?:no|always|unless-stopped|on-failure(?::\d+)?)$/;

export interface SemanticResult {
  errors: ConfigProblem[];
  warnings: ConfigProblem[];
}

/** Gem::Version-like comparison: numeric segments numerically, a letter segment marks a pre-release. */
export function compareVersions(a: string, b: string): number {
  const seg = (v: string) =>
    v
      .trim()
      .replace(/^v/, '')
      .split(/[.-]|(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)/i)
      .filter((s) => s !== '');
  const sa = seg(a);
  const sb = seg(b);
  // Trailing zeros do not matter (1.0 == 1).
  while (sa.length > 1 && sa[sa.length - 1] === '0') sa.pop();
  while (sb.length > 1 && sb[sb.length - 1] === '0') sb.pop();
  for (let i = 0; i < Math.max(sa.length, sb.length); i++) {
    const x = sa[i];
    const y = sb[i];
    if (x === undefined) return y !== undefined && /^\d+$/.test(y) ? -1 : 1;
    if (y === undefined) return /^\d+$/.test(x) ? 1 : -1;
    const xn = /^\d+$/.test(x);
    const yn = /^\d+$/.test(y);
    if (xn && yn) {
      const d = Number(x) - Number(y);
      if (d !== 0) return Math.sign(d);
    } else if (xn !== yn) return xn ? 1 : -1;
    else if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

export function checkSemantics(config: Config, opts: { checkHooks?: boolean } = {}): SemanticResult {
  const errors: ConfigProblem[] = [];
  const warnings: ConfigProblem[] = [];
  const err = (path: KeyPath, message: string, standalone = false) =>
    errors.push({ path, message, standalone });
  const warn = (path: KeyPath, message: string, standalone = false) =>
    warnings.push({ path, message, standalone });
  const raw = config.raw as Hash;
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (error) {
      if (!(error instanceof Error) || error.name === 'UserError') throw error;
      // A check tripping over a value that already failed the shape check: that problem is reported already.
    }
  };

  guard(() => {
    if (config.requireDestination && config.destination === undefined) {
      err(['require_destination'], 'is true, so a destination is required: run again with -d DESTINATION');
    }
  });

  guard(() => {
    if (present(raw.service) && typeof raw.service !== 'string') {
      err(
        ['service'],
        `should be a name of letters, digits, hyphens and underscores, not ${JSON.stringify(raw.service)}`,
      );
      return;
    }
    if (!present(raw.service))
      err(['service'], 'is required: the name that prefixes every container, e.g. `service: myapp`');
    else if (!/^[a-z0-9_-]+$/i.test(rubyString(raw.service)))
      err(
        ['service'],
        `may only contain letters, digits, hyphens and underscores, not ${JSON.stringify(rubyString(raw.service))}`,
      );
  });

  guard(() => checkRegistry(raw.registry, ['registry'], err, true));

  guard(() => {
    if (!present(raw.image) && !config.registry.local)
      err(['image'], 'is required: the image name to push, e.g. `image: myorg/myapp`');
  });

  guard(() => {
    if (raw.servers === undefined) {
      if (!present(raw.accessories))
        err(['servers'], 'is required (or at least one accessory): list the hosts to deploy to');
      return;
    }
    if (!Array.isArray(raw.servers) && !isHash(raw.servers)) return;
    const primary = config.primaryRole;
    if (!primary) {
      err(
        raw.primary_role === undefined ? ['servers'] : ['primary_role'],
        raw.primary_role === undefined
          ? `has no \`web\` role, which is the primary role by default; add a web role or set primary_role to one of ${config.roleNames.join(', ')}`
          : `names the role ${JSON.stringify(config.primaryRoleName)}, which is not defined under servers${didYouMean(config.primaryRoleName, config.roleNames)}`,
      );
      return;
    }
    if (primary.hosts.length === 0)
      err(
        Array.isArray(raw.servers) ? ['servers'] : ['servers', primary.name],
        `lists no hosts, but ${primary.name} is the primary role and needs at least one`,
      );
    if (!config.allowEmptyRoles) {
      for (const role of config.roles) {
        if (role !== primary && role.hosts.length === 0) {
          err(['servers', role.name], 'lists no hosts; add hosts or set `allow_empty_roles: true`');
        }
      }
    }
  });

  guard(() => {
    // Kamal splits proxy.host on commas: a number or boolean there fails at deploy.
    const proxies: [KeyPath, unknown][] = [[['proxy'], raw.proxy]];
    for (const role of config.roles)
      proxies.push([['servers', role.name, 'proxy'], role.specializations.proxy]);
    for (const a of config.accessories) proxies.push([['accessories', a.name, 'proxy'], a.raw.proxy]);
    for (const [base, p] of proxies) {
      if (isHash(p) && p.host !== undefined && p.host !== null && typeof p.host !== 'string') {
        err(
          [...base, 'host'],
          `should be a host name (or several, comma-separated), not ${JSON.stringify(p.host)}`,
        );
      }
    }
  });

  guard(() => {
    // Gem::Version's format; Kamal fails on anything else.
    const v = raw.minimum_version;
    if (
      v !== undefined &&
      v !== null &&
      !/^\s*([0-9]+(\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*$/.test(rubyString(v))
    ) {
      err(
        ['minimum_version'],
        `is ${JSON.stringify(rubyString(v))}, which is not a version number like 2.5.0`,
      );
    }
  });

  guard(() => {
    // Kamal reads the registry server as a string (it fails on numbers and booleans).
    const regs: [KeyPath, unknown][] = [[['registry'], raw.registry]];
    for (const a of config.accessories)
      if (present(a.raw.registry)) regs.push([['accessories', a.name, 'registry'], a.raw.registry]);
    for (const [base, reg] of regs) {
      if (isHash(reg) && reg.server !== undefined && reg.server !== null && typeof reg.server !== 'string') {
        err([...base, 'server'], `should be a registry host name, not ${JSON.stringify(reg.server)}`);
      }
    }
    // Tags used for placement are names.
    for (const a of config.accessories) {
      const tags = 'tag' in a.raw ? [a.raw.tag] : Array.isArray(a.raw.tags) ? a.raw.tags : [];
      tags.forEach((t) => {
        if (typeof t !== 'string' && t !== undefined)
          err(
            ['accessories', a.name, 'tag' in a.raw ? 'tag' : 'tags'],
            `should name a tag, not ${JSON.stringify(t)}`,
          );
      });
    }
  });

  guard(() => {
    const min = config.minimumVersion;
    if (min !== undefined && compareVersions(min, KAMAL_COMPATIBLE_VERSION) > 0) {
      err(
        ['minimum_version'],
        `is ${min}, but wharf implements Kamal ${KAMAL_COMPATIBLE_VERSION}; lower minimum_version or upgrade wharf`,
      );
    }
  });

  guard(() => {
    if (typeof raw.retain_containers === 'number' && raw.retain_containers < 1)
      err(['retain_containers'], `must be at least 1, not ${raw.retain_containers}`);
  });

  if (opts.checkHooks !== false) {
    guard(() => {
      const found = ['pre-traefik-reboot', 'post-traefik-reboot'].filter((h) =>
        existsSync(resolve(config.cwd, config.hooksPath, h)),
      );
      if (found.length > 0) {
        err(
          ['hooks_path'],
          `${config.hooksPath} contains ${found.join(', ')}; rename ${found.length > 1 ? 'them' : 'it'} to pre-proxy-reboot / post-proxy-reboot`,
          true,
        );
      }
    });
  }

  guard(() => {
    const h = raw.hooks_output;
    const check = (v: unknown, path: KeyPath, hook?: string) => {
      const s = rubyString(v).replace(/^:/, '');
      if (s !== 'quiet' && s !== 'verbose')
        err(path, `is ${JSON.stringify(s)}${hook ? ` for hook ${hook}` : ''}; use quiet or verbose`);
    };
    if (isHash(h)) for (const [hook, v] of Object.entries(h)) check(v, ['hooks_output', hook], hook);
    else if (h !== undefined && h !== null) check(h, ['hooks_output']);
  });

  // Builder
  guard(() => {
    const b = isHash(raw.builder) ? raw.builder : raw.builder === undefined ? {} : undefined;
    if (!b) return;
    if (!present(b.arch))
      err(
        raw.builder === undefined ? ['builder'] : ['builder', 'arch'],
        raw.builder === undefined
          ? 'is required with at least `arch: amd64` (or arm64, or a list)'
          : 'is required: amd64, arm64 or a list of them',
      );
    if (isHash(b.cache) && truthy(b.cache.type) && !['gha', 'registry'].includes(rubyString(b.cache.type))) {
      err(
        ['builder', 'cache', 'type'],
        `is ${JSON.stringify(rubyString(b.cache.type))}; use gha or registry`,
      );
    }
    if (b.pack !== undefined && Array.isArray(b.arch) && b.arch.length > 1)
      err(['builder', 'pack'], 'builds for one arch only, but builder.arch lists several');
    if (b.local === false && !present(b.remote))
      err(['builder', 'local'], 'is false but no builder.remote is set to build on');
    if (config.registry.local && config.builder.isRemote) {
      let ok = false;
      try {
        ok = new URL(config.builder.remote ?? '').protocol === 'ssh:';
      } catch {
        ok = false;
      }
      if (!ok)
        err(['builder', 'remote'], 'must be an SSH URL (e.g. ssh://user@host) when the registry is local');
    }
    if (config.builder.dockerDriver) {
      if (b.remote !== undefined) warn(['builder', 'driver'], 'is docker, which cannot use builder.remote');
      if (b.cache !== undefined) warn(['builder', 'driver'], 'is docker, which cannot use builder.cache');
    }
  });

  // Proxy (root), roles, accessories
  guard(() => {
    if (isHash(raw.proxy)) checkProxy(raw.proxy, ['proxy'], err, warn);
  });

  const servers = raw.servers;
  for (const role of config.roles) {
    guard(() => {
      const base: KeyPath = ['servers', role.name];
      const spec = role.specializations;
      checkLabels(spec.labels, [...base, 'labels'], err);
      checkRestart(spec.options, [...base, 'options', 'restart'], err);
      if (isHash(spec.proxy)) checkProxy(spec.proxy, [...base, 'proxy'], err, warn);
      const merged = role.proxy;
      if (merged && isHash(spec.proxy)) {
        if (
          'host' in merged.raw &&
          'hosts' in merged.raw &&
          !('host' in spec.proxy && 'hosts' in spec.proxy) &&
          isHash(raw.proxy) &&
          !('host' in raw.proxy && 'hosts' in raw.proxy)
        ) {
          err(
            [...base, 'proxy'],
            'sets host/hosts while the root proxy sets the other; with the root proxy merged in, the role has both host and hosts, so use the same key in both places',
            false,
          );
        }
      }
      if (merged && merged.ssl && role.hosts.length > 1 && !merged.customSslCertificate) {
        err(
          isHash(spec.proxy) ? [...base, 'proxy', 'ssl'] : ['proxy', 'ssl'],
          `is on for role ${role.name}, which has ${role.hosts.length} hosts; automatic SSL works on a single server only, so provide certificate_pem/private_key_pem or use one host`,
        );
      }
    });
  }
  void servers;

  guard(() => {
    const seen = new Map<string, string>();
    const dups = new Set<string>();
    for (const role of config.roles) {
      if (!role.ssl) continue;
      for (const h of role.proxy!.hosts) {
        if (seen.has(h) && seen.get(h) !== role.name) dups.add(h);
        seen.set(h, role.name);
      }
    }
    if (dups.size > 0)
      err(
        ['servers'],
        `different roles share the SSL host${dups.size > 1 ? 's' : ''} ${[...dups].join(', ')}; each SSL host must belong to one role`,
        true,
      );
  });

  const roleNames = config.roleNames;
  for (const acc of config.accessories) {
    guard(() => {
      const base: KeyPath = ['accessories', acc.name];
      const a = acc.raw;
      if (!isHash((raw.accessories as Hash)[acc.name])) return;
      const placement = ['host', 'hosts', 'role', 'roles', 'tag', 'tags'].filter((k) => k in a);
      if (placement.length !== 1) {
        err(
          base,
          placement.length === 0
            ? 'needs a placement: set one of host, hosts, role, roles, tag or tags'
            : `sets ${placement.join(' and ')}; set exactly one of host, hosts, role, roles, tag or tags`,
        );
      }
      checkLabels(a.labels, [...base, 'labels'], err);
      checkRestart(a.options, [...base, 'options', 'restart'], err);
      if (Array.isArray(a.roles)) {
        const missing = a.roles.map(rubyString).filter((r) => !roleNames.includes(r));
        if (missing.length > 0)
          err(
            [...base, 'roles'],
            `names unknown role${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${didYouMean(missing[0]!, roleNames)}`,
          );
      } else if (a.role !== undefined && !roleNames.includes(rubyString(a.role))) {
        err(
          [...base, 'role'],
          `names the unknown role ${rubyString(a.role)}${didYouMean(rubyString(a.role), roleNames)}`,
        );
      }
      if (acc.proxy && isHash(a.proxy)) checkProxy(a.proxy, [...base, 'proxy'], err, warn);
      if (present(a.registry)) checkRegistry(a.registry, [...base, 'registry'], err, false);
      if (!present(a.image))
        warn([...base, 'image'], 'is not set; the accessory cannot be booted without an image');
      if ('tag' in a || 'tags' in a) {
        if (acc.hosts.length === 0) warn(base, 'is placed by tag, but no host in servers carries that tag');
      }
      for (const key of ['files', 'directories'] as const) {
        const list = a[key];
        if (!Array.isArray(list)) continue;
        list.forEach((entry, i) => {
          if (isHash(entry)) {
            for (const k of Object.keys(entry))
              if (!['local', 'remote', 'mode', 'owner', 'options'].includes(k))
                warn(
                  [...base, key, i, k],
                  'is not a key wharf (or Kamal) reads here; use local, remote, mode, owner or options',
                );
            if (!present(entry.local) || !present(entry.remote))
              warn(
                [...base, key, i],
                'needs both local and remote; booting the accessory will fail without them',
              );
          } else if (typeof entry === 'string' && entry.split(':').length < 2) {
            warn(
              [...base, key, i],
              `is ${JSON.stringify(entry)}; write it as local:remote or local:remote:options, or booting the accessory will fail`,
            );
          }
        });
      }
    });
  }

  // Conflicting proxy runs per host
  guard(() => {
    for (const host of config.allHosts) {
      const runs = config.proxyRuns(host);
      if (runs.some((r) => !r.equals(runs[0]!)))
        err(
          ['proxy', 'run'],
          `differs between the roles and accessories on host ${host}; one proxy runs per host, so give them the same proxy.run settings`,
        );
    }
  });

  guard(() => {
    if (!isHash(raw.aliases)) return;
    for (const name of Object.keys(raw.aliases)) {
      if (!/^[a-z0-9_-]+$/.test(name))
        err(
          ['aliases', name],
          'is not a valid alias name: use lowercase letters, digits, hyphens and underscores',
        );
      else if (BUILT_IN_COMMANDS.includes(name))
        err(['aliases', name], `has the name of the built-in command ${name}; choose another alias name`);
    }
  });

  guard(() => checkLikelyMistakes(config, warn));

  guard(() => {
    // Kamal's loggers refuse to start without these.
    const o = raw.output;
    if (!isHash(o)) return;
    if (isHash(o.otel) && truthy(o.otel.endpoint) && typeof o.otel.endpoint !== 'string')
      err(
        ['output', 'otel', 'endpoint'],
        `should be a URL such as http://otel-gateway:4318, not ${JSON.stringify(o.otel.endpoint)}`,
      );
    if (isHash(o.file) && truthy(o.file.path) && typeof o.file.path !== 'string')
      err(['output', 'file', 'path'], `should be a directory path, not ${JSON.stringify(o.file.path)}`);
    if (isHash(o.otel) && !truthy(o.otel.endpoint))
      err(
        ['output', 'otel', 'endpoint'],
        'is required when output.otel is set, e.g. http://otel-gateway:4318',
      );
    if (isHash(o.file) && !truthy(o.file.path))
      err(['output', 'file', 'path'], 'is required when output.file is set: the directory for the log files');
  });

  guard(() => {
    // Kamal crashes resolving tag placement when a host's tag is a number or boolean.
    const s = raw.servers;
    if (!isHash(s) || !config.accessories.some((a) => 'tag' in a.raw || 'tags' in a.raw)) return;
    for (const [name, list] of Object.entries(s)) {
      if (!Array.isArray(list)) continue;
      list.forEach((entry, i) => {
        if (!isHash(entry)) return;
        const [host, tags] = Object.entries(entry)[0] ?? [];
        if (host !== undefined && (typeof tags === 'number' || typeof tags === 'boolean')) {
          err(
            ['servers', name, i, host],
            `has the tag ${JSON.stringify(tags)}; tags are names (quote it) when accessories are placed by tag`,
          );
        }
      });
    }
  });

  guard(() => {
    // Host entries that are not names (numbers, booleans) are skipped, as Kamal does.
    const s = raw.servers;
    const lists: [KeyPath, unknown][] = Array.isArray(s)
      ? [[['servers'], s]]
      : isHash(s)
        ? Object.entries(s).map(([name, r]): [KeyPath, unknown] =>
            isHash(r) ? [['servers', name, 'hosts'], r.hosts] : [['servers', name], r],
          )
        : [];
    for (const [base, list] of lists) {
      if (!Array.isArray(list)) continue;
      list.forEach((entry, i) => {
        if (typeof entry === 'number' || typeof entry === 'boolean') {
          warn(
            [...base, i],
            `is ${JSON.stringify(entry)}, not a host name, so it is skipped; quote it if it is a host`,
          );
        }
      });
    }
  });

  guard(() => {
    if (isHash(raw.labels))
      for (const k of Object.keys(raw.labels))
        if (RESERVED_LABELS.includes(k))
          warn(
            ['labels', k],
            'overrides a label wharf sets itself (service, role and destination are reserved)',
          );
  });

  return { errors, warnings };
}

/** `; did you mean `web`?` or ` (roles: a, b)`. */
function didYouMean(name: string, valid: string[]): string {
  const s = suggestKey(name, valid);
  return s ? `; did you mean \`${s}\`?` : ` (roles: ${valid.join(', ') || 'none'})`;
}

const PORT_KEYS = ['http_port', 'https_port', 'metrics_port'];

/** Things Kamal accepts that will fail later or are almost certainly mistakes: warnings, never errors. */
function checkLikelyMistakes(config: Config, warn: (path: KeyPath, message: string) => void): void {
  const raw = config.raw as Hash;
  const b = isHash(raw.builder) ? raw.builder : {};
  const arches = Array.isArray(b.arch) ? b.arch : b.arch === undefined ? [] : [b.arch];
  arches.forEach((a, i) => {
    const s = rubyString(a);
    if (s !== 'amd64' && s !== 'arm64') {
      const hint = suggestKey(s, ['amd64', 'arm64']);
      warn(
        Array.isArray(b.arch) ? ['builder', 'arch', i] : ['builder', 'arch'],
        `is ${JSON.stringify(s)}, but Docker builds for amd64 or arm64${hint ? `; did you mean ${hint}?` : ''}`,
      );
    }
  });
  const proxies: [KeyPath, unknown][] = [[['proxy'], raw.proxy]];
  for (const role of config.roles)
    proxies.push([['servers', role.name, 'proxy'], role.specializations.proxy]);
  for (const acc of config.accessories) proxies.push([['accessories', acc.name, 'proxy'], acc.raw.proxy]);
  for (const [base, p] of proxies) {
    if (!isHash(p)) continue;
    const hosts = Array.isArray(p.hosts)
      ? p.hosts.map(rubyString)
      : p.host !== undefined
        ? rubyString(p.host).split(',')
        : [];
    hosts.forEach((h) => {
      if (/:\/\/|\//.test(h))
        warn(
          [...base, Array.isArray(p.hosts) ? 'hosts' : 'host'],
          `contains ${JSON.stringify(h)}, which is a URL; give the host name only, e.g. example.com`,
        );
    });
    if (typeof p.app_port === 'number' && (p.app_port < 1 || p.app_port > 65535))
      warn([...base, 'app_port'], `is ${p.app_port}, which is not a TCP port (1 to 65535)`);
    if (
      isHash(p.healthcheck) &&
      p.healthcheck.path !== undefined &&
      !rubyString(p.healthcheck.path).startsWith('/')
    ) {
      warn(
        [...base, 'healthcheck', 'path'],
        `is ${JSON.stringify(rubyString(p.healthcheck.path))}; a health check path starts with /`,
      );
    }
    const prefixes = Array.isArray(p.path_prefixes)
      ? p.path_prefixes.map(rubyString)
      : p.path_prefix !== undefined
        ? rubyString(p.path_prefix).split(',')
        : [];
    for (const prefix of prefixes)
      if (!prefix.startsWith('/'))
        warn(
          [...base, Array.isArray(p.path_prefixes) ? 'path_prefixes' : 'path_prefix'],
          `has ${JSON.stringify(prefix)}; path prefixes start with /`,
        );
    if (isHash(p.run)) {
      for (const k of PORT_KEYS) {
        const v = p.run[k];
        if (typeof v === 'number' && (v < 1 || v > 65535))
          warn([...base, 'run', k], `is ${v}, which is not a TCP port (1 to 65535)`);
      }
    }
  }
  const asset = raw.asset_path;
  if (asset !== undefined && !rubyString(asset).startsWith('/'))
    warn(
      ['asset_path'],
      `is ${JSON.stringify(rubyString(asset))}; the asset path is a path inside the container and should be absolute`,
    );
  for (const acc of config.accessories) {
    const port = acc.raw.port;
    if (
      port !== undefined &&
      port !== null &&
      !/^(\[[0-9a-f:.]+\]:|[0-9.]+:)?\d{1,5}(:\d{1,5})?(\/(tcp|udp|sctp))?$/i.test(rubyString(port))
    ) {
      warn(
        ['accessories', acc.name, 'port'],
        `is ${JSON.stringify(rubyString(port))}, which is not a port mapping like 5432, 5432:5432 or 127.0.0.1:5432:5432`,
      );
    }
  }
}

const truthy = (v: unknown) => v !== undefined && v !== null && v !== false;

function checkRegistry(
  reg: unknown,
  base: KeyPath,
  err: (p: KeyPath, m: string) => void,
  required: boolean,
): void {
  if (reg === undefined) {
    if (required)
      err(
        base,
        'is required: set registry.username and registry.password (or server: localhost:PORT for a local registry)',
      );
    return;
  }
  if (!isHash(reg)) return;
  if (required && !present(reg)) {
    err(
      base,
      'is empty: set registry.username and registry.password (or server: localhost:PORT for a local registry)',
    );
    return;
  }
  const local = /^localhost(:|$)/.test(rubyString(reg.server ?? ''));
  if (local) return;
  for (const key of ['username', 'password']) {
    if (!present(reg[key]))
      err(
        [...base, key],
        `is required unless the registry server is localhost:PORT (a literal, or [SECRET_NAME] to read it from the secrets)`,
      );
  }
}

function checkLabels(labels: unknown, base: KeyPath, err: (p: KeyPath, m: string) => void): void {
  if (!isHash(labels)) return;
  for (const k of Object.keys(labels))
    if (RESERVED_LABELS.includes(k))
      err([...base, k], 'is a reserved label: destination, role and service are set by wharf');
}

function checkRestart(options: unknown, path: KeyPath, err: (p: KeyPath, m: string) => void): void {
  if (!isHash(options) || !('restart' in options)) return;
  const r = options.restart;
  if (typeof r !== 'string')
    err(path, `should be a string, not ${JSON.stringify(r)}; use "no" to disable restarts`);
  else if (!RESTART_POLICY.test(r))
    err(path, `is ${JSON.stringify(r)}; use no, always, unless-stopped, on-failure or on-failure:N`);
}

function checkProxy(
  p: Hash,
  base: KeyPath,
  err: (p: KeyPath, m: string) => void,
  warn: (p: KeyPath, m: string) => void,
): void {
  const ssl = p.ssl;
  if (!present(p.host) && !present(p.hosts) && ssl !== undefined && ssl !== null && ssl !== false) {
    err([...base, 'ssl'], 'needs a host: set host or hosts so the certificate can be issued');
  }
  if ('host' in p && 'hosts' in p)
    err([...base, 'hosts'], 'is set together with host; use one of host or hosts');
  if (isHash(ssl)) {
    if (present(ssl.certificate_pem) && !present(ssl.private_key_pem))
      err([...base, 'ssl', 'private_key_pem'], 'is required when certificate_pem is set');
    if (present(ssl.private_key_pem) && !present(ssl.certificate_pem))
      err([...base, 'ssl', 'certificate_pem'], 'is required when private_key_pem is set');
    for (const k of Object.keys(ssl))
      if (!['certificate_pem', 'private_key_pem'].includes(k))
        warn([...base, 'ssl', k], 'is not read; ssl takes certificate_pem and private_key_pem');
  }
  const run = p.run;
  if (isHash(run)) {
    if (
      run.publish === false &&
      (present(run.bind_ips) || present(run.http_port) || present(run.https_port))
    ) {
      err([...base, 'run', 'publish'], 'is false, so http_port, https_port and bind_ips cannot be set');
    }
    if (Array.isArray(run.bind_ips)) {
      run.bind_ips.forEach((ip, i) => {
        const s = rubyString(ip).replace(/^\[(.*)\]$/, '$1');
        if (isIP(s) === 0)
          warn(
            [...base, 'run', 'bind_ips', i],
            `is ${JSON.stringify(rubyString(ip))}, which is not an IP address; docker will refuse to publish on it`,
          );
      });
    }
  }
}
