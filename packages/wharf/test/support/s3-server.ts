/**
 * Test support: a small S3-compatible object store (no dependencies) for the
 * backup tests, following the AWS S3 REST API as documented: path-style
 * `PUT/GET/HEAD/DELETE /<bucket>/<key>`, `GET /<bucket>?list-type=2` with
 * prefix, max-keys and continuation-token (ListObjectsV2), and AWS
 * Signature Version 4 in the Authorization header: a request signed with
 * another secret, another region or for other headers gets
 * `403 SignatureDoesNotMatch`, as from S3. Objects live as files under a
 * directory. Run it as a program (node s3-server.js) with S3_ACCESS_KEY_ID,
 * S3_SECRET_ACCESS_KEY, S3_REGION (us-east-1), S3_DIR (/data), PORT (9000) and
 * S3_PAGE_SIZE (at most 1000 keys a listing page, as S3; smaller to test paging);
 * only imports node: modules, so the compiled file runs alone in a container.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** What the signature check needs from a request. */
export interface SignedRequest {
  method: string;
  /** The raw request target: path and query, as sent. */
  url: string;
  /** Header names in lower case. */
  headers: Record<string, string | string[] | undefined>;
  /** The SHA-256 of the body, hex (the payload hash when the client sent no x-amz-content-sha256). */
  bodySha256: string;
}

export type SignatureCheck = { ok: true } | { ok: false; status: number; code: string; message: string };

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: string | Buffer, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it (unreserved kept; `/` kept in paths). */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === '/')) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

function decode(text: string): string {
  return decodeURIComponent(text.replace(/\+/g, '%20'));
}

/** Query parameters decoded, in the order sent. */
export function queryParams(url: string): [string, string][] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  return url
    .slice(q + 1)
    .split('&')
    .filter((p) => p.length > 0)
    .map((p) => {
      const eq = p.indexOf('=');
      return eq < 0 ? [decode(p), ''] : [decode(p.slice(0, eq)), decode(p.slice(eq + 1))];
    });
}

/** The canonical request of SigV4 (method, URI, query, headers, signed header list, payload hash). */
export function canonicalRequest(req: SignedRequest, signedHeaders: string[], payloadHash: string): string {
  const q = req.url.indexOf('?');
  const path = q < 0 ? req.url : req.url.slice(0, q);
  const uri = uriEncode(decode(path), true);
  const query = queryParams(req.url)
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const headerLines = signedHeaders.map((h) => {
    const value = req.headers[h];
    const text = Array.isArray(value) ? value.join(',') : (value ?? '');
    return `${h}:${text.trim().replace(/\s+/g, ' ')}\n`;
  });
  return [req.method, uri, query, headerLines.join(''), signedHeaders.join(';'), payloadHash].join('\n');
}

/** The signing key: HMAC chain over date, region, service and "aws4_request". */
export function signingKey(secret: string, date: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${secret}`, date), region), service), 'aws4_request');
}

/** The signature a correct client computes for the request with these credentials. */
export function expectedSignature(
  req: SignedRequest,
  creds: S3Credentials,
  scope: { date: string; region: string; service: string },
  signedHeaders: string[],
  payloadHash: string,
  amzDate: string,
): string {
  const stringToSign = [
    'AWS4-HMAC-SHA256',
    amzDate,
    `${scope.date}/${scope.region}/${scope.service}/aws4_request`,
    sha256(canonicalRequest(req, signedHeaders, payloadHash)),
  ].join('\n');
  return createHmac('sha256', signingKey(creds.secretAccessKey, scope.date, scope.region, scope.service))
    .update(stringToSign)
    .digest('hex');
}

const AUTH =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/,\s]+)\/([^/,\s]+)\/aws4_request,\s*SignedHeaders=([a-z0-9\-;]+),\s*Signature=([0-9a-f]{64})$/;

/** Checks the Authorization header of a request (SigV4, header form) against the credentials. */
export function checkSignature(req: SignedRequest, creds: S3Credentials, now = new Date()): SignatureCheck {
  const header = req.headers.authorization;
  const auth = typeof header === 'string' ? AUTH.exec(header.trim()) : null;
  if (!auth) {
    return {
      ok: false,
      status: 403,
      code: 'AccessDenied',
      message: 'Missing or malformed AWS4-HMAC-SHA256 Authorization header',
    };
  }
  const [, keyId, date, region, service, signed, signature] = auth as unknown as string[];
  if (keyId !== creds.accessKeyId) {
    return {
      ok: false,
      status: 403,
      code: 'InvalidAccessKeyId',
      message: 'The AWS Access Key Id you provided does not exist in our records.',
    };
  }
  const amzDate = typeof req.headers['x-amz-date'] === 'string' ? req.headers['x-amz-date'] : '';
  if (!/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) {
    return {
      ok: false,
      status: 403,
      code: 'AccessDenied',
      message: 'x-amz-date is missing or does not match the credential scope',
    };
  }
  const at = Date.UTC(
    +amzDate.slice(0, 4),
    +amzDate.slice(4, 6) - 1,
    +amzDate.slice(6, 8),
    +amzDate.slice(9, 11),
    +amzDate.slice(11, 13),
    +amzDate.slice(13, 15),
  );
  if (Math.abs(now.getTime() - at) > 15 * 60_000) {
    return {
      ok: false,
      status: 403,
      code: 'RequestTimeTooSkewed',
      message: 'The difference between the request time and the current time is too large.',
    };
  }
  const signedHeaders = signed!.split(';');
  if (!signedHeaders.includes('host')) {
    return { ok: false, status: 403, code: 'AccessDenied', message: 'The host header must be signed' };
  }
  const claimed = req.headers['x-amz-content-sha256'];
  const payloadHash = typeof claimed === 'string' ? claimed : req.bodySha256;
  if (typeof claimed === 'string' && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== req.bodySha256) {
    return {
      ok: false,
      status: 400,
      code: 'XAmzContentSHA256Mismatch',
      message: 'The provided x-amz-content-sha256 header does not match what was computed.',
    };
  }
  const expected = expectedSignature(
    req,
    creds,
    { date: date!, region: creds.region, service: 's3' },
    signedHeaders,
    payloadHash,
    amzDate,
  );
  const same =
    region === creds.region &&
    service === 's3' &&
    timingSafeEqual(Buffer.from(expected, 'hex'), Buffer.from(signature!, 'hex'));
  return same
    ? { ok: true }
    : {
        ok: false,
        status: 403,
        code: 'SignatureDoesNotMatch',
        message:
          'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      };
}

const xmlEscape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function errorXml(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error>\n`;
}

async function listFiles(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith('.s3-partial')) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/** The store as an HTTP server (not listening yet). */
export function createS3Server(options: S3Credentials & { dir: string; pageSize?: number }): Server {
  const send = (
    res: ServerResponse,
    status: number,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, { 'Content-Length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };
  const fail = (res: ServerResponse, status: number, code: string, message: string) =>
    send(res, status, errorXml(code, message), { 'Content-Type': 'application/xml' });

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = req.url ?? '/';
    const check = checkSignature(
      { method: req.method ?? 'GET', url, headers: req.headers, bodySha256: sha256(body) },
      options,
    );
    if (!check.ok) return fail(res, check.status, check.code, check.message);
    const path = decode(url.split('?')[0]!);
    const [, bucket = '', ...rest] = path.split('/');
    const key = rest.join('/');
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
      return fail(res, 400, 'InvalidBucketName', 'The specified bucket is not valid.');
    if (key.split('/').some((s) => s === '..' || s === '.'))
      return fail(res, 400, 'InvalidArgument', 'Invalid key.');
    const root = join(options.dir, bucket);
    if (key === '') {
      if (req.method !== 'GET')
        return fail(res, 405, 'MethodNotAllowed', 'Only ListObjectsV2 is supported on a bucket.');
      const params = new Map(queryParams(url));
      if (params.get('list-type') !== '2')
        return fail(res, 400, 'InvalidArgument', 'Only list-type=2 is supported.');
      const prefix = params.get('prefix') ?? '';
      const maxKeys = Math.min(options.pageSize ?? 1000, Number(params.get('max-keys') ?? 1000) || 1000);
      const token = params.get('continuation-token');
      const after = token ? Buffer.from(token, 'base64').toString('utf8') : (params.get('start-after') ?? '');
      const keys = (await listFiles(root)).filter((k) => k.startsWith(prefix) && k > after);
      const page = keys.slice(0, maxKeys);
      const truncated = keys.length > page.length;
      const contents = await Promise.all(
        page.map(async (k) => {
          const s = await stat(join(root, k));
          return `<Contents><Key>${xmlEscape(k)}</Key><LastModified>${s.mtime.toISOString()}</LastModified><Size>${s.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
        }),
      );
      const xml = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
        `<Name>${xmlEscape(bucket)}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${truncated}</IsTruncated>`,
        ...(token ? [`<ContinuationToken>${xmlEscape(token)}</ContinuationToken>`] : []),
        ...(truncated
          ? [
              `<NextContinuationToken>${Buffer.from(page[page.length - 1]!).toString('base64')}</NextContinuationToken>`,
            ]
          : []),
        ...contents,
        '</ListBucketResult>',
        '',
      ].join('');
      return send(res, 200, xml, { 'Content-Type': 'application/xml' });
    }
    const file = join(root, ...key.split('/'));
    if (req.method === 'PUT') {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(`${file}.s3-partial`, body);
      await rename(`${file}.s3-partial`, file);
      return send(res, 200, '', { ETag: `"${createHash('md5').update(body).digest('hex')}"` });
    }
    if (req.method === 'DELETE') {
      await rm(file, { force: true });
      return send(res, 204, '');
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      let data: Buffer;
      try {
        data = await readFile(file);
      } catch {
        if (req.method === 'HEAD') return send(res, 404, '');
        return fail(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      }
      const headers = {
        'Content-Type': 'application/octet-stream',
        ETag: `"${createHash('md5').update(data).digest('hex')}"`,
      };
      if (req.method === 'HEAD') {
        res.writeHead(200, { ...headers, 'Content-Length': String(data.length) });
        return res.end();
      }
      return send(res, 200, data, headers);
    }
    return fail(res, 405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  };
  return createServer((req, res) => {
    handle(req, res).catch((error: unknown) => fail(res, 500, 'InternalError', String(error)));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const env = process.env;
  const server = createS3Server({
    accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
    region: env.S3_REGION ?? 'us-east-1',
    dir: env.S3_DIR ?? '/data',
    pageSize: env.S3_PAGE_SIZE ? Number(env.S3_PAGE_SIZE) : undefined,
  });
  const port = Number(env.PORT ?? 9000);
  server.listen(port, () => process.stdout.write(`s3-server: listening on port ${port}\n`));
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
