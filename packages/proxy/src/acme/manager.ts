// Automatic certificates for one ACME scope (cache path + directory), as
// kamal-proxy gets them from autocert: a certificate per host, issued on the
// first TLS handshake for an allowed host, kept in the cache, renewed in the
// background when less than 30 days remain. One order per host at a time;
// after a failure the host waits (5 min, doubling up to a day) before the
// next order, so a broken DNS record does not burn the CA's rate limits.
import {
  X509Certificate,
  createHash,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from '../logging.js';
import { describeError } from '../errors.js';
import { AccountKey, type ExternalAccount } from './jws.js';
import { AcmeClient, AcmeError, AcmeValidationError, LETS_ENCRYPT_DIRECTORY } from './client.js';
import { ACCOUNT_KEY_NAME, CertificateCache, certificateFile, splitCertificateFile } from './cache.js';
import {
  NoViableChallengeError,
  orderCertificate,
  type ChallengeResponders,
  type ChallengeType,
} from './order.js';

export interface AcmeSettings {
  /** PEM roots trusted for the ACME server instead of Node's (a private CA); default Node's roots and NODE_EXTRA_CA_CERTS. */
  ca?: readonly (string | Buffer)[];
  /** Renew when less than this remains; default 30 days (autocert's RenewBefore). */
  renewBeforeMs?: number;
  /** First wait after a failed order; default 5 minutes, doubling per failure. */
  retryAfterFailureMs?: number;
  /** Longest wait after failures; default 24 hours. */
  maxRetryAfterFailureMs?: number;
  /** Whole order deadline; default 5 minutes (autocert's). */
  orderTimeoutMs?: number;
  /** One HTTP request to the ACME server; default 30 s. */
  requestTimeoutMs?: number;
  /** Floor for polling intervals; default 100 ms. */
  minPollMs?: number;
  /** Challenge types in order of preference; default http-01, then tls-alpn-01 (when HTTPS listens). */
  challengeTypes?: ChallengeType[];
  /** External account binding sent when registering (`run` reads EAB_KID and EAB_HMAC_KEY). */
  externalAccount?: ExternalAccount | null;
}

const DAY = 24 * 60 * 60 * 1000;
const MAX_TIMER = 2 ** 31 - 1;

export interface CertificateEntry {
  readonly host: string;
  readonly context: SecureContext;
  /** The chain PEM (leaf first) and the key PEM, as for setSecureContext. */
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly notAfter: number;
  readonly serial: string;
}

export interface AcmeScope {
  /** The scoped cache directory (<cache path>/<sha256(directory)>). */
  cacheDir: string;
  /** The directory option as deployed ("" = Let's Encrypt production). */
  directory: string;
}

export class AcmeManager {
  private readonly cache: CertificateCache;
  private readonly certificates = new Map<string, CertificateEntry>();
  private readonly inflight = new Map<string, Promise<CertificateEntry>>();
  private readonly failures = new Map<string, { until: number; delay: number; message: string }>();
  private readonly renewals = new Map<string, NodeJS.Timeout>();
  private readonly unusable = new Map<string, string>();
  private readonly abort = new AbortController();
  private client: AcmeClient | null = null;
  private closed = false;
  readonly directoryUrl: string;

  constructor(
    readonly scope: AcmeScope,
    private readonly settings: AcmeSettings,
    private readonly logger: Logger,
    private readonly responders: ChallengeResponders,
    /** Whether `host` is still configured for this scope (checked before every order). */
    private readonly isAllowed: (host: string) => boolean,
    /** Called when a certificate is issued, renewed or loaded. */
    private readonly onCertificate: () => void,
  ) {
    this.cache = new CertificateCache(scope.cacheDir);
    this.directoryUrl = scope.directory === '' ? LETS_ENCRYPT_DIRECTORY : scope.directory;
  }

  /** A certificate in memory or in the cache that has not expired; schedules its renewal. */
  cached(host: string): CertificateEntry | null {
    const entry = this.certificates.get(host);
    if (entry !== undefined && entry.notAfter > Date.now()) return entry;
    if (entry !== undefined) this.certificates.delete(host);
    const data = this.cache.read(host);
    if (data === null) return null;
    let loaded: CertificateEntry;
    try {
      loaded = certificateEntry(host, data.toString('utf8'));
    } catch (err) {
      // Said once per file content, not on every handshake that misses.
      const fingerprint = createHash('sha256').update(data).digest('hex');
      if (this.unusable.get(host) !== fingerprint) {
        this.unusable.set(host, fingerprint);
        this.logger.warn('Ignoring unusable cached certificate', {
          host,
          path: `${this.scope.cacheDir}/${host}`,
          error: describeError(err),
        });
      }
      return null;
    }
    this.unusable.delete(host);
    this.certificates.set(host, loaded);
    this.scheduleRenewal(loaded, false);
    this.onCertificate();
    return loaded;
  }

  /** A usable certificate for an allowed host: cached, or issued now (one order per host at a time). */
  obtain(host: string): Promise<CertificateEntry> {
    const cached = this.cached(host);
    if (cached !== null) return Promise.resolve(cached);
    return this.issue(host);
  }

  /** The certificate currently held in memory, without touching the disk. */
  inMemory(host: string): CertificateEntry | null {
    return this.certificates.get(host) ?? null;
  }

  /** Stops renewing hosts that are no longer configured. */
  retain(hosts: ReadonlySet<string>): void {
    for (const [host, timer] of this.renewals) {
      if (hosts.has(host)) continue;
      clearTimeout(timer);
      this.renewals.delete(host);
      this.certificates.delete(host);
    }
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
    for (const timer of this.renewals.values()) clearTimeout(timer);
    this.renewals.clear();
  }

  // ---- issuance -------------------------------------------------------------

  /**
   * Orders a certificate for an allowed host (joining the order in flight,
   * if any). Refused while the host waits after a failure, unless this is a
   * renewal (whose timer already waited).
   */
  issue(host: string, renewal = false): Promise<CertificateEntry> {
    const running = this.inflight.get(host);
    if (running !== undefined) return running;
    const failure = this.failures.get(host);
    if (!renewal && failure !== undefined && Date.now() < failure.until) {
      return Promise.reject(
        new Error(
          `no certificate for ${host}: the last ACME order failed (${failure.message}); next try after ${new Date(failure.until).toISOString()}`,
        ),
      );
    }
    if (this.closed) return Promise.reject(new Error('the proxy is stopping'));
    const run = this.runOrder(host).finally(() => this.inflight.delete(host));
    this.inflight.set(host, run);
    run.catch(() => undefined);
    return run;
  }

  private async runOrder(host: string): Promise<CertificateEntry> {
    const started = Date.now();
    this.logger.info('Requesting certificate', { host, directory: this.directoryUrl });
    try {
      const client = this.acmeClient();
      const key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
      const deadline = started + (this.settings.orderTimeoutMs ?? 5 * 60_000);
      const chain = await this.orderWithFallback(client, host, key, deadline);
      const keyPem = key.export({ type: 'sec1', format: 'pem' }) as string;
      const file = certificateFile(keyPem, chain);
      const entry = certificateEntry(host, file);
      try {
        this.cache.write(host, file);
      } catch (err) {
        this.logger.error('Could not write the certificate cache', {
          host,
          path: this.scope.cacheDir,
          error: describeError(err),
        });
      }
      this.certificates.set(host, entry);
      this.failures.delete(host);
      this.scheduleRenewal(entry, true);
      this.logger.info('Certificate issued', {
        host,
        directory: this.directoryUrl,
        not_after: new Date(entry.notAfter).toISOString(),
        duration_ms: Date.now() - started,
      });
      this.onCertificate();
      return entry;
    } catch (err) {
      const previous = this.failures.get(host);
      const base = this.settings.retryAfterFailureMs ?? 5 * 60_000;
      const max = this.settings.maxRetryAfterFailureMs ?? DAY;
      let delay = previous === undefined ? base : Math.min(previous.delay * 2, max);
      // A rate-limited CA says when to come back; never sooner than that.
      if (err instanceof AcmeError && err.retryAfterMs !== null) delay = Math.max(delay, err.retryAfterMs);
      const message = describeError(err);
      this.failures.set(host, { until: Date.now() + delay, delay, message });
      if (!this.closed) {
        this.logger.error('Certificate request failed', {
          host,
          directory: this.directoryUrl,
          error: message,
          retry_in_s: Math.round(delay / 1000),
        });
      }
      throw err;
    } finally {
      // Close kept-alive connections once no other order uses them.
      if (this.inflight.size <= 1) this.client?.release();
    }
  }

  /**
   * One order per challenge type, as autocert: when the CA could not
   * validate one type (a firewall on port 80, a TLS-terminating balancer on
   * 443), a new order tries the next.
   */
  private async orderWithFallback(
    client: AcmeClient,
    host: string,
    key: KeyObject,
    deadline: number,
  ): Promise<string> {
    const all = this.settings.challengeTypes ?? ['http-01', 'tls-alpn-01'];
    const types = all.filter((t) => t !== 'tls-alpn-01' || this.responders.tlsAlpn01 !== null);
    let firstFailure: AcmeValidationError | null = null;
    for (let start = 0; ;) {
      try {
        return await orderCertificate(client, [host], key, this.responders, types.slice(start), deadline);
      } catch (err) {
        // The CA does not offer the next type: the validation failure is the news.
        if (err instanceof NoViableChallengeError && firstFailure !== null) throw firstFailure;
        if (!(err instanceof AcmeValidationError) || this.closed) throw err;
        firstFailure ??= err;
        const failed = types.indexOf(err.challengeType as ChallengeType);
        start = failed === -1 ? start + 1 : failed + 1;
        if (start >= types.length) throw err;
        this.logger.warn('Certificate challenge failed, trying the next type', {
          host,
          directory: this.directoryUrl,
          error: err.message,
          next: types[start],
        });
      }
    }
  }

  private acmeClient(): AcmeClient {
    if (this.client !== null) return this.client;
    let accountKey: AccountKey | null = null;
    const stored = this.cache.read(ACCOUNT_KEY_NAME);
    if (stored !== null) {
      try {
        accountKey = AccountKey.fromPem(stored);
      } catch (err) {
        throw new Error(
          `the ACME account key ${this.scope.cacheDir}/${ACCOUNT_KEY_NAME} is unreadable (${describeError(err)}); move it away to register a new account`,
        );
      }
    } else {
      accountKey = AccountKey.generate();
      this.cache.write(ACCOUNT_KEY_NAME, accountKey.toPem());
    }
    this.client = new AcmeClient({
      directoryUrl: this.scope.directory,
      accountKey,
      ca: this.settings.ca,
      requestTimeoutMs: this.settings.requestTimeoutMs,
      minPollMs: this.settings.minPollMs,
      externalAccount: this.settings.externalAccount ?? null,
      signal: this.abort.signal,
    });
    return this.client;
  }

  // ---- renewal ----------------------------------------------------------------

  private scheduleRenewal(entry: CertificateEntry, fresh: boolean): void {
    const previous = this.renewals.get(entry.host);
    if (previous !== undefined) clearTimeout(previous);
    if (this.closed) return;
    const renewAt = entry.notAfter - (this.settings.renewBeforeMs ?? 30 * DAY);
    let delay = Math.max(0, renewAt - Date.now());
    // A certificate that is due for renewal the moment it is issued (a CA
    // with short lifetimes) is renewed no more often than the failure retry.
    if (fresh && delay === 0) delay = this.settings.retryAfterFailureMs ?? 5 * 60_000;
    const timer = setTimeout(
      () => {
        this.renewals.delete(entry.host);
        if (delay > MAX_TIMER) return this.scheduleRenewal(entry, false);
        void this.renew(entry.host);
      },
      Math.min(delay, MAX_TIMER),
    );
    timer.unref();
    this.renewals.set(entry.host, timer);
  }

  private async renew(host: string): Promise<void> {
    if (this.closed || !this.isAllowed(host)) {
      this.certificates.delete(host);
      return;
    }
    const current = this.certificates.get(host);
    try {
      await this.issue(host, true);
    } catch {
      // Logged by runOrder; keep serving the current certificate until it expires and try again later.
      if (current !== undefined && !this.closed) {
        const wait = this.failures.get(host)?.delay ?? this.settings.retryAfterFailureMs ?? 5 * 60_000;
        const timer = setTimeout(
          () => {
            this.renewals.delete(host);
            void this.renew(host);
          },
          Math.min(wait, MAX_TIMER),
        );
        timer.unref();
        this.renewals.set(host, timer);
      }
    }
  }
}

/** Parses and checks a cache file: the key matches the leaf, the leaf covers the host and has not expired. */
export function certificateEntry(host: string, file: string): CertificateEntry {
  const parts = splitCertificateFile(file);
  if (parts === null) throw new Error('the file holds no private key and certificate');
  const leaf = new X509Certificate(parts.chainPem);
  const key = createPrivateKey(parts.keyPem);
  if (!leaf.checkPrivateKey(key)) throw new Error('the private key does not match the certificate');
  if (leaf.checkHost(host) === undefined) throw new Error(`the certificate does not cover ${host}`);
  const notAfter = Date.parse(leaf.validTo);
  const notBefore = Date.parse(leaf.validFrom);
  const now = Date.now();
  if (Number.isNaN(notAfter) || notAfter <= now)
    throw new Error(`the certificate expired on ${leaf.validTo}`);
  if (!Number.isNaN(notBefore) && notBefore > now + 60_000) {
    throw new Error(`the certificate is not valid before ${leaf.validFrom}`);
  }
  const cert = Buffer.from(parts.chainPem);
  const keyPem = Buffer.from(parts.keyPem);
  return {
    host,
    context: createSecureContext({ cert, key: keyPem }),
    cert,
    key: keyPem,
    notAfter,
    serial: leaf.serialNumber,
  };
}
