import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HANDOFF, INCOMPLETE, parseRequestHead, type RequestHead } from '../../src/server/http1/head.js';

const MAX = 32 * 1024;
const parse = (s: string, max = MAX) => parseRequestHead(Buffer.from(s, 'latin1'), max);
const head = (s: string): RequestHead => {
  const r = parse(s);
  assert.ok(typeof r === 'object', `expected a request for ${JSON.stringify(s)}, got ${r}`);
  return r;
};

test('a plain GET: method, target, raw headers in order, keep-alive, no body, head length', () => {
  const text =
    'GET /a/b?x=1&y=%20 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n';
  const h = head(text + 'NEXT');
  assert.equal(h.method, 'GET');
  assert.equal(h.url, '/a/b?x=1&y=%20');
  assert.deepEqual(h.rawHeaders, ['Host', 'example.com', 'User-Agent', 't/1', 'X-Dup', '1', 'X-Dup', '2']);
  assert.equal(h.keepAlive, true);
  assert.equal(h.contentLength, 0);
  assert.equal(h.length, Buffer.byteLength(text));
});

test('header values lose surrounding spaces and tabs, keep inner ones; empty values are kept', () => {
  const h = head('GET / HTTP/1.1\r\nHost:x.com\r\nX-A: \t a  b \t\r\nX-Empty:\r\nX-Sp:   \r\n\r\n');
  assert.deepEqual(h.rawHeaders, ['Host', 'x.com', 'X-A', 'a  b', 'X-Empty', '', 'X-Sp', '']);
});

test('Content-Length and Connection: close are read, in any letter case', () => {
  const h = head(
    'POST /p HTTP/1.1\r\nhost: x\r\ncontent-length: 0012\r\nCONNECTION: Keep-Alive, Close\r\n\r\n',
  );
  assert.equal(h.contentLength, 12);
  assert.equal(h.keepAlive, false);
  assert.equal(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n').keepAlive, false);
  assert.equal(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n').keepAlive, true);
  assert.equal(head('GET / HTTP/1.1\r\nHost: x\r\nConnection: x-custom\r\n\r\n').keepAlive, true);
});

test('every prefix of a head is incomplete; the whole head parses', () => {
  const text =
    'PUT /up HTTP/1.1\r\nHost: x.com\r\nContent-Length: 3\r\nX-Long: ' + 'v'.repeat(100) + '\r\n\r\n';
  for (let i = 0; i < text.length; i++) assert.equal(parse(text.slice(0, i)), INCOMPLETE, `prefix ${i}`);
  assert.equal(head(text).contentLength, 3);
});

test('anything that is not a plain HTTP/1.1 request is handed off to node:http', () => {
  const cases: Record<string, string> = {
    'HTTP/1.0': 'GET / HTTP/1.0\r\nHost: x\r\n\r\n',
    'HTTP/2 preface': 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'lower-case method': 'get / HTTP/1.1\r\nHost: x\r\n\r\n',
    'method with digits': 'G3T / HTTP/1.1\r\nHost: x\r\n\r\n',
    'two spaces': 'GET  / HTTP/1.1\r\nHost: x\r\n\r\n',
    'tab in the target': 'GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n',
    'non-ASCII in the target': 'GET /\xe9 HTTP/1.1\r\nHost: x\r\n\r\n',
    'trailing bytes after the version': 'GET / HTTP/1.1x\r\nHost: x\r\n\r\n',
    'leading empty line': '\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'Transfer-Encoding': 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
    'CL and TE': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n',
    'two Content-Lengths': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n',
    'signed Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n',
    'Content-Length list': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n',
    'empty Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n\r\n',
    'huge Content-Length': 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1234567890123456\r\n\r\n',
    Upgrade: 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    'Connection: upgrade alone': 'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, upgrade\r\n\r\n',
    Expect: 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n',
    'no Host': 'GET / HTTP/1.1\r\nAccept: */*\r\n\r\n',
    'two Hosts': 'GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n',
    'obs-fold': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n  folded\r\n\r\n',
    'space before the colon': 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n',
    'no colon': 'GET / HTTP/1.1\r\nHost: x\r\nJunk\r\n\r\n',
    'empty name': 'GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n',
    'separator in the name': 'GET / HTTP/1.1\r\nHost: x\r\nX(A): v\r\n\r\n',
    'bare LF line end': 'GET / HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n',
    'bare CR in a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n',
    'NUL in a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
    'DEL in a value': 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n',
    'TLS hello': '\x16\x03\x01\x00\xff\x00\x00\x13\x37\r\n\r\n',
  };
  for (const [what, text] of Object.entries(cases)) assert.equal(parse(text), HANDOFF, what);
});

test('bytes after the head (a body, the next request) are not part of it', () => {
  const text = 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n';
  const h = head(text + 'hello' + 'GET / HTTP/1.1\r\n');
  assert.equal(h.length, text.length);
});

test('heads near or over the size limit go to node:http, complete or not', () => {
  const max = 4 * 1024;
  const small = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(1_000)}\r\n\r\n`;
  assert.equal(typeof parse(small, max), 'object');
  const big = `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(max)}\r\n\r\n`;
  assert.equal(parse(big, max), HANDOFF);
  assert.equal(parse(big.slice(0, max + 10), max), HANDOFF, 'unfinished and already too big');
  assert.equal(parse(big.slice(0, 100), max), INCOMPLETE);
  const manyHeaders = 'GET / HTTP/1.1\r\nHost: x\r\n' + 'A: b\r\n'.repeat(1_200) + '\r\n';
  assert.equal(parse(manyHeaders), HANDOFF);
});

test('latin-1 header values pass through byte for byte', () => {
  const h = head('GET / HTTP/1.1\r\nHost: x\r\nX-Name: caf\xe9\r\n\r\n');
  assert.equal(h.rawHeaders[3], 'caf\xe9');
});
