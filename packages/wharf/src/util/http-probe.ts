import { request } from 'node:http';

/**
 * The status of a plain-HTTP GET, or undefined when nothing answers in time.
 * Uses node:http with a ref'd timer: a pending probe keeps the process alive
 * (a global fetch() can leave the event loop empty while it waits, and the
 * process then exits silently in the middle of a command).
 */
export function httpStatus(url: string, timeoutMs = 3000): Promise<number | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(status);
    };
    const req = request(url, { method: 'GET', agent: false }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode));
      res.on('error', () => finish(undefined));
    });
    const timer = setTimeout(() => {
      req.destroy();
      finish(undefined);
    }, timeoutMs);
    req.on('error', () => finish(undefined));
    req.end();
  });
}
