#!/usr/bin/env node
/**
 * A backend for the bench that costs as little as a Node process can per
 * request, so that it and the load generator sharing core 1 stay far from
 * saturating it: raw net sockets, requests only framed (header block, then
 * Content-Length bytes of body skipped; chunked request bodies are not
 * supported and close the connection), and one pre-serialized response per
 * path, written with a single write. Keep-alive unless the request says
 * Connection: close.
 *
 *   node bench/proxy/backend-raw.mjs PORT
 *
 * GET /bytes?n=N answers N bytes; every other path answers a ~60-byte text
 * body (like the test app's `/`), status 200.
 */
import net from 'node:net';

const port = Number(process.argv[2] ?? 0);
const CRLFCRLF = Buffer.from('\r\n\r\n');
const responses = new Map();

function responseFor(path) {
  let r = responses.get(path);
  if (r !== undefined) return r;
  const m = /^\/bytes\?n=(\d+)$/.exec(path);
  const body = m
    ? Buffer.alloc(Math.min(Number(m[1]), 64 * 1024 * 1024), 'x')
    : Buffer.from(`identity=bench path=${path} END\n`);
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nX-Identity: bench\r\n\r\n`;
  r = Buffer.concat([Buffer.from(head, 'latin1'), body]);
  if (responses.size < 1000) responses.set(path, r);
  return r;
}

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  let pending = null;
  let skip = 0;
  socket.on('error', () => undefined);
  socket.on('data', (chunk) => {
    let buf = pending === null ? chunk : Buffer.concat([pending, chunk]);
    pending = null;
    let at = 0;
    const out = [];
    let close = false;
    while (at < buf.length) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length - at);
        skip -= n;
        at += n;
        continue;
      }
      const end = buf.indexOf(CRLFCRLF, at);
      if (end === -1) {
        if (buf.length - at > 64 * 1024) return socket.destroy();
        pending = buf.subarray(at);
        break;
      }
      const head = buf.latin1Slice(at, end);
      at = end + 4;
      const sp1 = head.indexOf(' ');
      const sp2 = head.indexOf(' ', sp1 + 1);
      if (sp1 === -1 || sp2 === -1) return socket.destroy();
      if (/\r\ntransfer-encoding:/i.test(head)) return socket.destroy();
      const cl = /\r\ncontent-length:[ \t]*(\d+)/i.exec(head);
      if (cl !== null) skip = Number(cl[1]);
      out.push(responseFor(head.slice(sp1 + 1, sp2)));
      if (/\r\nconnection:[ \t]*close/i.test(head)) {
        close = true;
        break;
      }
    }
    if (out.length === 1) socket.write(out[0]);
    else if (out.length > 1) socket.write(Buffer.concat(out));
    if (close) socket.end();
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port, pid: process.pid })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
