/**
 * Where and how to connect to one host: Kamal's `ssh:` settings combined with
 * the OpenSSH client config, resolved into a plain ConnectTarget. Pure apart
 * from reading the config files (done once by the caller).
 */
import { UserError } from '../util/errors.js';
import { identitySources, type IdentitySource } from './identities.js';
import { SshConfig, defaultSshConfigFiles, expandTokens, type SshHostConfig } from './ssh-config.js';

/** Kamal's `ssh:` and `sshkit:` sections, with keys in camelCase and secrets already resolved. */
export interface SshSettings {
  /** ssh.user; default root. */
  user?: string;
  /** ssh.port; default 22. */
  port?: number;
  /** ssh.proxy: jump host "host" or "user@host" (user defaults to root), optionally ":port". */
  proxy?: string;
  /** ssh.proxy_command, with %h %p %r. */
  proxyCommand?: string;
  /** ssh.log_level (debug prints ssh2's protocol log through the command log hook). */
  logLevel?: string;
  /** ssh.keys_only: offer only keys/key_data, not ssh-agent. */
  keysOnly?: boolean;
  /** ssh.forward_agent: forward the local ssh-agent to commands on the servers. Off unless true. */
  forwardAgent?: boolean;
  /** ssh.keys: private key files. */
  keys?: string[];
  /** ssh.key_data: private key text (already looked up from secrets). */
  keyData?: string[];
  /** ssh.config: true = ~/.ssh/config and /etc/ssh/ssh_config, false = none, or file(s). Default true. */
  config?: boolean | string | string[];
  /** sshkit.max_concurrent_starts; default 30. */
  maxConcurrentStarts?: number;
  /** sshkit.pool_idle_timeout in seconds; default 900. */
  poolIdleTimeoutSeconds?: number;
  /** sshkit.dns_retries; default 3. */
  dnsRetries?: number;
}

export interface ConnectTarget {
  /** The host as the user named it. */
  name: string;
  /** The address to dial (HostName from the ssh config, else the name). */
  host: string;
  port: number;
  user: string;
  identities: IdentitySource[];
  /** Offer ssh-agent identities (SSH_AUTH_SOCK) too. */
  useAgent: boolean;
  /** The agent socket to forward to the server (ssh.forward_agent). */
  forwardAgent?: string;
  /** Connect through this host (forwardOut over its connection). */
  jump?: ConnectTarget;
  /** Connect through this local command's stdin/stdout (tokens already expanded). */
  proxyCommand?: string;
  /** UserKnownHostsFile entries from the ssh config. */
  knownHostsFiles: string[];
  /** StrictHostKeyChecking from the ssh config, when set (else the pool's policy). */
  hostKeyChecking?: 'yes' | 'accept-new' | 'no';
  connectTimeoutMs: number;
  keepaliveIntervalMs: number;
}

export interface JumpSpec {
  user?: string;
  host: string;
  port?: number;
}

/** Parses `host`, `user@host`, `user@host:port`, `[v6addr]:port` or `ssh://user@host:port`. */
export function parseJumpSpec(text: string): JumpSpec {
  let rest = text.trim().replace(/^ssh:\/\//, '');
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let host = rest;
  let port: number | undefined;
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  const colon = /^([^:]+):(\d+)$/.exec(rest);
  if (bracket) {
    host = bracket[1]!;
    if (bracket[2]) port = Number(bracket[2]);
  } else if (colon) {
    host = colon[1]!;
    port = Number(colon[2]);
  }
  if (host === '' || /\s/.test(host) || (user !== undefined && user === '')) {
    throw new UserError(`ssh.proxy "${text}" is not a host; write it as host, user@host or user@host:port.`);
  }
  return { ...(user !== undefined ? { user } : {}), host, ...(port !== undefined ? { port } : {}) };
}

/** The OpenSSH config that `ssh.config` selects. */
export function loadSshConfig(setting: SshSettings['config']): SshConfig {
  if (setting === false) return SshConfig.empty();
  if (setting === undefined || setting === true) return SshConfig.load(defaultSshConfigFiles());
  return SshConfig.load(Array.isArray(setting) ? setting : [setting]);
}

export interface ResolveOptions {
  env?: NodeJS.ProcessEnv;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
}

/** Resolves one host named in the deploy config into a ConnectTarget. */
export function resolveTarget(
  name: string,
  settings: SshSettings,
  config: SshConfig,
  options: ResolveOptions = {},
): ConnectTarget {
  const env = options.env ?? process.env;
  const hostConfig = config.resolve(name);
  const base = baseTarget(
    name,
    hostConfig,
    settings,
    env,
    options,
    settings.user ?? 'root',
    settings.port ?? 22,
  );
  if (settings.proxy) {
    const spec = parseJumpSpec(settings.proxy);
    base.jump = jumpTarget(spec, settings, config, env, options, 'root');
  } else if (settings.proxyCommand) {
    base.proxyCommand = expandTokens(settings.proxyCommand, {
      h: base.host,
      p: String(base.port),
      r: base.user,
      n: name,
    });
  } else if (hostConfig.proxyJump) {
    base.jump = jumpChain(hostConfig.proxyJump, settings, config, env, options);
  } else if (hostConfig.proxyCommand) {
    base.proxyCommand = expandTokens(hostConfig.proxyCommand, {
      h: base.host,
      p: String(base.port),
      r: base.user,
      n: name,
    });
  }
  return base;
}

function baseTarget(
  name: string,
  hostConfig: SshHostConfig,
  settings: SshSettings,
  env: NodeJS.ProcessEnv,
  options: ResolveOptions,
  user: string,
  port: number,
): ConnectTarget {
  const keysOnly = settings.keysOnly === true || hostConfig.identitiesOnly === true;
  return {
    name,
    host: hostConfig.hostName ?? name,
    port,
    user,
    identities: identitySources({
      ...(settings.keys ? { keys: settings.keys } : {}),
      ...(settings.keyData ? { keyData: settings.keyData } : {}),
      configFiles: hostConfig.identityFiles,
    }),
    useAgent: !keysOnly && Boolean(env.SSH_AUTH_SOCK),
    ...(settings.forwardAgent === true && env.SSH_AUTH_SOCK ? { forwardAgent: env.SSH_AUTH_SOCK } : {}),
    knownHostsFiles: hostConfig.userKnownHostsFiles ?? [],
    ...(hostConfig.strictHostKeyChecking ? { hostKeyChecking: hostConfig.strictHostKeyChecking } : {}),
    connectTimeoutMs:
      options.connectTimeoutMs ??
      (hostConfig.connectTimeoutSeconds ? hostConfig.connectTimeoutSeconds * 1000 : 20_000),
    keepaliveIntervalMs:
      options.keepaliveIntervalMs ??
      (hostConfig.serverAliveIntervalSeconds ? hostConfig.serverAliveIntervalSeconds * 1000 : 30_000),
  };
}

function jumpTarget(
  spec: JumpSpec,
  settings: SshSettings,
  config: SshConfig,
  env: NodeJS.ProcessEnv,
  options: ResolveOptions,
  defaultUser: string,
): ConnectTarget {
  const hostConfig = config.resolve(spec.host);
  return baseTarget(
    spec.host,
    hostConfig,
    settings,
    env,
    options,
    spec.user ?? hostConfig.user ?? defaultUser,
    spec.port ?? hostConfig.port ?? 22,
  );
}

/** ProxyJump `a,b` means: reach b through a, then the target through b. */
function jumpChain(
  list: string,
  settings: SshSettings,
  config: SshConfig,
  env: NodeJS.ProcessEnv,
  options: ResolveOptions,
): ConnectTarget {
  let previous: ConnectTarget | undefined;
  for (const hop of list
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')) {
    const target = jumpTarget(parseJumpSpec(hop), settings, config, env, options, env.USER ?? 'root');
    if (previous) target.jump = previous;
    previous = target;
  }
  if (!previous) throw new UserError(`ProxyJump "${list}" in the ssh config names no host.`);
  return previous;
}

/** A short description of the route to a target, for messages: "via root@bastion". */
export function describeRoute(target: ConnectTarget): string | undefined {
  if (target.jump)
    return `${target.jump.user}@${target.jump.name}${target.jump.port === 22 ? '' : `:${target.jump.port}`}`;
  if (target.proxyCommand) return `proxy command \`${target.proxyCommand}\``;
  return undefined;
}
