// Serves control calls on the Unix socket, one JSON line each.
import net from 'node:net';
import { unlinkSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { ProxyError, describeError } from '../errors.js';
import type { Logger } from '../logging.js';
import type { Router } from '../router.js';
import type { Calls, CallMessage, ReplyMessage } from './protocol.js';

const MAX_MESSAGE = 1024 * 1024;

export async function dispatchCall(router: Router, method: string, args: unknown): Promise<unknown> {
  switch (method) {
    case 'Deploy':
      await router.deploy(args as Calls['Deploy']['args']);
      return null;
    case 'Remove':
      await router.remove((args as Calls['Remove']['args']).service);
      return null;
    case 'Pause': {
      const a = args as Calls['Pause']['args'];
      await router.pause(a.service, a.drainTimeoutMs, a.pauseTimeoutMs);
      return null;
    }
    case 'Stop': {
      const a = args as Calls['Stop']['args'];
      await router.stop(a.service, a.drainTimeoutMs, a.message);
      return null;
    }
    case 'Resume':
      await router.resume((args as Calls['Resume']['args']).service);
      return null;
    case 'List':
      return router.list();
    case 'RolloutDeploy':
      await router.rolloutDeploy(args as Calls['RolloutDeploy']['args']);
      return null;
    case 'RolloutSet': {
      const a = args as Calls['RolloutSet']['args'];
      await router.rolloutSet(a.service, a.percentage, a.allowlist);
      return null;
    }
    case 'RolloutStop':
      await router.rolloutStop((args as Calls['RolloutStop']['args']).service);
      return null;
    default:
      throw new ProxyError(
        `unknown control call ${JSON.stringify(method)}; the CLI and server versions may differ`,
      );
  }
}

export async function startControlServer(path: string, router: Router, logger: Logger): Promise<net.Server> {
  mkdirSync(dirname(path), { recursive: true });
  try {
    unlinkSync(path);
  } catch {
    /* no stale socket */
  }
  const server = net.createServer((conn) => {
    let buffered = '';
    conn.setEncoding('utf8');
    conn.on('error', () => undefined);
    conn.on('data', (data: string) => {
      buffered += data;
      if (buffered.length > MAX_MESSAGE) {
        conn.destroy();
        return;
      }
      let nl: number;
      while ((nl = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        void answer(line).then((reply) => {
          if (!conn.destroyed) conn.write(JSON.stringify(reply) + '\n');
        });
      }
    });
  });
  async function answer(line: string): Promise<ReplyMessage> {
    let call: CallMessage;
    try {
      call = JSON.parse(line) as CallMessage;
    } catch {
      return { ok: false, error: 'the control message was not valid JSON' };
    }
    try {
      const result = await dispatchCall(router, call.method, call.args ?? {});
      return { ok: true, result };
    } catch (err) {
      if (!(err instanceof ProxyError))
        logger.error('Control call failed', { method: call.method, error: describeError(err) });
      return { ok: false, error: describeError(err) };
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
