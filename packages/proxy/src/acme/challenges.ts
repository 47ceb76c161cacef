// HTTP-01 challenge responses (RFC 8555 §8.3): while an authorization is in
// progress the proxy answers GET /.well-known/acme-challenge/<token> on its
// plain HTTP port with the key authorization, before any routing.

export const ACME_CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

export class Http01Challenges {
  private readonly tokens = new Map<string, { keyAuthorization: string; host: string }>();

  add(token: string, keyAuthorization: string, host: string): void {
    this.tokens.set(token, { keyAuthorization, host: host.toLowerCase() });
  }

  remove(token: string): void {
    this.tokens.delete(token);
  }

  get size(): number {
    return this.tokens.size;
  }

  /**
   * The body to answer for a request path (no query), or null when the path
   * is no pending challenge for that host (the request is then routed as usual).
   * `host` is the request's Host, port allowed.
   */
  answer(host: string, path: string): string | null {
    if (this.tokens.size === 0 || !path.startsWith(ACME_CHALLENGE_PREFIX)) return null;
    const entry = this.tokens.get(path.slice(ACME_CHALLENGE_PREFIX.length));
    if (entry === undefined) return null;
    if (bareHost(host) !== entry.host) return null;
    return entry.keyAuthorization;
  }
}

function bareHost(host: string): string {
  let h = host.toLowerCase();
  if (!h.startsWith('[')) {
    const colon = h.indexOf(':');
    if (colon !== -1) h = h.slice(0, colon);
  }
  return h.endsWith('.') ? h.slice(0, -1) : h;
}
