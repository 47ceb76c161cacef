// One deployed service: its options, the active and rollout load balancers,
// pause state, rollout split, error pages and TLS context.
import type { SecureContext } from 'node:tls';
import type { LoadBalancer } from './loadbalancer.js';
import type { ServiceOptions, TargetOptions } from './options.js';
import { ErrorPages } from './pages.js';
import { PauseController } from './pause.js';
import type { RolloutController } from './rollout.js';
import { loadCertificate, type LoadedCertificate } from './tls.js';

export class Service {
  readonly name: string;
  options!: ServiceOptions;
  targetOptions!: TargetOptions;
  active: LoadBalancer | null = null;
  rollout: LoadBalancer | null = null;
  rolloutController: RolloutController | null = null;
  readonly pause = new PauseController();
  errorPages: ErrorPages | null = null;
  secureContext: SecureContext | null = null;
  certificate: LoadedCertificate | null = null;
  excludeMetricsPaths: Set<string> = new Set();
  /**
   * TLS as applied to requests: a service that does not serve "/" inherits
   * TLS and the redirect from the root-path service of its first host (as
   * kamal-proxy does), so /api under a TLS site is served over HTTPS too.
   */
  tlsEnabled = false;
  tlsRedirect = false;
  /** Lower-cased header names to log as req_<name> / resp_<name>. */
  logRequestHeaders: string[] = [];
  logResponseHeaders: string[] = [];

  constructor(name: string, options: ServiceOptions, targetOptions: TargetOptions) {
    this.name = name;
    this.applyOptions(options, targetOptions);
  }

  /** Installs new options; loads error pages and certificates first so a bad file fails the deploy. */
  applyOptions(options: ServiceOptions, targetOptions: TargetOptions): void {
    const errorPages =
      options.errorPagePath !== '' ? ErrorPages.fromDirectory(options.errorPagePath, this.name) : null;
    const certificate =
      options.tlsEnabled && options.tlsCertificatePath !== ''
        ? loadCertificate(this.name, options.tlsCertificatePath, options.tlsPrivateKeyPath)
        : null;
    this.options = options;
    this.targetOptions = targetOptions;
    this.tlsEnabled = options.tlsEnabled;
    this.tlsRedirect = options.tlsRedirect;
    this.errorPages = errorPages;
    this.certificate = certificate;
    this.secureContext = certificate?.context ?? null;
    this.excludeMetricsPaths = new Set(options.excludeMetricsPaths);
    this.logRequestHeaders = targetOptions.logRequestHeaders.map((h) => h.toLowerCase());
    this.logResponseHeaders = targetOptions.logResponseHeaders.map((h) => h.toLowerCase());
  }

  /** Validates the options' files without installing them (used before the health wait). */
  static checkFiles(name: string, options: ServiceOptions): void {
    if (options.errorPagePath !== '') ErrorPages.fromDirectory(options.errorPagePath, name);
    if (options.tlsEnabled && options.tlsCertificatePath !== '') {
      loadCertificate(name, options.tlsCertificatePath, options.tlsPrivateKeyPath);
    }
  }

  /** The (host, path-prefix) pairs this service claims; "" is the default host. */
  bindings(): Array<[string, string]> {
    const hosts = this.options.hosts.length > 0 ? this.options.hosts : [''];
    const out: Array<[string, string]> = [];
    for (const h of hosts) for (const p of this.options.pathPrefixes) out.push([h, p]);
    return out;
  }
}
