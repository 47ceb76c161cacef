// The command line, with kamal-proxy's commands, flags and defaults:
// run, deploy, remove (rm), pause, stop, resume, list (ls), rollout deploy|set|stop.
import { callServer } from '../control/client.js';
import { defaultSocketPath } from '../control/socket-path.js';
import { ProxyError, describeError, isProxyError } from '../errors.js';
import {
  ACME_STAGING_DIRECTORY,
  DEFAULTS,
  type ServiceOptions,
  type TargetOptions,
  type DeploymentOptions,
  validateServiceOptions,
} from '../options.js';
import { defaultConfigDir } from '../state.js';
import type { DeployArgs, ServiceDescription } from '../router.js';
import { type FlagSpec, type ParsedFlags, formatFlagHelp, parseFlags } from './flags.js';
import { join } from 'node:path';
import { parseExternalAccount, type ExternalAccount } from '../acme/jws.js';

interface Output {
  out(text: string): void;
  err(text: string): void;
}

const STDIO: Output = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

interface Command {
  name: string;
  aliases?: string[];
  usage: string;
  short: string;
  flags: () => FlagSpec[];
  args: number;
  run: (flags: ParsedFlags, io: Output) => Promise<number>;
}

function envLookup(key: string): string | undefined {
  return process.env[`KAMAL_PROXY_${key}`] ?? process.env[key];
}

function envInt(key: string, fallback: number): number {
  const v = envLookup(key);
  if (v === undefined || !/^[-+]?\d+$/.test(v.trim())) return fallback;
  return Number(v);
}

function envBool(key: string, fallback: boolean): boolean {
  const v = envLookup(key)?.toLowerCase();
  if (v === undefined) return fallback;
  if (['1', 't', 'true'].includes(v)) return true;
  if (['0', 'f', 'false'].includes(v)) return false;
  return fallback;
}

const get = <T>(f: ParsedFlags, name: string): T => f.values.get(name) as T;

// ---- run ---------------------------------------------------------------------

const runCommand: Command = {
  name: 'run',
  usage: 'run',
  short: 'Run the server',
  args: 0,
  flags: () => [
    { name: 'debug', type: 'bool', default: envBool('DEBUG', false), help: 'Include debugging logs' },
    {
      name: 'http-port',
      type: 'int',
      default: envInt('HTTP_PORT', DEFAULTS.httpPort),
      help: 'Port to serve HTTP traffic on',
    },
    {
      name: 'https-port',
      type: 'int',
      default: envInt('HTTPS_PORT', DEFAULTS.httpsPort),
      help: 'Port to serve HTTPS traffic on',
    },
    {
      name: 'metrics-port',
      type: 'int',
      default: envInt('METRICS_PORT', 0),
      help: 'Publish metrics on the specified port (default zero to disable)',
    },
    {
      name: 'http3',
      type: 'bool',
      default: false,
      help: 'Enable HTTP/3 (not supported by wharf-proxy; ignored)',
    },
  ],
  async run(f) {
    const metricsPort = get<number>(f, 'metrics-port');
    // Loaded here, not at the top: client commands (deploy, list, …) run once per
    // call from wharf and need none of the server's modules.
    let externalAccount: ExternalAccount | null;
    try {
      externalAccount = parseExternalAccount(envLookup('EAB_KID'), envLookup('EAB_HMAC_KEY'));
    } catch (err) {
      throw new ProxyError(`wharf-proxy run: ${(err as Error).message}`);
    }
    const { startProxyServer } = await import('../server/proxy-server.js');
    const handle = await startProxyServer({
      acme: { externalAccount },
      httpPort: get<number>(f, 'http-port'),
      httpsPort: get<number>(f, 'https-port'),
      metricsPort: metricsPort > 0 ? metricsPort : null,
      debug: get<boolean>(f, 'debug'),
    });
    // Log lines are batched per event-loop turn; whatever is pending goes out on any exit.
    process.once('exit', () => handle.logger.flush());
    // One failing callback must not take every app on the server down with the proxy.
    process.on('uncaughtException', (err) =>
      handle.logger.error('Unexpected error', { error: describeError(err) }),
    );
    process.on('unhandledRejection', (err) =>
      handle.logger.error('Unexpected error', { error: describeError(err) }),
    );
    if (get<boolean>(f, 'http3'))
      handle.logger.warn('HTTP/3 is not supported by wharf-proxy; serving HTTP/1.1 and HTTP/2 only');
    await new Promise<void>((resolve) => {
      const stop = (signal: string): void => {
        handle.logger.info('Shutting down', { signal });
        void handle.close().then(resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};

// ---- deploy --------------------------------------------------------------------

export const deployFlags = (): FlagSpec[] => [
  { name: 'target', type: 'strings', default: [], help: 'Target host(s) to deploy' },
  { name: 'read-target', type: 'strings', default: [], help: 'Read-only target host(s) to deploy' },
  {
    name: 'host',
    type: 'strings',
    default: [],
    help: 'Host(s) to serve this target on (empty for wildcard)',
  },
  {
    name: 'path-prefix',
    type: 'strings',
    default: [],
    help: 'Deploy the service below the specified path(s)',
  },
  {
    name: 'strip-path-prefix',
    type: 'bool',
    default: true,
    help: 'With --path-prefix, strip prefix from request before forwarding',
  },
  {
    name: 'tls',
    type: 'bool',
    default: false,
    help: 'Configure TLS for this target (requires a non-empty host)',
  },
  {
    name: 'tls-on-demand-url',
    type: 'string',
    default: '',
    help: 'URL asked whether a host may have a certificate issued',
  },
  {
    name: 'tls-staging',
    type: 'bool',
    default: false,
    help: "Use Let's Encrypt staging environment for certificate provisioning",
  },
  {
    name: 'tls-acme-directory',
    type: 'string',
    default: '',
    help: "ACME directory URL for certificates (wharf-proxy only; default Let's Encrypt production)",
  },
  {
    name: 'tls-certificate-path',
    type: 'string',
    default: '',
    help: 'Configure custom TLS certificate path (PEM format)',
  },
  {
    name: 'tls-private-key-path',
    type: 'string',
    default: '',
    help: 'Configure custom TLS private key path (PEM format)',
  },
  {
    name: 'tls-acme-cache-path',
    type: 'string',
    default: join(defaultConfigDir(), 'certs'),
    help: 'Location to store ACME assets',
  },
  { name: 'tls-redirect', type: 'bool', default: true, help: 'Redirect HTTP traffic to HTTPS' },
  {
    name: 'canonical-host',
    type: 'string',
    default: '',
    help: 'Redirect all requests to this host (e.g., force root or www)',
  },
  {
    name: 'deploy-timeout',
    type: 'duration',
    default: DEFAULTS.deployTimeoutMs,
    help: 'Maximum time to wait for the new target to become healthy',
  },
  {
    name: 'drain-timeout',
    type: 'duration',
    default: DEFAULTS.drainTimeoutMs,
    help: 'Maximum time to allow existing connections to drain before removing old target',
  },
  { name: 'force', type: 'bool', default: false, help: 'Skip health checks and force deployment' },
  {
    name: 'health-check-interval',
    type: 'duration',
    default: DEFAULTS.healthCheckIntervalMs,
    help: 'Interval between health checks',
  },
  {
    name: 'health-check-timeout',
    type: 'duration',
    default: DEFAULTS.healthCheckTimeoutMs,
    help: 'Time each health check must complete in',
  },
  {
    name: 'health-check-path',
    type: 'string',
    default: DEFAULTS.healthCheckPath,
    help: 'Path to check for health',
  },
  {
    name: 'health-check-port',
    type: 'int',
    default: DEFAULTS.healthCheckPort,
    help: 'Port to check for health (default matches target port)',
  },
  {
    name: 'health-check-host',
    type: 'string',
    default: '',
    help: 'Host header to send with health check requests',
  },
  {
    name: 'writer-affinity-timeout',
    type: 'duration',
    default: DEFAULTS.writerAffinityTimeoutMs,
    help: 'Time after a write before read requests will be routed to readers',
  },
  {
    name: 'read-target-websockets',
    type: 'bool',
    default: false,
    help: 'Route WebSocket traffic to read targets, when available',
  },
  {
    name: 'target-timeout',
    type: 'duration',
    default: DEFAULTS.targetTimeoutMs,
    help: 'Maximum time to wait for the target server to respond when serving requests',
  },
  {
    name: 'buffer-requests',
    type: 'bool',
    default: false,
    help: 'Buffer requests before forwarding to target',
  },
  {
    name: 'buffer-responses',
    type: 'bool',
    default: false,
    help: 'Buffer responses before forwarding to client',
  },
  {
    name: 'buffer-memory',
    type: 'int',
    default: DEFAULTS.maxMemoryBufferSize,
    help: 'Max size of memory buffer',
  },
  {
    name: 'max-request-body',
    type: 'int',
    default: 0,
    help: 'Max size of request body when buffering (default of 0 means unlimited)',
  },
  {
    name: 'max-response-body',
    type: 'int',
    default: 0,
    help: 'Max size of response body when buffering (default of 0 means unlimited)',
  },
  { name: 'error-pages', type: 'string', default: '', help: 'Path to custom error pages' },
  {
    name: 'log-request-header',
    type: 'strings',
    default: [],
    help: 'Additional request header to log (may be specified multiple times)',
  },
  {
    name: 'log-response-header',
    type: 'strings',
    default: [],
    help: 'Additional response header to log (may be specified multiple times)',
  },
  {
    name: 'exclude-metrics-path',
    type: 'strings',
    default: [],
    help: 'Request path(s) to exclude from Prometheus metrics',
  },
  {
    name: 'forward-headers',
    type: 'bool',
    default: false,
    help: 'Forward X-Forwarded headers to target (default false if TLS enabled; otherwise true)',
  },
  {
    name: 'client-ip-header',
    type: 'string',
    default: '',
    help: 'Request header containing the original client IP; used to populate X-Forwarded-For when present',
  },
  {
    name: 'scope-cookie-paths',
    type: 'bool',
    default: false,
    help: 'Scope cookie paths to match path prefix',
  },
];

/** Turns parsed deploy flags into the call's arguments (pure; validates as kamal-proxy's preRun). */
export function deployArgsFromFlags(service: string, f: ParsedFlags): DeployArgs {
  if (!f.changed.has('target')) throw new ProxyError('required flag(s) "target" not set');
  if (f.changed.has('max-request-body') && !f.changed.has('buffer-requests')) {
    throw new ProxyError('max-request-body can only be set when request buffering is enabled');
  }
  if (f.changed.has('max-response-body') && !f.changed.has('buffer-responses')) {
    throw new ProxyError('max-response-body can only be set when response buffering is enabled');
  }
  if (f.changed.has('tls-certificate-path') !== f.changed.has('tls-private-key-path')) {
    throw new ProxyError(
      'if any flags in the group [tls-certificate-path tls-private-key-path] are set they must all be set',
    );
  }
  const tls = get<boolean>(f, 'tls');
  const acmeDirectory = get<string>(f, 'tls-acme-directory');
  if (acmeDirectory !== '' && get<boolean>(f, 'tls-staging')) {
    throw new ProxyError('--tls-staging and --tls-acme-directory name two ACME directories; pass only one');
  }
  if (acmeDirectory !== '' && !/^https?:\/\/[^/]+/.test(acmeDirectory)) {
    throw new ProxyError(`--tls-acme-directory "${acmeDirectory}" must be an https:// URL`);
  }
  const serviceOptions: ServiceOptions = {
    hosts: get<string[]>(f, 'host'),
    pathPrefixes: get<string[]>(f, 'path-prefix'),
    stripPrefix: get<boolean>(f, 'strip-path-prefix'),
    tlsEnabled: tls,
    tlsCertificatePath: get<string>(f, 'tls-certificate-path'),
    tlsPrivateKeyPath: get<string>(f, 'tls-private-key-path'),
    tlsOnDemandUrl: get<string>(f, 'tls-on-demand-url'),
    tlsRedirect: get<boolean>(f, 'tls-redirect'),
    canonicalHost: get<string>(f, 'canonical-host'),
    acmeDirectory: get<boolean>(f, 'tls-staging') ? ACME_STAGING_DIRECTORY : acmeDirectory,
    acmeCachePath: get<string>(f, 'tls-acme-cache-path'),
    errorPagePath: get<string>(f, 'error-pages'),
    writerAffinityTimeoutMs: get<number>(f, 'writer-affinity-timeout'),
    readTargetsAcceptWebsockets: get<boolean>(f, 'read-target-websockets'),
    excludeMetricsPaths: get<string[]>(f, 'exclude-metrics-path'),
    clientIpHeader: get<string>(f, 'client-ip-header'),
  };
  const targetOptions: TargetOptions = {
    healthCheck: {
      path: get<string>(f, 'health-check-path'),
      port: get<number>(f, 'health-check-port'),
      intervalMs: get<number>(f, 'health-check-interval'),
      timeoutMs: get<number>(f, 'health-check-timeout'),
      host: get<string>(f, 'health-check-host'),
    },
    responseTimeoutMs: get<number>(f, 'target-timeout'),
    bufferRequests: get<boolean>(f, 'buffer-requests'),
    bufferResponses: get<boolean>(f, 'buffer-responses'),
    maxMemoryBufferSize: get<number>(f, 'buffer-memory'),
    maxRequestBodySize: get<number>(f, 'max-request-body'),
    maxResponseBodySize: get<number>(f, 'max-response-body'),
    logRequestHeaders: get<string[]>(f, 'log-request-header'),
    logResponseHeaders: get<string[]>(f, 'log-response-header'),
    forwardHeaders: f.changed.has('forward-headers') ? get<boolean>(f, 'forward-headers') : !tls,
    scopeCookiePaths: get<boolean>(f, 'scope-cookie-paths'),
  };
  const deployment: DeploymentOptions = {
    deployTimeoutMs: get<number>(f, 'deploy-timeout'),
    drainTimeoutMs: get<number>(f, 'drain-timeout'),
    force: get<boolean>(f, 'force'),
  };
  validateServiceOptions(service, serviceOptions);
  return {
    service,
    targets: get<string[]>(f, 'target'),
    readers: get<string[]>(f, 'read-target'),
    deployment,
    serviceOptions,
    targetOptions,
  };
}

const deployCommand: Command = {
  name: 'deploy',
  usage: 'deploy <service>',
  short: 'Deploy a target host',
  args: 1,
  flags: deployFlags,
  async run(f) {
    const args = deployArgsFromFlags(f.positional[0]!, f);
    await callServer(defaultSocketPath(), 'Deploy', args);
    return 0;
  },
};

// ---- simple service commands -------------------------------------------------------

const removeCommand: Command = {
  name: 'remove',
  aliases: ['rm'],
  usage: 'remove <service>',
  short: 'Remove an existing service',
  args: 1,
  flags: () => [],
  async run(f) {
    await callServer(defaultSocketPath(), 'Remove', { service: f.positional[0]! });
    return 0;
  },
};

const pauseCommand: Command = {
  name: 'pause',
  usage: 'pause <service>',
  short: 'Pause a service',
  args: 1,
  flags: () => [
    {
      name: 'drain-timeout',
      type: 'duration',
      default: DEFAULTS.drainTimeoutMs,
      help: 'How long to allow in-flight requests to complete',
    },
    {
      name: 'max-pause',
      type: 'duration',
      default: DEFAULTS.pauseTimeoutMs,
      help: 'How long to enqueue requests before shedding load',
    },
  ],
  async run(f) {
    await callServer(defaultSocketPath(), 'Pause', {
      service: f.positional[0]!,
      drainTimeoutMs: get<number>(f, 'drain-timeout'),
      pauseTimeoutMs: get<number>(f, 'max-pause'),
    });
    return 0;
  },
};

const stopCommand: Command = {
  name: 'stop',
  usage: 'stop <service>',
  short: 'Stop a service',
  args: 1,
  flags: () => [
    {
      name: 'drain-timeout',
      type: 'duration',
      default: DEFAULTS.drainTimeoutMs,
      help: 'How long to allow in-flight requests to complete',
    },
    {
      name: 'message',
      type: 'string',
      default: DEFAULTS.stopMessage,
      help: 'Message to display to clients while stopped',
    },
  ],
  async run(f) {
    await callServer(defaultSocketPath(), 'Stop', {
      service: f.positional[0]!,
      drainTimeoutMs: get<number>(f, 'drain-timeout'),
      message: get<string>(f, 'message'),
    });
    return 0;
  },
};

const resumeCommand: Command = {
  name: 'resume',
  usage: 'resume <service>',
  short: 'Resume a service',
  args: 1,
  flags: () => [],
  async run(f) {
    await callServer(defaultSocketPath(), 'Resume', { service: f.positional[0]! });
    return 0;
  },
};

const listCommand: Command = {
  name: 'list',
  aliases: ['ls'],
  usage: 'list',
  short: 'List the services currently running',
  args: 0,
  flags: () => [],
  async run(_f, io) {
    const services = await callServer(defaultSocketPath(), 'List', {});
    io.out(formatServiceTable(services));
    return 0;
  },
};

/** kamal-proxy's list table: italic header, bold service names, two-space gaps. */
export function formatServiceTable(services: Record<string, ServiceDescription>): string {
  const rows: string[][] = [['Service', 'Host', 'Path', 'Target', 'State', 'TLS']];
  for (const name of Object.keys(services).sort()) {
    const s = services[name]!;
    rows.push([name, s.host, s.path, s.target, s.state, s.tls ? 'yes' : 'no']);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  let out = '';
  rows.forEach((row, r) => {
    for (let i = 0; i < row.length; i++) {
      const style = r === 0 ? '3;94' : i === 0 ? '1;34' : '';
      out += `\x1b[${style}m${row[i]}\x1b[0m${' '.repeat(widths[i]! - row[i]!.length)}  `;
    }
    out += '\n';
  });
  return out;
}

// ---- rollout --------------------------------------------------------------------------

const rolloutDeploy: Command = {
  name: 'deploy',
  usage: 'rollout deploy <service>',
  short: 'Deploy the rollout target',
  args: 1,
  flags: () => [
    { name: 'target', type: 'strings', default: [], help: 'Target host(s) to deploy' },
    { name: 'read-target', type: 'strings', default: [], help: 'Read-only target host(s) to deploy' },
    {
      name: 'deploy-timeout',
      type: 'duration',
      default: DEFAULTS.deployTimeoutMs,
      help: 'Maximum time to wait for the new target to become healthy',
    },
    {
      name: 'drain-timeout',
      type: 'duration',
      default: DEFAULTS.drainTimeoutMs,
      help: 'Maximum time to allow existing connections to drain before removing old target',
    },
  ],
  async run(f) {
    if (!f.changed.has('target')) throw new ProxyError('required flag(s) "target" not set');
    await callServer(defaultSocketPath(), 'RolloutDeploy', {
      service: f.positional[0]!,
      targets: get<string[]>(f, 'target'),
      readers: get<string[]>(f, 'read-target'),
      deployment: {
        deployTimeoutMs: get<number>(f, 'deploy-timeout'),
        drainTimeoutMs: get<number>(f, 'drain-timeout'),
        force: false,
      },
    });
    return 0;
  },
};

const rolloutSet: Command = {
  name: 'set',
  usage: 'rollout set <service>',
  short: 'Set traffic split for rollout',
  args: 1,
  flags: () => [
    { name: 'percent', type: 'int', default: 0, help: 'Percentage of traffic to send to the new target' },
    { name: 'list', type: 'strings', default: [], help: 'Rollout to specific values' },
  ],
  async run(f) {
    if (!f.changed.has('percent') && !f.changed.has('list')) {
      throw new ProxyError('at least one of the flags in the group [percent list] is required');
    }
    await callServer(defaultSocketPath(), 'RolloutSet', {
      service: f.positional[0]!,
      percentage: get<number>(f, 'percent'),
      allowlist: get<string[]>(f, 'list'),
    });
    return 0;
  },
};

const rolloutStop: Command = {
  name: 'stop',
  usage: 'rollout stop <service>',
  short: 'Stop the rollout',
  args: 1,
  flags: () => [],
  async run(f) {
    await callServer(defaultSocketPath(), 'RolloutStop', { service: f.positional[0]! });
    return 0;
  },
};

const COMMANDS: Command[] = [
  runCommand,
  deployCommand,
  removeCommand,
  pauseCommand,
  stopCommand,
  resumeCommand,
  listCommand,
];
const ROLLOUT: Command[] = [rolloutDeploy, rolloutSet, rolloutStop];

function find(list: Command[], name: string): Command | undefined {
  return list.find((c) => c.name === name || c.aliases?.includes(name));
}

function rootHelp(bin: string): string {
  const lines = [
    'HTTP proxy for zero downtime deployments',
    '',
    'Usage:',
    `  ${bin} [command]`,
    '',
    'Available Commands:',
    ...[...COMMANDS, { name: 'rollout', short: 'Control rollout deployments' } as Command]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((c) => `  ${c.name.padEnd(10)} ${c.short}`),
    '',
    `Use "${bin} [command] --help" for more information about a command.`,
    '',
  ];
  return lines.join('\n');
}

function commandHelp(bin: string, c: Command): string {
  const specs = c.flags();
  return `${c.short}\n\nUsage:\n  ${bin} ${c.usage} [flags]\n\nFlags:\n${specs.length ? formatFlagHelp(specs) + '\n' : ''}  -h, --help   help for ${c.name}\n`;
}

/**
 * Runs the CLI with `argv` (without node and the script); returns the exit
 * code. Errors print as `Error: <sentence>` and give 1.
 */
export async function main(
  argv: readonly string[],
  io: Output = STDIO,
  bin = 'kamal-proxy',
): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
      io.out(rootHelp(bin));
      return 0;
    }
    let command: Command | undefined;
    let args = rest;
    if (first === 'rollout') {
      const [sub, ...subRest] = rest;
      if (sub === undefined || sub === '-h' || sub === '--help') {
        io.out(
          `Control rollout deployments\n\nUsage:\n  ${bin} rollout [command]\n\nAvailable Commands:\n` +
            ROLLOUT.map((c) => `  ${c.name.padEnd(10)} ${c.short}`).join('\n') +
            '\n',
        );
        return 0;
      }
      command = find(ROLLOUT, sub);
      if (command === undefined) throw new ProxyError(`unknown command "${sub}" for "${bin} rollout"`);
      args = subRest;
    } else {
      command = find(COMMANDS, first);
      if (command === undefined) {
        throw new ProxyError(
          `unknown command "${first}" for "${bin}"; run \`${bin} --help\` to see the commands`,
        );
      }
    }
    const flags = parseFlags(args, command.flags());
    if (flags.help) {
      io.out(commandHelp(bin, command));
      return 0;
    }
    if (flags.positional.length !== command.args) {
      throw new ProxyError(
        command.args === 0
          ? `unknown command "${flags.positional[0]}" for "${bin} ${command.name}"`
          : `accepts ${command.args} arg(s), received ${flags.positional.length}; usage: ${bin} ${command.usage}`,
      );
    }
    return await command.run(flags, io);
  } catch (err) {
    io.err(`Error: ${isProxyError(err) ? err.message : describeError(err)}\n`);
    return isProxyError(err) ? err.exitCode : 1;
  }
}
