// One HTTP(S) exchange with an ACME server: bounded time, bounded body size,
// extra trusted roots when asked (a private CA), cancellable.
import http from 'node:http';
import https from 'node:https';
import { createSecureContext, type SecureContext } from 'node:tls';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** PEM roots trusted instead of Node's (a private CA); default Node's roots and NODE_EXTRA_CA_CERTS. */
  ca?: readonly (string | Buffer)[];
  /** Keep-alive agent shared by one order's requests; default a new connection per request. */
  agent?: http.Agent;
  timeoutMs: number;
  signal?: AbortSignal;
  maxBytes?: number;
}

export function httpRequest(url: string, options: HttpRequestOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`invalid URL ${url}`));
      return;
    }
    const secure = parsed.protocol === 'https:';
    if (!secure && parsed.protocol !== 'http:') {
      reject(new Error(`unsupported URL scheme in ${url}`));
      return;
    }
    const maxBytes = options.maxBytes ?? 1024 * 1024;
    const requestOptions: https.RequestOptions & { secureContext?: SecureContext } = {
      method: options.method,
      headers: {
        'user-agent': 'wharf-proxy-acme',
        ...options.headers,
        ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      },
      agent: options.agent ?? false,
      timeout: options.timeoutMs,
      signal: options.signal,
    };
    if (secure && options.ca !== undefined && options.ca.length > 0) {
      requestOptions.secureContext = trustContext(options.ca);
    }
    const req = (secure ? https : http).request(parsed, requestOptions, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          req.destroy(new Error(`response from ${url} is larger than ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${options.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(options.body);
  });
}

// One secure context per CA list (not one per connection).
const contexts = new WeakMap<readonly (string | Buffer)[], SecureContext>();
function trustContext(ca: readonly (string | Buffer)[]): SecureContext {
  let context = contexts.get(ca);
  if (context === undefined) {
    context = createSecureContext({ ca: [...ca] });
    contexts.set(ca, context);
  }
  return context;
}
