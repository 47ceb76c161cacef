/**
 * Starts the test app (./app-main.ts) as a real child process and waits until
 * it listens. Tests use two of these as the old and new version of a service.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const APP_MAIN = fileURLToPath(new URL('./app-main.js', import.meta.url));

export interface AppProcess {
  identity: string;
  port: number;
  host: string;
  /** host:port, the form `wharf-proxy deploy --target` takes. */
  target: string;
  /** http://host:port */
  url: string;
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

export interface AppProcessOptions {
  identity: string;
  port?: number;
  host?: string;
  unhealthy?: boolean;
  /** Extra arguments for node itself, e.g. ['--max-old-space-size=64']. */
  nodeArgs?: string[];
  /** Wrap the node command, e.g. ['taskset', '-c', '1'] to pin it to a core. */
  wrapper?: string[];
}

export function startAppProcess(options: AppProcessOptions): Promise<AppProcess> {
  const host = options.host ?? '127.0.0.1';
  const args = [
    ...(options.nodeArgs ?? []),
    APP_MAIN,
    '--identity',
    options.identity,
    '--port',
    String(options.port ?? 0),
    '--host',
    host,
    ...(options.unhealthy ? ['--unhealthy'] : []),
  ];
  const [command, ...prefix] = options.wrapper?.length
    ? [...options.wrapper, process.execPath]
    : [process.execPath];
  const child = spawn(command!, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const onData = (chunk: string) => {
      buffered += chunk;
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      child.stdout!.off('data', onData);
      child.stdout!.resume();
      try {
        const { port } = JSON.parse(buffered.slice(0, newline)) as { port: number };
        resolve(describe(child, options.identity, host, port));
      } catch {
        reject(
          new Error(
            `test app ${options.identity} printed an unexpected first line: ${buffered.slice(0, newline)}`,
          ),
        );
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.once('error', reject);
    child.once('exit', (code, signal) =>
      reject(
        new Error(
          `test app ${options.identity} exited (${code ?? signal}) before listening: ${stderr.trim()}`,
        ),
      ),
    );
  });
}

function describe(child: ChildProcess, identity: string, host: string, port: number): AppProcess {
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return {
    identity,
    port,
    host,
    target: `${host}:${port}`,
    url: `http://${host}:${port}`,
    child,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
