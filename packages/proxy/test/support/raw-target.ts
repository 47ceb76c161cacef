// A target that answers with exact bytes over raw TCP, for tests of the
// proxy's HTTP/1.1 client: it reads each request head (and its Content-Length
// or chunked body) and writes the responder's pieces, one write per piece, a
// tick apart ('CLOSE' ends the connection).
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Received {
  /** Raw request bytes per connection, in order of connection. */
  connections: string[];
}

export type Responder = (request: string, index: number) => Array<string | Buffer> | null;

/**
 * A TCP server that reads each request head (and its Content-Length or chunked body)
 * and writes the responder's pieces one write per piece, a tick apart.
 */
export async function rawServer(
  respond: Responder,
): Promise<{ port: number; received: Received; close(): void }> {
  const received: Received = { connections: [] };
  let index = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.setNoDelay(true);
    const slot = received.connections.push('') - 1;
    let buf = '';
    socket.on('data', async (d) => {
      received.connections[slot] += d.toString('latin1');
      buf += d.toString('latin1');
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buf.slice(0, end + 4);
        let rest = buf.slice(end + 4);
        const cl = /content-length: *(\d+)/i.exec(head);
        let body = '';
        if (cl !== null) {
          const n = Number(cl[1]);
          if (rest.length < n) return;
          body = rest.slice(0, n);
          rest = rest.slice(n);
        } else if (/transfer-encoding: *chunked/i.test(head)) {
          const term = rest.indexOf('0\r\n\r\n');
          if (term === -1) return;
          body = rest.slice(0, term + 5);
          rest = rest.slice(term + 5);
        }
        buf = rest;
        const pieces = respond(head + body, index++);
        if (pieces === null) continue;
        for (const p of pieces) {
          if (socket.destroyed) return;
          if (p === 'CLOSE') {
            socket.end();
            return;
          }
          socket.write(p);
          await new Promise((r) => setImmediate(r));
        }
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close() {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}
