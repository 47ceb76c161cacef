// Calls the running server over its Unix socket and waits for the answer.
import net from 'node:net';
import { ProxyError } from '../errors.js';
import type { Calls, Method, ReplyMessage } from './protocol.js';

export function callServer<M extends Method>(
  socketPath: string,
  method: M,
  args: Calls[M]['args'],
): Promise<Calls[M]['result']> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let buffered = '';
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      conn.destroy();
      reject(err);
    };
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ method, args }) + '\n'));
    conn.on('data', (data: string) => {
      buffered += data;
      const nl = buffered.indexOf('\n');
      if (nl === -1) return;
      let reply: ReplyMessage;
      try {
        reply = JSON.parse(buffered.slice(0, nl)) as ReplyMessage;
      } catch {
        return fail(new ProxyError(`the proxy at ${socketPath} sent an unreadable answer`));
      }
      settled = true;
      conn.end();
      if (reply.ok) resolve(reply.result as Calls[M]['result']);
      else reject(new ProxyError(reply.error));
    });
    conn.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        fail(
          new ProxyError(
            `cannot reach the proxy at ${socketPath}: start it with \`wharf-proxy run\` or point KAMAL_PROXY_SOCKET at its socket`,
          ),
        );
      } else fail(new ProxyError(`lost the connection to the proxy at ${socketPath} (${err.message})`));
    });
    conn.on('close', () =>
      fail(new ProxyError(`the proxy at ${socketPath} closed the connection before answering`)),
    );
  });
}
