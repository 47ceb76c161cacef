// The options a deploy carries, their kamal-proxy defaults, normalisation and
// validation. Shared by the CLI (which validates before calling) and the
// server (which validates again, as kamal-proxy does).
import { ProxyError } from './errors.js';

export const DEFAULTS = {
  httpPort: 80,
  httpsPort: 443,
  deployTimeoutMs: 30_000,
  drainTimeoutMs: 30_000,
  pauseTimeoutMs: 30_000,
  writerAffinityTimeoutMs: 1_000,
  healthCheckPath: '/up',
  healthCheckPort: 0,
  healthCheckIntervalMs: 1_000,
  healthCheckTimeoutMs: 5_000,
  targetTimeoutMs: 30_000,
  maxMemoryBufferSize: 1024 * 1024,
  maxRequestBodySize: 0,
  maxResponseBodySize: 0,
  stopMessage: '',
} as const;

export const ACME_STAGING_DIRECTORY = 'https://acme-staging-v02.api.letsencrypt.org/directory';

export interface ServiceOptions {
  hosts: string[];
  pathPrefixes: string[];
  stripPrefix: boolean;
  tlsEnabled: boolean;
  tlsCertificatePath: string;
  tlsPrivateKeyPath: string;
  tlsOnDemandUrl: string;
  tlsRedirect: boolean;
  canonicalHost: string;
  acmeDirectory: string;
  acmeCachePath: string;
  errorPagePath: string;
  writerAffinityTimeoutMs: number;
  readTargetsAcceptWebsockets: boolean;
  excludeMetricsPaths: string[];
  clientIpHeader: string;
}

export interface HealthCheckOptions {
  path: string;
  port: number;
  intervalMs: number;
  timeoutMs: number;
  host: string;
}

export interface TargetOptions {
  healthCheck: HealthCheckOptions;
  responseTimeoutMs: number;
  bufferRequests: boolean;
  bufferResponses: boolean;
  maxMemoryBufferSize: number;
  maxRequestBodySize: number;
  maxResponseBodySize: number;
  logRequestHeaders: string[];
  logResponseHeaders: string[];
  forwardHeaders: boolean;
  scopeCookiePaths: boolean;
}

export interface DeploymentOptions {
  deployTimeoutMs: number;
  drainTimeoutMs: number;
  force: boolean;
}

export function defaultServiceOptions(): ServiceOptions {
  return {
    hosts: [],
    pathPrefixes: [],
    stripPrefix: true,
    tlsEnabled: false,
    tlsCertificatePath: '',
    tlsPrivateKeyPath: '',
    tlsOnDemandUrl: '',
    tlsRedirect: true,
    canonicalHost: '',
    acmeDirectory: '',
    acmeCachePath: '',
    errorPagePath: '',
    writerAffinityTimeoutMs: DEFAULTS.writerAffinityTimeoutMs,
    readTargetsAcceptWebsockets: false,
    excludeMetricsPaths: [],
    clientIpHeader: '',
  };
}

export function defaultTargetOptions(): TargetOptions {
  return {
    healthCheck: {
      path: DEFAULTS.healthCheckPath,
      port: DEFAULTS.healthCheckPort,
      intervalMs: DEFAULTS.healthCheckIntervalMs,
      timeoutMs: DEFAULTS.healthCheckTimeoutMs,
      host: '',
    },
    responseTimeoutMs: DEFAULTS.targetTimeoutMs,
    bufferRequests: false,
    bufferResponses: false,
    maxMemoryBufferSize: DEFAULTS.maxMemoryBufferSize,
    maxRequestBodySize: DEFAULTS.maxRequestBodySize,
    maxResponseBodySize: DEFAULTS.maxResponseBodySize,
    logRequestHeaders: [],
    logResponseHeaders: [],
    forwardHeaders: true,
    scopeCookiePaths: false,
  };
}

export function defaultDeploymentOptions(): DeploymentOptions {
  return {
    deployTimeoutMs: DEFAULTS.deployTimeoutMs,
    drainTimeoutMs: DEFAULTS.drainTimeoutMs,
    force: false,
  };
}

/** Lower-cases, trims and de-duplicates hosts, dropping empties. */
export function normalizeHosts(hosts: readonly string[]): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    const host = h.trim().toLowerCase();
    if (host !== '' && !out.includes(host)) out.push(host);
  }
  return out;
}

/** "/" + the prefix without leading/trailing slashes; an empty list means ["/"]. */
export function normalizePathPrefixes(prefixes: readonly string[]): string[] {
  const out: string[] = [];
  for (const p of prefixes) {
    const prefix = '/' + p.trim().replace(/^\/+|\/+$/g, '');
    if (!out.includes(prefix)) out.push(prefix);
  }
  return out.length === 0 ? ['/'] : out;
}

export function normalizeServiceOptions(options: ServiceOptions): ServiceOptions {
  return {
    ...options,
    hosts: normalizeHosts(options.hosts),
    pathPrefixes: normalizePathPrefixes(options.pathPrefixes),
    canonicalHost: options.canonicalHost.trim().toLowerCase(),
  };
}

const HOST_PATTERN = /^(\*\.)?[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9])?)*\.?$/;

/** Throws ProxyError when the service options cannot work together (kamal-proxy's rules). */
export function validateServiceOptions(service: string, raw: ServiceOptions): void {
  const options = normalizeServiceOptions(raw);
  for (const host of options.hosts) {
    if (!HOST_PATTERN.test(host)) {
      throw new ProxyError(
        `service ${service}: host "${host}" is not a valid host name; use a name like example.com or *.example.com`,
      );
    }
  }
  if (options.tlsOnDemandUrl !== '' && !options.tlsEnabled) {
    throw new ProxyError(`service ${service}: --tls-on-demand-url needs --tls; add --tls to the deploy`);
  }
  if (options.tlsEnabled) {
    if (options.tlsOnDemandUrl !== '') {
      if (options.hosts.length > 0) {
        throw new ProxyError(
          `service ${service}: --host cannot be combined with --tls-on-demand-url; drop one of them`,
        );
      }
      if (options.tlsCertificatePath !== '' || options.tlsPrivateKeyPath !== '') {
        throw new ProxyError(
          `service ${service}: a custom TLS certificate cannot be combined with --tls-on-demand-url; drop one of them`,
        );
      }
      if (options.canonicalHost !== '') {
        throw new ProxyError(
          `service ${service}: --canonical-host cannot be combined with --tls-on-demand-url; drop one of them`,
        );
      }
      const url = options.tlsOnDemandUrl;
      if (!url.startsWith('/') && !/^https?:\/\/[^/]+/.test(url)) {
        throw new ProxyError(
          `service ${service}: --tls-on-demand-url "${url}" must be a path (/allow) or an http(s) URL with a host`,
        );
      }
    } else if (options.hosts.length === 0) {
      throw new ProxyError(
        `service ${service}: TLS needs at least one --host; add --host=<name> to the deploy`,
      );
    }
    if (!options.pathPrefixes.includes('/')) {
      throw new ProxyError(
        `service ${service}: TLS settings must be given on the root path service; deploy TLS on a service that serves /`,
      );
    }
    if (options.hosts.some((h) => h.startsWith('*')) && options.tlsCertificatePath === '') {
      throw new ProxyError(
        `service ${service}: automatic TLS does not support wildcard hosts; pass --tls-certificate-path and --tls-private-key-path`,
      );
    }
  }
  if ((options.tlsCertificatePath === '') !== (options.tlsPrivateKeyPath === '')) {
    throw new ProxyError(
      `service ${service}: --tls-certificate-path and --tls-private-key-path must be given together`,
    );
  }
  if (
    options.canonicalHost !== '' &&
    options.hosts.length > 0 &&
    !options.hosts.includes(options.canonicalHost)
  ) {
    throw new ProxyError(
      `service ${service}: canonical host "${options.canonicalHost}" must be one of the hosts (${options.hosts.join(', ')}); add it with --host`,
    );
  }
}

const TARGET_PATTERN = /^(\w[-_.\w+]+)(:\d+)?$/;

/** Checks a target's form (`host[:port]`); returns it unchanged. */
export function validateTarget(service: string, target: string): string {
  if (!TARGET_PATTERN.test(target)) {
    throw new ProxyError(
      `service ${service}: target "${target}" is not of the form host[:port]; pass e.g. --target=app-web-1:3000`,
    );
  }
  return target;
}
