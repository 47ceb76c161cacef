/**
 * The S3-compatible test store's SigV4 check against the worked examples of
 * AWS's documentation ("Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk": GET Object, PUT Object, GET
 * Bucket), tampered variants of them, and the store over HTTP.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  checkSignature,
  createS3Server,
  expectedSignature,
  type SignedRequest,
} from '../support/s3-server.js';

const DOC_CREDS = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  region: 'us-east-1',
};
const DOC_TIME = new Date(Date.UTC(2013, 4, 24));
const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const auth = (signed: string, signature: string, scope = '20130524/us-east-1/s3') =>
  `AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/${scope}/aws4_request,SignedHeaders=${signed},Signature=${signature}`;

function getObject(): SignedRequest {
  return {
    method: 'GET',
    url: '/test.txt',
    bodySha256: EMPTY,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      range: 'bytes=0-9',
      'x-amz-content-sha256': EMPTY,
      'x-amz-date': '20130524T000000Z',
      authorization: auth(
        'host;range;x-amz-content-sha256;x-amz-date',
        'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      ),
    },
  };
}

function putObject(): SignedRequest {
  const body = sha('Welcome to Amazon S3.');
  return {
    method: 'PUT',
    url: '/test$file.text',
    bodySha256: body,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      date: 'Fri, 24 May 2013 00:00:00 GMT',
      'x-amz-storage-class': 'REDUCED_REDUNDANCY',
      'x-amz-content-sha256': body,
      'x-amz-date': '20130524T000000Z',
      authorization: auth(
        'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
        '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
      ),
    },
  };
}

function listObjects(): SignedRequest {
  return {
    method: 'GET',
    url: '/?max-keys=2&prefix=J',
    bodySha256: EMPTY,
    headers: {
      host: 'examplebucket.s3.amazonaws.com',
      'x-amz-content-sha256': EMPTY,
      'x-amz-date': '20130524T000000Z',
      authorization: auth(
        'host;x-amz-content-sha256;x-amz-date',
        '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
      ),
    },
  };
}

test("AWS's documented examples verify (GET Object, PUT Object with $ in the key, GET Bucket with a query)", () => {
  for (const req of [getObject(), putObject(), listObjects()]) {
    assert.deepEqual(checkSignature(req, DOC_CREDS, DOC_TIME), { ok: true }, req.url);
  }
});

test('anything changed after signing gets 403 SignatureDoesNotMatch (or the error S3 gives)', () => {
  const code = (req: SignedRequest, creds = DOC_CREDS, now = DOC_TIME) => {
    const r = checkSignature(req, creds, now);
    return r.ok ? 'ok' : `${r.status} ${r.code}`;
  };
  assert.equal(code(getObject(), { ...DOC_CREDS, secretAccessKey: 'wrong' }), '403 SignatureDoesNotMatch');
  assert.equal(code(getObject(), { ...DOC_CREDS, region: 'eu-west-1' }), '403 SignatureDoesNotMatch');
  assert.equal(code(getObject(), { ...DOC_CREDS, accessKeyId: 'OTHER' }), '403 InvalidAccessKeyId');
  const range = getObject();
  range.headers.range = 'bytes=0-99';
  assert.equal(code(range), '403 SignatureDoesNotMatch');
  const path = getObject();
  path.url = '/test2.txt';
  assert.equal(code(path), '403 SignatureDoesNotMatch');
  const query = listObjects();
  query.url = '/?max-keys=2&prefix=K';
  assert.equal(code(query), '403 SignatureDoesNotMatch');
  const reordered = listObjects();
  reordered.url = '/?prefix=J&max-keys=2';
  assert.equal(code(reordered), 'ok', 'the canonical query is sorted');
  const body = putObject();
  body.bodySha256 = sha('Welcome to Amazon S4.');
  assert.equal(code(body), '400 XAmzContentSHA256Mismatch');
  assert.equal(
    code(getObject(), DOC_CREDS, new Date(DOC_TIME.getTime() + 16 * 60_000)),
    '403 RequestTimeTooSkewed',
  );
  const anonymous = getObject();
  delete anonymous.headers.authorization;
  assert.equal(code(anonymous), '403 AccessDenied');
});

test('the store over HTTP: put, head, get, list in pages with continuation tokens, delete; unsigned refused', async () => {
  const creds = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret/with+chars', region: 'eu-test-1' };
  const server = createS3Server({ ...creds, dir: mkdtempSync(join(tmpdir(), 's3-')), pageSize: 2 });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const send = async (method: string, url: string, body = '', secret = creds.secretAccessKey) => {
    const amzDate = new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const headers: Record<string, string> = {
      host,
      'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
      'x-amz-date': amzDate,
    };
    const signed = ['host', 'x-amz-content-sha256', 'x-amz-date'];
    const signature = expectedSignature(
      { method, url, headers, bodySha256: sha(body) },
      { ...creds, secretAccessKey: secret },
      { date: amzDate.slice(0, 8), region: creds.region, service: 's3' },
      signed,
      'UNSIGNED-PAYLOAD',
      amzDate,
    );
    const { host: _host, ...rest } = headers;
    return fetch(`http://${host}${url}`, {
      method,
      headers: {
        ...rest,
        authorization: `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${amzDate.slice(0, 8)}/${creds.region}/s3/aws4_request,SignedHeaders=${signed.join(';')},Signature=${signature}`,
      },
      ...(method === 'PUT' ? { body } : {}),
    });
  };
  try {
    for (const n of [1, 2, 3, 4, 5])
      assert.equal((await send('PUT', `/bkt/p/wal/${n}`, `seg ${n}`)).status, 200);
    assert.equal((await send('PUT', '/bkt/p/base/x/backup.json', '{}')).status, 200);
    assert.equal((await send('HEAD', '/bkt/p/wal/3')).status, 200);
    assert.equal((await send('HEAD', '/bkt/p/wal/9')).status, 404);
    assert.equal(await (await send('GET', '/bkt/p/wal/3')).text(), 'seg 3');
    const missing = await send('GET', '/bkt/p/wal/9');
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /<Code>NoSuchKey<\/Code>/);
    const keys: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const url = `/bkt?${token ? `continuation-token=${encodeURIComponent(token)}&` : ''}list-type=2&prefix=${encodeURIComponent('p/wal/')}`;
      const xml = await (await send('GET', url)).text();
      keys.push(...[...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!));
      token = /<NextContinuationToken>([^<]*)</.exec(xml)?.[1];
      pages++;
    } while (token);
    assert.deepEqual(keys, ['p/wal/1', 'p/wal/2', 'p/wal/3', 'p/wal/4', 'p/wal/5']);
    assert.equal(pages, 3);
    assert.equal((await send('DELETE', '/bkt/p/wal/5')).status, 204);
    assert.equal((await send('HEAD', '/bkt/p/wal/5')).status, 404);
    const forged = await send('PUT', '/bkt/p/wal/6', 'x', 'not-the-secret');
    assert.equal(forged.status, 403);
    assert.match(await forged.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    assert.equal((await send('HEAD', '/bkt/p/wal/6')).status, 404, 'nothing stored by a forged request');
    assert.equal((await fetch(`http://${host}/bkt/p/wal/1`)).status, 403, 'unsigned');
  } finally {
    server.close();
  }
});
