// TLS certificates chosen by SNI: custom PEM files, and ACME certificates
// obtained automatically (acme/).
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type TLSSocket } from 'node:tls';
import { ProxyError, describeError } from './errors.js';
import type { Logger } from './logging.js';
import type { Service } from './service.js';
import { Http01Challenges } from './acme/challenges.js';
import { AcmeManager, type AcmeScope, type AcmeSettings, type CertificateEntry } from './acme/manager.js';
import { checkOnDemand, type OnDemandVerdict } from './acme/on-demand.js';
import { scopedCacheDir } from './acme/cache.js';
import { ACME_TLS_ALPN_PROTOCOL, TlsAlpnChallenges } from './acme/tls-alpn.js';

export type { AcmeSettings } from './acme/manager.js';

export interface LoadedCertificate {
  context: SecureContext;
  cert: Buffer;
  key: Buffer;
}

export function loadCertificate(service: string, certPath: string, keyPath: string): LoadedCertificate {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certPath);
  } catch (err) {
    throw new ProxyError(
      `service ${service}: cannot read TLS certificate ${certPath} (${describeError(err)}); check --tls-certificate-path`,
    );
  }
  try {
    key = readFileSync(keyPath);
  } catch (err) {
    throw new ProxyError(
      `service ${service}: cannot read TLS private key ${keyPath} (${describeError(err)}); check --tls-private-key-path`,
    );
  }
  try {
    return { context: createSecureContext({ cert, key }), cert, key };
  } catch (err) {
    throw new ProxyError(
      `service ${service}: the certificate ${certPath} and key ${keyPath} do not form a valid PEM pair (${describeError(err)})`,
    );
  }
}

// ---- certificates by SNI: custom files and ACME ----------------------------

/** What the certificate store needs from the router. */
export interface ServiceLookup {
  serviceForHost(host: string): Service | null;
  readonly services: ReadonlyMap<string, Service>;
}

/**
 * Chooses the certificate for each TLS handshake by SNI: a service's custom
 * certificate, or an ACME certificate for a host the service is deployed
 * with (cached, or issued during the handshake). Owns the ACME managers (one
 * per cache path and directory) and the HTTP-01 challenge answers.
 */
export class CertificateStore {
  readonly challenges = new Http01Challenges();
  readonly tlsAlpnChallenges = new TlsAlpnChallenges();
  private readonly managers = new Map<string, AcmeManager>();
  private readonly onDemandChecks = new Map<string, Promise<OnDemandVerdict>>();
  private settings: AcmeSettings = {};
  private tlsAlpn = false;
  private defaultCachePath = join(tmpdir(), 'wharf-proxy-certs');
  /** Called when an ACME certificate appears (the server refreshes its no-SNI default). */
  onCertificate: (() => void) | null = null;
  /** tls.Server's SNICallback (`this` is the TLS socket): never throws; no certificate fails the handshake. */
  readonly sniCallback: (
    this: TLSSocket,
    servername: string,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ) => void;
  /**
   * tls.Server's ALPNCallback, called before SNICallback: picks h2, then
   * http/1.1 (as the HTTP/2 server's own list would), and marks a
   * connection that offers only acme-tls/1 as a TLS-ALPN-01 validation.
   */
  readonly alpnCallback: (
    this: TLSSocket,
    info: { servername: string; protocols: string[] },
  ) => string | undefined;

  constructor(
    private readonly lookup: ServiceLookup,
    private readonly logger: Logger,
  ) {
    const store = this;
    this.sniCallback = function (servername, cb) {
      store.chooseContext(this, servername, cb);
    };
    this.alpnCallback = function ({ protocols }) {
      if (protocols.includes('h2')) return 'h2';
      if (protocols.includes('http/1.1')) return 'http/1.1';
      if (protocols.length === 1 && protocols[0] === ACME_TLS_ALPN_PROTOCOL) {
        (this as TLSSocket & { [ALPN_VALIDATION]?: boolean })[ALPN_VALIDATION] = true;
        return ACME_TLS_ALPN_PROTOCOL;
      }
      return undefined;
    };
  }

  /**
   * `cachePath`: default for services deployed without --tls-acme-cache-path;
   * `tlsAlpn`: whether the server wired alpnCallback (TLS-ALPN-01 possible).
   */
  configure(settings: AcmeSettings & { cachePath?: string | null; tlsAlpn?: boolean }): void {
    const { cachePath, tlsAlpn, ...rest } = settings;
    this.settings = rest;
    this.tlsAlpn = tlsAlpn ?? false;
    if (cachePath) this.defaultCachePath = cachePath;
  }

  private chooseContext(
    socket: TLSSocket | undefined,
    servername: string,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void {
    try {
      const name = normalizeServerName(servername);
      if (socket !== undefined && (socket as TLSSocket & { [ALPN_VALIDATION]?: boolean })[ALPN_VALIDATION]) {
        // A CA validating TLS-ALPN-01: only the challenge certificate, never the real one.
        const challenge = this.tlsAlpnChallenges.get(name);
        if (challenge === null) cb(new Error(`no TLS-ALPN-01 challenge pending for ${name}`));
        else cb(null, challenge);
        return;
      }
      const service = this.lookup.serviceForHost(name);
      if (service === null || !service.options.tlsEnabled) {
        cb(new Error(`no TLS service for ${name}`));
        return;
      }
      if (service.secureContext !== null) {
        cb(null, service.secureContext);
        return;
      }
      const onDemand = isOnDemandService(service);
      if (!isAcmeService(service) || (!onDemand && !service.options.hosts.includes(name))) {
        cb(new Error(`no certificate for ${name}`));
        return;
      }
      const manager = this.managerFor(service);
      const cached = manager.cached(name);
      if (cached !== null) {
        cb(null, cached.context);
        return;
      }
      const issued = onDemand ? this.issueOnDemand(service, manager, name) : manager.issue(name);
      issued.then(
        (entry) => cb(null, entry.context),
        (err: Error) => cb(err),
      );
    } catch (err) {
      this.logger.error('Could not choose a TLS certificate', {
        host: servername,
        error: describeError(err),
      });
      cb(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /**
   * On-demand TLS: asks the service's --tls-on-demand-url whether `host` may
   * have a certificate (one question per host at a time), then orders it.
   * A host with a cached certificate is never asked (chooseContext serves it).
   */
  private issueOnDemand(service: Service, manager: AcmeManager, host: string): Promise<CertificateEntry> {
    const key = `${manager.scope.cacheDir}\0${host}`;
    let pending = this.onDemandChecks.get(key);
    if (pending === undefined) {
      const url = service.options.tlsOnDemandUrl;
      const paused = service.pause.state;
      const target = service.active?.pickWriter() ?? null;
      pending = checkOnDemand({
        url,
        host,
        target: target === null ? null : { host: target.host, port: target.port },
        unavailable: paused === 'running' ? null : `the service is ${paused}`,
      }).finally(() => this.onDemandChecks.delete(key));
      this.onDemandChecks.set(key, pending);
    }
    return pending.then((verdict) => {
      if (!verdict.allowed) {
        this.logger.warn('On-demand TLS denied a certificate', {
          host,
          service: service.name,
          url: service.options.tlsOnDemandUrl,
          result: verdict.detail,
        });
        throw new Error(`no certificate for ${host}: the on-demand TLS check answered ${verdict.detail}`);
      }
      return manager.issue(host);
    });
  }

  /** The HTTP-01 key authorization for a plain-HTTP request, or null to route it as usual. */
  challengeAnswer(host: string, path: string): string | null {
    return this.challenges.answer(host, path);
  }

  /** The ACME certificate of a service's first host, if one is held (for clients without SNI). */
  defaultFor(service: Service): LoadedCertificate | null {
    if (!isAcmeService(service) || service.options.hosts.length === 0) return null;
    const entry = this.managerFor(service).cached(service.options.hosts[0]!);
    return entry === null ? null : { context: entry.context, cert: entry.cert, key: entry.key };
  }

  /**
   * After a routing change (deploy, remove, restore): load the cached
   * certificates of every ACME host, so renewal runs without waiting for a
   * handshake, and stop renewing hosts that are no longer deployed with ACME.
   */
  sync(): void {
    const keep = new Map<string, Set<string>>();
    // Scopes with an on-demand service keep renewing whatever they issued.
    const keepAll = new Set<string>();
    for (const service of this.lookup.services.values()) {
      if (!isAcmeService(service)) continue;
      const manager = this.managerFor(service);
      const key = manager.scope.cacheDir;
      if (isOnDemandService(service)) keepAll.add(key);
      let hosts = keep.get(key);
      if (hosts === undefined) keep.set(key, (hosts = new Set()));
      for (const h of service.options.hosts) {
        hosts.add(h);
        if (manager.inMemory(h) === null) manager.cached(h);
      }
    }
    for (const [key, manager] of this.managers) {
      if (!keepAll.has(key)) manager.retain(keep.get(key) ?? new Set());
    }
  }

  close(): void {
    for (const m of this.managers.values()) m.close();
    this.managers.clear();
  }

  private scopeOf(service: Service): AcmeScope {
    const o = service.options;
    const cachePath = o.acmeCachePath !== '' ? o.acmeCachePath : this.defaultCachePath;
    return { cacheDir: scopedCacheDir(cachePath, o.acmeDirectory), directory: o.acmeDirectory };
  }

  private managerFor(service: Service): AcmeManager {
    const scope = this.scopeOf(service);
    let manager = this.managers.get(scope.cacheDir);
    if (manager === undefined) {
      manager = new AcmeManager(
        scope,
        this.settings,
        this.logger,
        { http01: this.challenges, tlsAlpn01: this.tlsAlpn ? this.tlsAlpnChallenges : null },
        (host) => {
          const s = this.lookup.serviceForHost(host);
          return (
            s !== null &&
            isAcmeService(s) &&
            (s.options.hosts.includes(host) || isOnDemandService(s)) &&
            this.scopeOf(s).cacheDir === scope.cacheDir
          );
        },
        () => this.onCertificate?.(),
      );
      this.managers.set(scope.cacheDir, manager);
    }
    return manager;
  }
}

/** A TLS service without a custom certificate: its certificates come from ACME. */
export function isAcmeService(service: Service): boolean {
  return service.options.tlsEnabled && service.options.tlsCertificatePath === '';
}

/** An ACME service that asks --tls-on-demand-url before ordering a certificate for an unlisted host. */
export function isOnDemandService(service: Service): boolean {
  return isAcmeService(service) && service.options.tlsOnDemandUrl !== '';
}

const ALPN_VALIDATION = Symbol('acme-tls/1 validation');

function normalizeServerName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}
