/** kamal-proxy settings: per app (deploy options) and per host (how the proxy container runs). */
import { isIPv6 } from 'node:net';
import { argumentize, optionize, present, rubyString } from './shell-args.js';
import { deepMerge } from './logging.js';

export const PROXY_MINIMUM_VERSION = 'v0.9.2';
export const PROXY_CONTAINER_NAME = 'kamal-proxy';
export const PROXY_DEFAULT_HTTP_PORT = 80;
export const PROXY_DEFAULT_HTTPS_PORT = 443;
export const PROXY_DEFAULT_LOG_MAX_SIZE = '10m';
export const PROXY_DEFAULT_LOG_REQUEST_HEADERS = ['Cache-Control', 'Last-Modified', 'User-Agent'];
export const PROXY_APPS_CONTAINER_DIRECTORY = '/home/kamal-proxy/.apps-config';
export const PROXY_CONFIG_VOLUME = 'kamal-proxy-config';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** What a Proxy needs from the whole config. */
export interface ProxyContext {
  serviceAndDestination: string;
  runDirectory: string;
  deployTimeout: number;
  drainTimeout: number;
  errorPagesPath: string | undefined;
  /** Lazily, since the version may need git. */
  version(): string;
}

/** Paths of the proxy's shared directories on a host (Kamal's Proxy::Boot). */
export class ProxyBoot {
  constructor(
    private readonly runDirectory: string,
    private readonly serviceAndDestination: string,
  ) {}
  get hostDirectory(): string {
    return `${this.runDirectory}/proxy`;
  }
  get appsDirectory(): string {
    return `${this.hostDirectory}/apps-config`;
  }
  get appsContainerDirectory(): string {
    return PROXY_APPS_CONTAINER_DIRECTORY;
  }
  get appDirectory(): string {
    return `${this.appsDirectory}/${this.serviceAndDestination}`;
  }
  get appContainerDirectory(): string {
    return `${this.appsContainerDirectory}/${this.serviceAndDestination}`;
  }
  get errorPagesDirectory(): string {
    return `${this.appDirectory}/error_pages`;
  }
  get errorPagesContainerDirectory(): string {
    return `${this.appContainerDirectory}/error_pages`;
  }
  get tlsDirectory(): string {
    return `${this.appDirectory}/tls`;
  }
  get tlsContainerDirectory(): string {
    return `${this.appContainerDirectory}/tls`;
  }
  get optionsFile(): string {
    return `${this.hostDirectory}/options`;
  }
  get imageFile(): string {
    return `${this.hostDirectory}/image`;
  }
  get imageVersionFile(): string {
    return `${this.hostDirectory}/image_version`;
  }
  get runCommandFile(): string {
    return `${this.hostDirectory}/run_command`;
  }
  /** `--publish 80:80 --publish 443:443 --log-opt max-size=10m`: the legacy default boot options. */
  get defaultBootOptions(): string[] {
    return [
      ...publishArgs(PROXY_DEFAULT_HTTP_PORT, PROXY_DEFAULT_HTTPS_PORT, undefined),
      ...argumentize('--log-opt', `max-size=${PROXY_DEFAULT_LOG_MAX_SIZE}`),
    ];
  }
  get imageDefault(): string {
    return 'basecamp/kamal-proxy';
  }
}

function formatBindIp(ip: string | undefined): string | undefined {
  if (ip !== undefined && isIPv6(ip) && !/^\[.*\]$/.test(ip)) return `[${ip}]`;
  return ip;
}

function publishArgs(httpPort: unknown, httpsPort: unknown, bindIps: string[] | undefined): string[] {
  return (bindIps ?? [undefined]).flatMap((ip) => {
    const bind = formatBindIp(ip);
    const http = [bind, httpPort, PROXY_DEFAULT_HTTP_PORT]
      .filter((x) => x !== undefined && x !== null)
      .map(rubyString)
      .join(':');
    const https = [bind, httpsPort, PROXY_DEFAULT_HTTPS_PORT]
      .filter((x) => x !== undefined && x !== null)
      .map(rubyString)
      .join(':');
    return argumentize('--publish', [http, https]);
  });
}

/** proxy.run: how the kamal-proxy container is started on a host. */
export class ProxyRun {
  constructor(
    readonly raw: Hash,
    private readonly runDirectory: string,
    private readonly serviceAndDestination: string,
  ) {}
  get debug(): boolean {
    return this.raw.debug === true;
  }
  get publish(): boolean {
    return this.raw.publish !== false;
  }
  get httpPort(): number {
    return typeof this.raw.http_port === 'number' ? this.raw.http_port : PROXY_DEFAULT_HTTP_PORT;
  }
  get httpsPort(): number {
    return typeof this.raw.https_port === 'number' ? this.raw.https_port : PROXY_DEFAULT_HTTPS_PORT;
  }
  get bindIps(): string[] | undefined {
    return Array.isArray(this.raw.bind_ips) ? this.raw.bind_ips.map(rubyString) : undefined;
  }
  get logMaxSize(): string {
    return 'log_max_size' in this.raw ? rubyString(this.raw.log_max_size) : PROXY_DEFAULT_LOG_MAX_SIZE;
  }
  get version(): string {
    return 'version' in this.raw ? rubyString(this.raw.version) : PROXY_MINIMUM_VERSION;
  }
  get registry(): string | undefined {
    return this.raw.registry === undefined ? undefined : rubyString(this.raw.registry);
  }
  get repository(): string {
    return 'repository' in this.raw ? rubyString(this.raw.repository) : 'basecamp/kamal-proxy';
  }
  get image(): string {
    return `${[this.registry, this.repository].filter((x) => x !== undefined).join('/')}:${this.version}`;
  }
  get containerName(): string {
    return PROXY_CONTAINER_NAME;
  }
  get metricsPort(): number | undefined {
    return typeof this.raw.metrics_port === 'number' ? this.raw.metrics_port : undefined;
  }
  /** Each bind address's `--publish` pair, joined into one string per address as Kamal does. */
  publishArgs(): string[] {
    if (!this.publish) return [];
    return (this.bindIps ?? [undefined]).map((ip) =>
      publishArgs(this.httpPort, this.httpsPort, ip === undefined ? undefined : [ip]).join(' '),
    );
  }
  loggingArgs(): string[] {
    return present(this.logMaxSize) ? argumentize('--log-opt', `max-size=${this.logMaxSize}`) : [];
  }
  optionsArgs(): string[] {
    return isHash(this.raw.options) ? optionize(this.raw.options) : [];
  }
  runCommand(): string {
    const opts: Hash = {};
    if (this.debug) opts.debug = true;
    if (this.metricsPort !== undefined) opts['metrics-port'] = this.metricsPort;
    return ['kamal-proxy', 'run', ...optionize(opts)].join(' ');
  }
  get appsDirectory(): string {
    return `${this.runDirectory}/proxy/apps-config`;
  }
  appsVolumeArgs(): string[] {
    return ['--volume', `$PWD/${this.appsDirectory}:${PROXY_APPS_CONTAINER_DIRECTORY}`];
  }
  /** Everything between `docker run --name kamal-proxy ... --volume kamal-proxy-config:...` and the image. */
  dockerOptionsArgs(): string[] {
    return [
      ...this.appsVolumeArgs(),
      ...this.publishArgs(),
      ...this.loggingArgs(),
      ...(this.metricsPort !== undefined ? [`--expose=${this.metricsPort}`] : []),
      ...this.optionsArgs(),
    ];
  }
  get appDirectory(): string {
    return `${this.appsDirectory}/${this.serviceAndDestination}`;
  }
  get appContainerDirectory(): string {
    return `${PROXY_APPS_CONTAINER_DIRECTORY}/${this.serviceAndDestination}`;
  }
  /** Run settings are equal when their raw hashes are (Kamal compares the hashes). */
  equals(other: ProxyRun): boolean {
    return canonical(this.raw) === canonical(other.raw);
  }
}

export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (isHash(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** The proxy settings of one role (already merged over the root) or accessory. */
export class Proxy {
  readonly run: ProxyRun | undefined;
  constructor(
    readonly raw: Hash,
    private readonly ctx: ProxyContext,
    readonly roleName?: string,
  ) {
    this.run =
      isHash(raw.run) && present(raw.run)
        ? new ProxyRun(raw.run, ctx.runDirectory, ctx.serviceAndDestination)
        : undefined;
  }

  get appPort(): number {
    return 'app_port' in this.raw && typeof this.raw.app_port === 'number' ? this.raw.app_port : 80;
  }
  get ssl(): boolean {
    return this.raw.ssl !== undefined && this.raw.ssl !== false && this.raw.ssl !== null;
  }
  get hosts(): string[] {
    if (Array.isArray(this.raw.hosts)) return this.raw.hosts.map(rubyString);
    if (this.raw.host !== undefined && this.raw.host !== null) return rubyString(this.raw.host).split(',');
    return [];
  }
  get customSslCertificate(): boolean {
    const ssl = this.raw.ssl;
    return isHash(ssl) && present(ssl.certificate_pem) && present(ssl.private_key_pem);
  }
  /** Secret names of a custom certificate (values come from the secrets module). */
  get certificatePemSecret(): string | undefined {
    return isHash(this.raw.ssl) && this.raw.ssl.certificate_pem !== undefined
      ? rubyString(this.raw.ssl.certificate_pem)
      : undefined;
  }
  get privateKeyPemSecret(): string | undefined {
    return isHash(this.raw.ssl) && this.raw.ssl.private_key_pem !== undefined
      ? rubyString(this.raw.ssl.private_key_pem)
      : undefined;
  }
  private get boot(): ProxyBoot {
    return new ProxyBoot(this.ctx.runDirectory, this.ctx.serviceAndDestination);
  }
  private tlsPath(dir: string, file: string): string | undefined {
    return this.customSslCertificate
      ? [dir, this.roleName, file].filter((x) => x !== undefined).join('/')
      : undefined;
  }
  get hostTlsCert(): string | undefined {
    return this.tlsPath(this.boot.tlsDirectory, 'cert.pem');
  }
  get hostTlsKey(): string | undefined {
    return this.tlsPath(this.boot.tlsDirectory, 'key.pem');
  }
  get containerTlsCert(): string | undefined {
    return this.tlsPath(this.boot.tlsContainerDirectory, 'cert.pem');
  }
  get containerTlsKey(): string | undefined {
    return this.tlsPath(this.boot.tlsContainerDirectory, 'key.pem');
  }
  get pathPrefixes(): string[] {
    if (Array.isArray(this.raw.path_prefixes)) return this.raw.path_prefixes.map(rubyString);
    if (this.raw.path_prefix !== undefined && this.raw.path_prefix !== null)
      return rubyString(this.raw.path_prefix).split(',');
    return [];
  }

  private dig(section: string, key: string): unknown {
    const s = this.raw[section];
    return isHash(s) ? s[key] : undefined;
  }

  /** kamal-proxy deploy options, in Kamal's order, unset ones left out. */
  deployOptions(): Record<string, unknown> {
    const seconds = (v: unknown) =>
      v === undefined || v === null || v === false ? undefined : `${rubyString(v)}s`;
    const buffering = isHash(this.raw.buffering) ? this.raw.buffering : undefined;
    const errorPages =
      this.ctx.errorPagesPath !== undefined
        ? `${this.boot.errorPagesContainerDirectory}/${this.ctx.version()}`
        : undefined;
    const opts: Record<string, unknown> = {
      host: this.hosts,
      tls: this.ssl ? true : undefined,
      'tls-certificate-path': this.containerTlsCert,
      'tls-private-key-path': this.containerTlsKey,
      'deploy-timeout': seconds(this.ctx.deployTimeout),
      'drain-timeout': seconds(this.ctx.drainTimeout),
      'health-check-interval': seconds(this.dig('healthcheck', 'interval')),
      'health-check-timeout': seconds(this.dig('healthcheck', 'timeout')),
      'health-check-path': this.dig('healthcheck', 'path'),
      'target-timeout': seconds(this.raw.response_timeout),
      'buffer-requests': buffering && 'requests' in buffering ? buffering.requests : true,
      'buffer-responses': buffering && 'responses' in buffering ? buffering.responses : true,
      'buffer-memory': this.dig('buffering', 'memory'),
      'max-request-body': this.dig('buffering', 'max_request_body'),
      'max-response-body': this.dig('buffering', 'max_response_body'),
      'path-prefix': this.pathPrefixes,
      'strip-path-prefix': this.raw.strip_path_prefix,
      'forward-headers': this.raw.forward_headers,
      'tls-redirect': this.raw.ssl_redirect,
      'log-request-header': this.dig('logging', 'request_headers') ?? PROXY_DEFAULT_LOG_REQUEST_HEADERS,
      'log-response-header': this.dig('logging', 'response_headers'),
      'error-pages': errorPages,
    };
    for (const k of Object.keys(opts)) if (opts[k] === undefined || opts[k] === null) delete opts[k];
    return opts;
  }

  /** `--target="<id>:<port>" --host="..." ...` for `kamal-proxy deploy`. */
  deployCommandArgs(target: string): string[] {
    return optionize({ target: `${target}:${this.appPort}`, ...this.deployOptions() }, { with: '=' });
  }

  stopCommandArgs(options: { drainTimeout?: number; message?: string } = {}): string[] {
    const opts: Record<string, unknown> = {};
    if (options.drainTimeout !== undefined) opts['drain-timeout'] = `${options.drainTimeout}s`;
    if (options.message !== undefined) opts.message = options.message;
    return optionize(opts, { with: '=' });
  }

  /** This proxy's settings over `base` (a role's proxy over the root proxy). */
  over(base: Proxy): Proxy {
    return new Proxy(deepMerge(base.raw, this.raw) as Hash, this.ctx, this.roleName);
  }
}
