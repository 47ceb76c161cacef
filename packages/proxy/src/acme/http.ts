// One HTTP(S) exchange with an ACME server: bounded time, bounded body size,
// extra trusted roots when asked (a private CA), cancellable.
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpRequestOptions {
  method: 'GET' | 'HEAD' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** PEM certificates trusted in addition to Node's roots (and NODE_EXTRA_CA_CERTS). */
  ca?: readonly (string | Buffer)[];
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
    const requestOptions: https.RequestOptions = {
      method: options.method,
      headers: {
        'user-agent': 'wharf-proxy-acme',
        ...options.headers,
        ...(options.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(options.body)) }),
      },
      agent: false,
      timeout: options.timeoutMs,
      signal: options.signal,
    };
    if (secure && options.ca !== undefined && options.ca.length > 0) {
      requestOptions.ca = [...rootCertificates, ...options.ca];
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
