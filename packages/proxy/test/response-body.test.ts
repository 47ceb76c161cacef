// Response bodies with a Content-Length: the proxy ends the client response
// with the chunk that completes the declared body. These check that bodies
// in one chunk and in several arrive whole, that the log line counts every
// byte with the target's status, that HEAD and empty bodies end, and that a
// client closing right after the last byte is not logged as 499.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startBackend } from './support/backend.js';
import { deployArgs, request, sleep, startTestProxy, waitFor } from './support/proxy.js';

interface LogLine {
  msg: string;
  path: string;
  status: number;
  resp_content_length: number;
  method: string;
}

function requestLines(logs: string[]): LogLine[] {
  return logs.filter((l) => l.includes('"msg":"Request"')).map((l) => JSON.parse(l) as LogLine);
}

test('Content-Length bodies in one or several chunks arrive whole and are logged with every byte', async () => {
  const part = 'p'.repeat(64 * 1024);
  const backend = await startBackend('v1', (req, res) => {
    if (req.url === '/one') {
      res.writeHead(201, { 'content-type': 'text/plain', 'content-length': '5' });
      res.end('hello');
    } else if (req.url === '/parts') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(part.length * 3) });
      res.write(part);
      setTimeout(() => res.write(part), 30);
      setTimeout(() => res.end(part), 60);
    } else if (req.url === '/empty') {
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    } else {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '7' });
      res.end(req.method === 'HEAD' ? undefined : 'content');
    }
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const one = await request(proxy.httpPort, '/one');
    assert.equal(one.status, 201);
    assert.equal(one.body, 'hello');
    const parts = await request(proxy.httpPort, '/parts');
    assert.equal(parts.status, 200);
    assert.equal(parts.body.length, part.length * 3);
    assert.equal(parts.body, part + part + part);
    const empty = await request(proxy.httpPort, '/empty');
    assert.equal(empty.status, 200);
    assert.equal(empty.body, '');
    const head = await request(proxy.httpPort, '/head', { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], '7');
    assert.equal(head.body, '');

    await waitFor(() => requestLines(proxy.logs).length >= 4, 2_000, 'four request log lines');
    const byPath = new Map(requestLines(proxy.logs).map((l) => [l.path, l]));
    assert.deepEqual(
      [...byPath.entries()].map(([path, l]) => [path, l.status, l.resp_content_length]),
      [
        ['/one', 201, 5],
        ['/parts', 200, part.length * 3],
        ['/empty', 200, 0],
        ['/head', 200, 0],
      ],
    );
  } finally {
    await proxy.stop();
    await backend.close();
  }
});

test('a client that hangs up right after the last byte is logged with the status it got, not 499', async () => {
  const backend = await startBackend('v1', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '4' });
    res.end('done');
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [backend.name]));
    const reply = await new Promise<string>((resolve, reject) => {
      const s = net.connect(proxy.httpPort, '127.0.0.1');
      let text = '';
      s.on('data', (d) => {
        text += d.toString();
        // The whole response is here: hang up at once, as an impatient client does.
        if (text.endsWith('\r\n\r\ndone')) {
          s.destroy();
          resolve(text);
        }
      });
      s.on('error', reject);
      s.write('GET /quick HTTP/1.1\r\nHost: example.com\r\n\r\n');
    });
    assert.match(reply, /^HTTP\/1\.1 200/);
    await waitFor(() => requestLines(proxy.logs).length >= 1, 2_000, 'the request log line');
    await sleep(50);
    const lines = requestLines(proxy.logs);
    assert.equal(lines.length, 1, 'one log line per request');
    assert.equal(lines[0]!.status, 200);
    assert.equal(lines[0]!.resp_content_length, 4);
  } finally {
    await proxy.stop();
    await backend.close();
  }
});
