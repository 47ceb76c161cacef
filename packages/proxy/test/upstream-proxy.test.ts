// The proxy's own HTTP/1.1 client seen from a client of the proxy: targets
// that frame responses unusually or wrongly, and request bodies relayed to a
// target that sees the exact bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deployArgs, request, startTestProxy } from './support/proxy.js';
import { rawServer } from './support/raw-target.js';

const UP = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

function pathOf(req: string): string {
  return /^\S+ (\S+)/.exec(req)![1]!;
}

test('a response framed only by the connection closing reaches the client whole', async () => {
  const target = await rawServer((req) => {
    if (pathOf(req) === '/up') return [UP];
    return ['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n', 'first ', 'second', 'CLOSE'];
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [`127.0.0.1:${target.port}`]));
    for (let i = 0; i < 3; i++) {
      const r = await request(proxy.httpPort, '/stream');
      assert.equal(r.status, 200);
      assert.equal(r.body, 'first second');
    }
  } finally {
    await proxy.stop();
    target.close();
  }
});

test('ambiguous framing from a target is a 502, and the next request is answered normally', async () => {
  const target = await rawServer((req) => {
    const path = pathOf(req);
    if (path === '/up') return [UP];
    if (path === '/smuggle') {
      return [
        'HTTP/1.1 200 OK\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n',
      ];
    }
    return ['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nclean'];
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [`127.0.0.1:${target.port}`]));
    const bad = await request(proxy.httpPort, '/smuggle');
    assert.equal(bad.status, 502);
    const good = await request(proxy.httpPort, '/next');
    assert.equal(good.status, 200);
    assert.equal(good.body, 'clean');
    assert.ok(proxy.logs.some((l) => l.includes('"path":"/smuggle"') && l.includes('"status":502')));
  } finally {
    await proxy.stop();
    target.close();
  }
});

test('request bodies reach the target as sent: with a length as-is, chunked ones re-chunked', async () => {
  const seen: string[] = [];
  const target = await rawServer((req) => {
    if (pathOf(req) === '/up') return [UP];
    seen.push(req);
    return ['HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone'];
  });
  const proxy = await startTestProxy();
  try {
    await proxy.call('Deploy', deployArgs('app', [`127.0.0.1:${target.port}`]));
    const a = await request(proxy.httpPort, '/len', { method: 'POST', body: 'hello=world' });
    assert.equal(a.body, 'done');
    const b = await request(proxy.httpPort, '/chunked', {
      method: 'POST',
      headers: { 'transfer-encoding': 'chunked' },
      body: 'abcdef',
    });
    assert.equal(b.body, 'done');
    assert.match(seen[0]!, /^POST \/len HTTP\/1\.1\r\n/);
    assert.match(seen[0]!, /\r\ncontent-length: 11\r\n/i);
    assert.ok(seen[0]!.endsWith('\r\n\r\nhello=world'));
    assert.match(seen[1]!, /^POST \/chunked HTTP\/1\.1\r\n/);
    assert.doesNotMatch(seen[1]!, /content-length/i);
    assert.match(seen[1]!, /\r\ntransfer-encoding: chunked\r\n/i);
    assert.ok(seen[1]!.endsWith('\r\n\r\n6\r\nabcdef\r\n0\r\n\r\n'), JSON.stringify(seen[1]));
  } finally {
    await proxy.stop();
    target.close();
  }
});
