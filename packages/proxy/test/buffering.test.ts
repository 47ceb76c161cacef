import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { startBackend } from './support/backend.js';
import { deployArgs, request, startTestProxy, waitFor } from './support/proxy.js';
import { SpillBuffer, BodyTooLargeError } from '../src/buffer.js';

const digest = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** Echoes the request body's length and digest. */
async function startEchoBackend() {
  return startBackend('echo', (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.end(
        `${body.length} ${digest(body)} ${req.headers['content-length'] ?? 'none'} ${req.headers['transfer-encoding'] ?? 'none'}`,
      );
    });
  });
}

function spillFiles(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith(`proxy-buffer-${process.pid}-`));
}

test('buffered requests: in memory and spilled to disk arrive whole with a Content-Length; oversized bodies get 413', async () => {
  const backend = await startEchoBackend();
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        target: { bufferRequests: true, maxMemoryBufferSize: 1024, maxRequestBodySize: 64 * 1024 },
      }),
    );
    const small = Buffer.alloc(500, 'a');
    let r = await request(proxy.httpPort, '/', { method: 'POST', body: small });
    assert.equal(r.body, `500 ${digest(small)} 500 none`);

    const large = Buffer.alloc(40 * 1024, 'b');
    r = await request(proxy.httpPort, '/', {
      method: 'POST',
      body: large,
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(
      r.body,
      `${large.length} ${digest(large)} ${large.length} none`,
      'chunked upload re-sent with a length',
    );
    await waitFor(() => spillFiles().length === 0, 2_000, 'spill file removed');

    r = await request(proxy.httpPort, '/', { method: 'POST', body: Buffer.alloc(65 * 1024) });
    assert.equal(r.status, 413, 'declared length over the limit');
    r = await request(proxy.httpPort, '/', {
      method: 'POST',
      body: Buffer.alloc(65 * 1024),
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(r.status, 413, 'chunked body over the limit');
    assert.match(r.body, /413/);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('without buffering, bodies stream through and limits do not apply', async () => {
  const backend = await startEchoBackend();
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const body = Buffer.alloc(200 * 1024, 'c');
    const r = await request(proxy.httpPort, '/', {
      method: 'PUT',
      body,
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(r.body, `${body.length} ${digest(body)} none chunked`);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a malformed chunked body is refused with 400', async () => {
  const backend = await startEchoBackend();
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name], { target: { bufferRequests: true } }));
    const reply = await new Promise<string>((resolve) => {
      const s = net.connect(proxy.httpPort, '127.0.0.1', () => {
        s.write(
          'POST / HTTP/1.1\r\nHost: x.com\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\nhello\r\n0\r\n\r\n',
        );
      });
      let data = '';
      s.on('data', (d) => (data += d));
      s.on('close', () => resolve(data));
      s.on('error', () => resolve(data));
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('buffered responses: sent whole with a length, spilled when large, 500 over the limit, streams bypass', async () => {
  const backend = await startBackend('resp', (req, res) => {
    const size = Number(new URL(req.url!, 'http://x').searchParams.get('size'));
    if (req.url!.startsWith('/chunked')) {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('part1 ');
      setTimeout(() => res.end('part2'), 50);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    // Write in pieces so the proxy sees several chunks.
    const piece = Buffer.alloc(Math.min(size, 16 * 1024), 'z');
    let sent = 0;
    while (sent + piece.length <= size) {
      res.write(piece);
      sent += piece.length;
    }
    res.end(Buffer.alloc(size - sent, 'z'));
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call(
      'Deploy',
      deployArgs('app', [backend.name], {
        target: { bufferResponses: true, maxMemoryBufferSize: 8 * 1024, maxResponseBodySize: 256 * 1024 },
      }),
    );
    let r = await request(proxy.httpPort, '/?size=1000');
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1000);
    assert.equal(r.headers['content-length'], '1000');
    r = await request(proxy.httpPort, '/?size=200000');
    assert.equal(r.body.length, 200_000);
    assert.equal(r.body, 'z'.repeat(200_000));
    r = await request(proxy.httpPort, '/?size=300000');
    assert.equal(r.status, 500);
    r = await request(proxy.httpPort, '/chunked');
    assert.equal(r.body, 'part1 part2');
    assert.equal(r.headers['transfer-encoding'], 'chunked');
    await waitFor(() => spillFiles().length === 0, 2_000, 'spill files removed');
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('SpillBuffer keeps small bodies in memory, spills large ones and enforces its limit', async () => {
  const mem = new SpillBuffer(10, 0);
  assert.equal(mem.write(Buffer.from('12345')), true);
  await mem.finish();
  assert.equal(mem.spilled, false);
  assert.equal((mem.body() as Buffer).toString(), '12345');
  await mem.dispose();

  const disk = new SpillBuffer(4, 100);
  disk.write(Buffer.from('abc'));
  await disk.write(Buffer.from('defgh'));
  await disk.write(Buffer.from('ij'));
  await disk.finish();
  assert.equal(disk.spilled, true);
  const chunks: Buffer[] = [];
  for await (const c of disk.body() as AsyncIterable<Buffer>) chunks.push(c);
  assert.equal(Buffer.concat(chunks).toString(), 'abcdefghij');
  await disk.dispose();

  const limited = new SpillBuffer(4, 5);
  limited.write(Buffer.from('abc'));
  assert.throws(() => limited.write(Buffer.from('def')), BodyTooLargeError);
  await limited.dispose();
});
