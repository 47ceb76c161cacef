// An RFC 8555 ACME client: directory, nonces, account registration, orders,
// authorizations and challenges, finalization and certificate download.
// Every POST is a JWS signed with the account key (jws.ts).
import { AccountKey, externalAccountBinding, type ExternalAccount } from './jws.js';
import http from 'node:http';
import https from 'node:https';
import { httpRequest, type HttpResult } from './http.js';

export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

export interface AcmeDirectory {
  newNonce: string;
  newAccount: string;
  newOrder: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean };
}

export type AcmeStatus =
  'pending' | 'ready' | 'processing' | 'valid' | 'invalid' | 'expired' | 'deactivated' | 'revoked';

export interface AcmeProblem {
  type?: string;
  detail?: string;
  status?: number;
  subproblems?: AcmeProblem[];
}

export interface AcmeOrder {
  status: AcmeStatus;
  identifiers: Array<{ type: string; value: string }>;
  authorizations: string[];
  finalize: string;
  certificate?: string;
  error?: AcmeProblem;
}

export interface AcmeChallenge {
  type: string;
  url: string;
  token: string;
  status: AcmeStatus;
  error?: AcmeProblem;
}

export interface AcmeAuthorization {
  status: AcmeStatus;
  identifier: { type: string; value: string };
  challenges: AcmeChallenge[];
}

/** An ACME server said no, or could not be reached; the message says where and why. */
export class AcmeError extends Error {
  constructor(
    message: string,
    readonly problemType: string = '',
    readonly status = 0,
    /** The server's Retry-After on this error (rate limits), in ms; null if none. */
    readonly retryAfterMs: number | null = null,
  ) {
    super(message);
    this.name = 'AcmeError';
  }
}

/** The CA tried the challenge and it failed (another challenge type may work). */
export class AcmeValidationError extends AcmeError {
  constructor(
    message: string,
    problemType: string,
    /** The challenge type that failed ("" if unknown). */
    readonly challengeType: string,
  ) {
    super(message, problemType);
    this.name = 'AcmeValidationError';
  }
}

export interface AcmeClientOptions {
  /** "" means Let's Encrypt production, as autocert's zero value does. */
  directoryUrl: string;
  accountKey: AccountKey;
  ca?: readonly (string | Buffer)[];
  requestTimeoutMs?: number;
  signal?: AbortSignal;
  /** Floor for polling intervals (servers may say Retry-After: 0). */
  minPollMs?: number;
  /** External account binding for CAs that require it (ZeroSSL, Google Trust Services, …). */
  externalAccount?: ExternalAccount | null;
}

interface Response<T> {
  status: number;
  location: string;
  retryAfterMs: number | null;
  body: T;
  raw: HttpResult;
}

export class AcmeClient {
  readonly directoryUrl: string;
  readonly accountKey: AccountKey;
  private directory: AcmeDirectory | null = null;
  private nonces: string[] = [];
  private accountUrl: string | null = null;
  private readonly timeoutMs: number;
  private readonly minPollMs: number;
  private agent: http.Agent | null = null;

  constructor(private readonly options: AcmeClientOptions) {
    this.directoryUrl = options.directoryUrl === '' ? LETS_ENCRYPT_DIRECTORY : options.directoryUrl;
    this.accountKey = options.accountKey;
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.minPollMs = options.minPollMs ?? 100;
  }

  async getDirectory(): Promise<AcmeDirectory> {
    if (this.directory !== null) return this.directory;
    const res = await this.send('directory', this.directoryUrl, 'GET');
    const dir = parseJson(res, 'directory', this.directoryUrl) as Partial<AcmeDirectory>;
    if (
      typeof dir.newNonce !== 'string' ||
      typeof dir.newAccount !== 'string' ||
      typeof dir.newOrder !== 'string'
    ) {
      throw new AcmeError(
        `the ACME directory ${this.directoryUrl} lacks newNonce, newAccount or newOrder (is it an RFC 8555 server?)`,
      );
    }
    this.directory = dir as AcmeDirectory;
    return this.directory;
  }

  /** Registers the account key (or finds the existing account) and returns the account URL. */
  async account(): Promise<string> {
    if (this.accountUrl !== null) return this.accountUrl;
    const dir = await this.getDirectory();
    const eab = this.options.externalAccount ?? null;
    if (dir.meta?.externalAccountRequired && eab === null) {
      throw new AcmeError(
        `the ACME server ${this.directoryUrl} requires external account binding; start wharf-proxy with EAB_KID and EAB_HMAC_KEY from the CA`,
      );
    }
    const payload: Record<string, unknown> = { termsOfServiceAgreed: true };
    if (eab !== null) {
      payload['externalAccountBinding'] = externalAccountBinding(eab, this.accountKey.jwk, dir.newAccount);
    }
    const res = await this.post<Record<string, unknown>>('newAccount', dir.newAccount, payload, false);
    if (res.location === '')
      throw new AcmeError(`the ACME server gave no account URL (newAccount at ${dir.newAccount})`);
    this.accountUrl = res.location;
    return res.location;
  }

  async newOrder(names: readonly string[]): Promise<{ url: string; order: AcmeOrder }> {
    const dir = await this.getDirectory();
    await this.account();
    const res = await this.post<AcmeOrder>('newOrder', dir.newOrder, {
      identifiers: names.map((value) => ({ type: 'dns', value })),
    });
    if (res.location === '')
      throw new AcmeError(`the ACME server gave no order URL (newOrder at ${dir.newOrder})`);
    return { url: res.location, order: res.body };
  }

  async getAuthorization(url: string): Promise<AcmeAuthorization> {
    return (await this.post<AcmeAuthorization>('authorization', url, undefined)).body;
  }

  async getOrder(url: string): Promise<Response<AcmeOrder>> {
    return this.post<AcmeOrder>('order', url, undefined);
  }

  /** Relinquishes an authorization that is no longer needed (RFC 8555 §7.5.2). */
  async deactivateAuthorization(url: string): Promise<void> {
    await this.post('authorization', url, { status: 'deactivated' });
  }

  /** Tells the server the challenge response is in place (RFC 8555 §7.5.1). */
  async acceptChallenge(url: string): Promise<void> {
    await this.post('challenge', url, {});
  }

  /** Polls an authorization until it is valid; throws with the challenge's error if it fails. */
  async waitAuthorization(url: string, deadline: number): Promise<AcmeAuthorization> {
    for (;;) {
      const res = await this.post<AcmeAuthorization>('authorization', url, undefined);
      const authz = res.body;
      if (authz.status === 'valid') return authz;
      if (authz.status !== 'pending' && authz.status !== 'processing') {
        const failed = authz.challenges?.find((c) => c.error !== undefined);
        const why = failed?.error ? describeProblem(failed.error) : `status ${authz.status}`;
        throw new AcmeValidationError(
          `the ACME server could not validate ${authz.identifier?.value ?? url}${failed ? ` with ${failed.type}` : ''}: ${why}`,
          failed?.error?.type ?? '',
          failed?.type ?? '',
        );
      }
      await this.pause(res.retryAfterMs, deadline, `authorization ${url}`);
    }
  }

  /** Polls an order until its status is one of `want`; throws if it becomes invalid. */
  async waitOrder(url: string, want: AcmeStatus[], deadline: number): Promise<AcmeOrder> {
    for (;;) {
      const res = await this.getOrder(url);
      const order = res.body;
      if (want.includes(order.status)) return order;
      if (order.status === 'invalid') {
        throw new AcmeError(
          `the ACME order ${url} became invalid${order.error ? `: ${describeProblem(order.error)}` : ''}`,
          order.error?.type ?? '',
        );
      }
      await this.pause(res.retryAfterMs, deadline, `order ${url}`);
    }
  }

  async finalize(finalizeUrl: string, csrDer: Buffer): Promise<AcmeOrder> {
    return (await this.post<AcmeOrder>('finalize', finalizeUrl, { csr: csrDer.toString('base64url') })).body;
  }

  /** The PEM chain (leaf first). */
  async downloadCertificate(url: string): Promise<string> {
    const res = await this.post<string>(
      'certificate',
      url,
      undefined,
      true,
      'application/pem-certificate-chain',
    );
    const pem = res.raw.body.toString('utf8');
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new AcmeError(`the ACME server returned no PEM certificate chain at ${url}`);
    }
    return pem;
  }

  /** Closes the kept-alive connections (call after each order; the next request reconnects). */
  release(): void {
    this.agent?.destroy();
    this.agent = null;
  }

  // ---- transport ----------------------------------------------------------

  private async nonce(): Promise<string> {
    const n = this.nonces.pop();
    if (n !== undefined) return n;
    const dir = await this.getDirectory();
    const res = await this.send('newNonce', dir.newNonce, 'HEAD');
    const fresh = header(res, 'replay-nonce');
    if (fresh === '') throw new AcmeError(`the ACME server gave no Replay-Nonce at ${dir.newNonce}`);
    return fresh;
  }

  private async post<T>(
    stage: string,
    url: string,
    payload: unknown,
    useKid = true,
    accept = 'application/json',
  ): Promise<Response<T>> {
    const kid = useKid ? await this.account() : null;
    for (let attempt = 1; ; attempt++) {
      const jws = this.accountKey.sign(url, await this.nonce(), payload, kid);
      const raw = await this.send(stage, url, 'POST', JSON.stringify(jws), accept);
      if (raw.status >= 400) {
        const problem = parseProblem(raw);
        // A stale nonce is routine (RFC 8555 §6.5): retry with the fresh one the error carried.
        if (problem.type === 'urn:ietf:params:acme:error:badNonce' && attempt < 3) continue;
        throw new AcmeError(
          `ACME ${stage} request to ${url} failed with ${raw.status}: ${describeProblem(problem)}`,
          problem.type ?? '',
          raw.status,
          parseRetryAfter(header(raw, 'retry-after')),
        );
      }
      const body =
        accept === 'application/json' ? (parseJson(raw, stage, url) as T) : (raw.body.toString('utf8') as T);
      return {
        status: raw.status,
        location: header(raw, 'location'),
        retryAfterMs: parseRetryAfter(header(raw, 'retry-after')),
        body,
        raw,
      };
    }
  }

  private async send(
    stage: string,
    url: string,
    method: 'GET' | 'HEAD' | 'POST',
    body?: string,
    accept = 'application/json',
  ): Promise<HttpResult> {
    let res: HttpResult;
    try {
      res = await httpRequest(url, {
        method,
        headers: method === 'POST' ? { 'content-type': 'application/jose+json', accept } : {},
        body,
        ca: this.options.ca,
        agent: this.agentFor(url),
        timeoutMs: this.timeoutMs,
        signal: this.options.signal,
      });
    } catch (err) {
      throw new AcmeError(`cannot reach the ACME server for ${stage} at ${url}: ${(err as Error).message}`);
    }
    const nonce = header(res, 'replay-nonce');
    if (nonce !== '') this.nonces.push(nonce);
    if (method !== 'POST' && res.status >= 400) {
      throw new AcmeError(
        `ACME ${stage} request to ${url} failed with ${res.status}: ${describeProblem(parseProblem(res))}`,
        '',
        res.status,
      );
    }
    return res;
  }

  private agentFor(url: string): http.Agent | undefined {
    if (!url.startsWith('https:')) return undefined;
    this.agent ??= new https.Agent({ keepAlive: true, maxSockets: 2 });
    return this.agent;
  }

  private async pause(retryAfterMs: number | null, deadline: number, what: string): Promise<void> {
    const wait = Math.min(Math.max(retryAfterMs ?? 1_000, this.minPollMs), 10_000);
    if (Date.now() + wait > deadline) throw new AcmeError(`timed out waiting for the ACME ${what}`);
    await new Promise<void>((resolve, reject) => {
      const signal = this.options.signal;
      if (signal?.aborted) return reject(new AcmeError('ACME request cancelled (the proxy is stopping)'));
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new AcmeError('ACME request cancelled (the proxy is stopping)'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function header(res: HttpResult, name: string): string {
  const v = res.headers[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
}

function parseJson(res: HttpResult, stage: string, url: string): unknown {
  try {
    return JSON.parse(res.body.toString('utf8'));
  } catch {
    throw new AcmeError(`the ACME server sent invalid JSON for ${stage} at ${url} (status ${res.status})`);
  }
}

function parseProblem(res: HttpResult): AcmeProblem {
  try {
    const p = JSON.parse(res.body.toString('utf8')) as AcmeProblem;
    if (p !== null && typeof p === 'object') return p;
  } catch {
    // not a problem document
  }
  const text = res.body.toString('utf8').slice(0, 200).trim();
  return { detail: text === '' ? `HTTP ${res.status}` : text };
}

export function describeProblem(p: AcmeProblem): string {
  const type = p.type?.replace(/^urn:ietf:params:acme:error:/, '') ?? '';
  let text = [type, p.detail].filter((s) => s !== undefined && s !== '').join(': ');
  if (text === '') text = 'no detail given';
  if (p.subproblems && p.subproblems.length > 0) {
    text += ` (${p.subproblems.map((s) => describeProblem(s)).join('; ')})`;
  }
  return text;
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; null if absent or unreadable. */
export function parseRetryAfter(value: string): number | null {
  if (value === '') return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}
