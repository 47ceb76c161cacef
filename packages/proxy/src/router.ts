// The routing table and the commands that change it: deploy, remove, pause,
// stop, resume, rollout. Precedence as kamal-proxy: exact host, then a
// one-label wildcard (*.example.com), then the default (no host); within the
// first tier that has any binding, the longest path prefix on a segment boundary.
import { ProxyError, describeError } from './errors.js';
import { LoadBalancer } from './loadbalancer.js';
import type { Logger } from './logging.js';
import {
  type DeploymentOptions,
  type ServiceOptions,
  type TargetOptions,
  DEFAULTS,
  normalizeServiceOptions,
  validateServiceOptions,
  validateTarget,
} from './options.js';
import { RolloutController } from './rollout.js';
import { Service } from './service.js';
import { type ServiceState, type StateFile, readState, writeStateAtomically } from './state.js';
import type { SecureContext } from 'node:tls';
import { CertificateStore, type LoadedCertificate } from './tls.js';

export interface Binding {
  readonly prefix: string;
  readonly service: Service;
}

export interface DeployArgs {
  service: string;
  targets: string[];
  readers: string[];
  deployment: DeploymentOptions;
  serviceOptions: ServiceOptions;
  targetOptions: TargetOptions;
}

export interface RolloutDeployArgs {
  service: string;
  targets: string[];
  readers: string[];
  deployment: DeploymentOptions;
}

export interface ServiceDescription {
  host: string;
  path: string;
  target: string;
  state: string;
  tls: boolean;
}

export class Router {
  readonly services = new Map<string, Service>();
  private table = new Map<string, Binding[]>();
  /** The table has a *.domain entry (else the wildcard lookup is skipped). */
  private wildcards = false;
  /** The only bindings are default-host ones (no --host anywhere): no host to look at. */
  private defaultOnly: Binding[] | null = null;
  private locks = new Map<string, Promise<unknown>>();

  /** Certificates by SNI (custom and ACME) and the HTTP-01 challenge answers. */
  readonly certificates: CertificateStore;

  constructor(
    private readonly logger: Logger,
    private readonly statePath: string | null,
  ) {
    this.certificates = new CertificateStore(this, logger);
    this.certificates.onCertificate = () => this.onChange?.();
  }

  /** Finds the binding for a request; `host` may carry a port, `path` has no query. */
  route(hostHeader: string | undefined, path: string): Binding | null {
    const list = this.defaultOnly ?? this.lookupHost(hostHeader);
    if (list === undefined) return null;
    for (let i = 0; i < list.length; i++) {
      const b = list[i]!;
      const p = b.prefix;
      if (p === '/') return b;
      if (path.startsWith(p) && (path.length === p.length || path.charCodeAt(p.length) === 47)) return b;
    }
    return null;
  }

  private lookupHost(hostHeader: string | undefined): Binding[] | undefined {
    const host = hostHeader === undefined ? '' : normalizeRequestHost(hostHeader);
    let list = this.table.get(host);
    if (list === undefined && host !== '' && this.wildcards) {
      const dot = host.indexOf('.');
      if (dot > 0) list = this.table.get('*' + host.slice(dot));
    }
    if (list === undefined) list = this.table.get('');
    return list;
  }

  /** The service serving `host` at the root path, for TLS (SNI) decisions. */
  serviceForHost(host: string): Service | null {
    return this.route(host, '/')?.service ?? null;
  }

  /** The certificate for an SNI name; with no name, the first TLS service with a certificate. */
  secureContextFor(servername: string | undefined): SecureContext | null {
    if (servername) {
      const service = this.serviceForHost(servername);
      if (service?.options.tlsEnabled && service.secureContext) return service.secureContext;
      return null;
    }
    return this.defaultCertificate()?.context ?? null;
  }

  /** Called after every change of the routing table (the server refreshes its default certificate). */
  onChange: (() => void) | null = null;

  /**
   * The certificate for clients that send no SNI: the first TLS service (by
   * name) with hosts and a certificate (custom, or ACME for its first host).
   */
  defaultCertificate(): LoadedCertificate | null {
    const names = [...this.services.keys()].sort();
    for (const name of names) {
      const s = this.services.get(name)!;
      if (!s.options.tlsEnabled || s.options.hosts.length === 0) continue;
      const cert = s.certificate ?? this.certificates.defaultFor(s);
      if (cert !== null) return cert;
    }
    return null;
  }

  get hasTLSServices(): boolean {
    for (const s of this.services.values()) if (s.options.tlsEnabled) return true;
    return false;
  }

  // ---- commands ----------------------------------------------------------

  async deploy(args: DeployArgs): Promise<void> {
    return this.serialize(args.service, () => this.deployLocked(args));
  }

  private async deployLocked(args: DeployArgs): Promise<void> {
    const name = args.service;
    validateServiceName(name);
    if (args.targets.length === 0) {
      throw new ProxyError(`service ${name}: no target given; pass --target=<host:port>`);
    }
    args.targets.forEach((t) => validateTarget(name, t));
    args.readers.forEach((t) => validateTarget(name, t));
    validateServiceOptions(name, args.serviceOptions);
    const options = normalizeServiceOptions(args.serviceOptions);
    this.checkAvailability(name, options);
    Service.checkFiles(name, options);

    this.logger.info('Deploying', {
      service: name,
      hosts: options.hosts,
      paths: options.pathPrefixes,
      targets: args.targets,
      readers: args.readers,
      tls: options.tlsEnabled,
    });
    const lb = new LoadBalancer(args.targets, args.readers, args.targetOptions, this.logger);
    lb.startHealthChecks();
    if (args.deployment.force) {
      lb.markAllHealthy();
    } else {
      try {
        await lb.waitUntilHealthy(args.deployment.deployTimeoutMs, name);
      } catch (err) {
        await lb.close();
        this.logger.info('Deploy failed', { service: name, error: describeError(err) });
        throw err;
      }
    }

    let previous: LoadBalancer | null;
    try {
      this.checkAvailability(name, options);
      let service = this.services.get(name);
      if (service === undefined) {
        service = new Service(name, options, args.targetOptions);
        this.services.set(name, service);
      } else {
        service.applyOptions(options, args.targetOptions);
      }
      previous = service.active;
      service.active = lb;
      this.rebuildTable();
      this.save();
    } catch (err) {
      await lb.close();
      throw err;
    }
    this.logger.info('Deployed', { service: name, targets: args.targets, readers: args.readers });
    if (previous !== null && previous !== lb) await previous.drainAll(args.deployment.drainTimeoutMs);
  }

  async remove(name: string): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      this.services.delete(name);
      this.rebuildTable();
      this.save();
      this.logger.info('Removed', { service: name });
      const lbs = [service.active, service.rollout].filter((lb): lb is LoadBalancer => lb !== null);
      service.pause.resume();
      // Like kamal-proxy, remove returns at once; in-flight requests get the
      // default drain window in the background, then the pools are closed.
      void Promise.all(lbs.map((lb) => lb.drainAll(DEFAULTS.drainTimeoutMs))).catch(() => undefined);
    });
  }

  async pause(name: string, drainTimeoutMs: number, pauseTimeoutMs: number): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      service.pause.pause(pauseTimeoutMs);
      this.save();
      this.logger.info('Service paused', { service: name });
      await waitForInflight(service, drainTimeoutMs);
      this.logger.info('Service drained', { service: name });
    });
  }

  async stop(name: string, drainTimeoutMs: number, message: string): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      service.pause.stop(message);
      this.save();
      this.logger.info('Service stopped', { service: name });
      await waitForInflight(service, drainTimeoutMs);
      this.logger.info('Service drained', { service: name });
    });
  }

  async resume(name: string): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      service.pause.resume();
      this.save();
      this.logger.info('Service resumed', { service: name });
    });
  }

  async rolloutDeploy(args: RolloutDeployArgs): Promise<void> {
    return this.serialize(args.service, async () => {
      const name = args.service;
      const service = this.requireService(name);
      if (args.targets.length === 0)
        throw new ProxyError(`service ${name}: no rollout target given; pass --target`);
      args.targets.forEach((t) => validateTarget(name, t));
      args.readers.forEach((t) => validateTarget(name, t));
      const lb = new LoadBalancer(args.targets, args.readers, service.targetOptions, this.logger);
      lb.startHealthChecks();
      if (args.deployment.force) lb.markAllHealthy();
      else {
        try {
          await lb.waitUntilHealthy(args.deployment.deployTimeoutMs, name);
        } catch (err) {
          await lb.close();
          throw err;
        }
      }
      const previous = service.rollout;
      service.rollout = lb;
      this.save();
      this.logger.info('Deployed rollout', { service: name, targets: args.targets });
      if (previous !== null) await previous.drainAll(args.deployment.drainTimeoutMs);
    });
  }

  async rolloutSet(name: string, percentage: number, allowlist: string[]): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      if (service.rollout === null) {
        throw new ProxyError(
          `rollout target not set for service ${name}; run \`rollout deploy ${name}\` first`,
        );
      }
      if (!Number.isInteger(percentage) || percentage < 0 || percentage > 100) {
        throw new ProxyError(
          `rollout percentage ${percentage} for service ${name} must be a whole number from 0 to 100`,
        );
      }
      service.rolloutController = new RolloutController(percentage, allowlist);
      this.save();
      this.logger.info('Rollout set', { service: name, percentage, allowlist });
    });
  }

  async rolloutStop(name: string): Promise<void> {
    return this.serialize(name, async () => {
      const service = this.requireService(name);
      service.rolloutController = null;
      this.save();
      this.logger.info('Rollout stopped', { service: name });
    });
  }

  list(): Record<string, ServiceDescription> {
    const out: Record<string, ServiceDescription> = {};
    for (const [name, s] of this.services) {
      if (s.active === null) continue;
      out[name] = {
        host: s.options.hosts.length > 0 ? s.options.hosts.join(',') : '*',
        path: s.options.pathPrefixes.join(','),
        target: s.active.writerNames().join(','),
        state: s.pause.state,
        tls: s.tlsEnabled,
      };
    }
    return out;
  }

  // ---- state --------------------------------------------------------------

  snapshot(): StateFile {
    const services: ServiceState[] = [];
    for (const s of this.services.values()) {
      services.push({
        name: s.name,
        options: s.options,
        targetOptions: s.targetOptions,
        activeTargets: s.active?.writerNames() ?? [],
        activeReaders: s.active?.readerNames() ?? [],
        rolloutTargets: s.rollout?.writerNames() ?? [],
        rolloutReaders: s.rollout?.readerNames() ?? [],
        pause: s.pause.snapshot(),
        rollout: s.rolloutController?.snapshot() ?? null,
      });
    }
    return { version: 1, services };
  }

  private save(): void {
    if (this.statePath === null) return;
    writeStateAtomically(this.statePath, this.snapshot());
  }

  /**
   * Loads the state file. Restored targets serve at once and are health
   * checked: a failing check takes them out of rotation.
   */
  restore(): number {
    if (this.statePath === null) return 0;
    const state = readState(this.statePath);
    if (state === null) return 0;
    let restored = 0;
    for (const entry of state.services) {
      try {
        const options = normalizeServiceOptions(entry.options);
        const service = new Service(entry.name, options, entry.targetOptions);
        if (entry.activeTargets.length > 0) {
          service.active = new LoadBalancer(
            entry.activeTargets,
            entry.activeReaders ?? [],
            entry.targetOptions,
            this.logger,
            true,
          );
          service.active.startHealthChecks();
        }
        if (entry.rolloutTargets?.length > 0) {
          service.rollout = new LoadBalancer(
            entry.rolloutTargets,
            entry.rolloutReaders ?? [],
            entry.targetOptions,
            this.logger,
            true,
          );
          service.rollout.startHealthChecks();
        }
        if (entry.pause) service.pause.restore(entry.pause);
        if (entry.rollout)
          service.rolloutController = new RolloutController(
            entry.rollout.percentage,
            entry.rollout.allowlist,
          );
        this.services.set(entry.name, service);
        restored++;
      } catch (err) {
        this.logger.error('Failed to restore service', { service: entry.name, error: describeError(err) });
      }
    }
    this.rebuildTable();
    this.logger.info('Restored saved state', { path: this.statePath, services: restored });
    return restored;
  }

  /** Stops every health check and closes every upstream pool (shutdown). */
  async closeAll(): Promise<void> {
    this.certificates.close();
    const lbs: LoadBalancer[] = [];
    for (const s of this.services.values()) {
      if (s.active) lbs.push(s.active);
      if (s.rollout) lbs.push(s.rollout);
      s.pause.resume();
    }
    await Promise.all(lbs.map((lb) => lb.close()));
  }

  // ---- internals ----------------------------------------------------------

  private requireService(name: string): Service {
    const service = this.services.get(name);
    if (service === undefined) {
      throw new ProxyError(`service not found: ${name}; run \`list\` to see the deployed services`);
    }
    return service;
  }

  private checkAvailability(name: string, options: ServiceOptions): void {
    const hosts = options.hosts.length > 0 ? options.hosts : [''];
    for (const [otherName, other] of this.services) {
      if (otherName === name) continue;
      for (const [h, p] of other.bindings()) {
        if (hosts.includes(h) && options.pathPrefixes.includes(p)) {
          const where = h === '' ? `the default host (no --host)` : `host ${h}`;
          throw new ProxyError(
            `host settings conflict with another service: ${where} with path ${p} is already served by service ${otherName}; remove it or deploy with a different --host or --path-prefix`,
          );
        }
      }
    }
  }

  private rebuildTable(): void {
    const table = new Map<string, Binding[]>();
    for (const service of this.services.values()) {
      for (const [h, p] of service.bindings()) {
        let list = table.get(h);
        if (list === undefined) table.set(h, (list = []));
        list.push({ prefix: p, service });
      }
    }
    for (const list of table.values()) list.sort((a, b) => b.prefix.length - a.prefix.length);
    for (const service of this.services.values()) {
      service.tlsEnabled = service.options.tlsEnabled;
      service.tlsRedirect = service.options.tlsRedirect;
      if (service.options.pathPrefixes.includes('/')) continue;
      const root = table.get(service.options.hosts[0] ?? '')?.find((b) => b.prefix === '/')?.service;
      if (root !== undefined && root.options.tlsEnabled) {
        service.tlsEnabled = true;
        service.tlsRedirect = root.options.tlsRedirect;
      }
    }
    this.table = table;
    this.wildcards = [...table.keys()].some((h) => h.startsWith('*.'));
    this.defaultOnly = table.size === 1 && table.has('') ? table.get('')! : null;
    this.certificates.sync();
    this.onChange?.();
  }

  private serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return run;
  }
}

function validateServiceName(name: string): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new ProxyError(`service name "${name}" may only contain letters, digits, "-", "_" and "."`);
  }
}

async function waitForInflight(service: Service, timeoutMs: number): Promise<void> {
  const targets = [...(service.active?.all() ?? []), ...(service.rollout?.all() ?? [])];
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && targets.some((t) => t.inflight.size > 0)) {
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Lower-cases and strips the port: "Example.COM:8080" → "example.com", "[::1]:80" → "[::1]". */
export function normalizeRequestHost(host: string): string {
  let end = host.length;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    if (close !== -1) end = close + 1;
  } else {
    const colon = host.indexOf(':');
    if (colon !== -1) end = colon;
  }
  let out = end === host.length ? host : host.slice(0, end);
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      out = out.toLowerCase();
      break;
    }
  }
  if (out.endsWith('.')) out = out.slice(0, -1);
  return out;
}
