/**
 * Drives the built wharf-proxy binary as a real child process: `run` on free
 * loopback ports with its own HOME and control socket, then the CLI commands
 * (`deploy`, `list`, ...) against it, exactly as an operator would.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROXY_BIN = fileURLToPath(new URL('../../../src/bin.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface ProxyProcess {
  httpPort: number;
  httpsPort: number;
  /** http://127.0.0.1:<httpPort> */
  url: string;
  home: string;
  socket: string;
  child: ChildProcess;
  /** Runs `wharf-proxy ARGS...` against this server. */
  cli(args: string[], timeoutMs?: number): Promise<CliResult>;
  /** `deploy SERVICE --target TARGET ...flags`; throws with the CLI's output when it fails. */
  deploy(service: string, target: string, flags?: string[], timeoutMs?: number): Promise<CliResult>;
  /** Everything the server printed so far (stdout and stderr, last 200 kB). */
  output(): string;
  /** SIGTERM, then SIGKILL after graceMs; removes the temp HOME. */
  stop(graceMs?: number): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs = 60_000,
  wrapper: string[] = [],
): Promise<CliResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const [command, ...prefix] = wrapper.length ? [...wrapper, process.execPath] : [process.execPath];
    const child = spawn(command!, [...prefix, PROXY_BIN, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: performance.now() - started });
    });
  });
}

export interface StartProxyOptions {
  /** Extra `run` flags. */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Wrap the server command, e.g. ['taskset', '-c', '0']. */
  wrapper?: string[];
  /** How long to wait for the server to answer; default 15 s. */
  readyTimeoutMs?: number;
}

/** Starts `wharf-proxy run` on free ports and waits until both its HTTP port and its control socket answer. */
export async function startProxy(options: StartProxyOptions = {}): Promise<ProxyProcess> {
  const home = mkdtempSync(join(tmpdir(), 'wharf-proxy-test-'));
  const socket = join(home, 'kamal-proxy.sock');
  const httpPort = await freePort();
  const httpsPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    XDG_RUNTIME_DIR: home,
    KAMAL_PROXY_SOCKET: socket,
    ...options.env,
  };
  const [command, ...prefix] = options.wrapper?.length
    ? [...options.wrapper, process.execPath]
    : [process.execPath];
  const child = spawn(
    command!,
    [
      ...prefix,
      PROXY_BIN,
      'run',
      '--http-port',
      String(httpPort),
      '--https-port',
      String(httpsPort),
      ...(options.args ?? []),
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  // The last ~200 kB of output, kept as chunks: the access log runs at the request rate.
  const chunks: string[] = [];
  let kept = 0;
  const keep = (chunk: string) => {
    chunks.push(chunk);
    kept += chunk.length;
    while (kept - chunks[0]!.length > 200_000) kept -= chunks.shift()!.length;
  };
  const output = () => chunks.join('');
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const cli = (args: string[], timeoutMs?: number) => runCli(args, env, timeoutMs);
  const proxy: ProxyProcess = {
    httpPort,
    httpsPort,
    url: `http://127.0.0.1:${httpPort}`,
    home,
    socket,
    child,
    cli,
    async deploy(service, target, flags = [], timeoutMs = 120_000) {
      const result = await cli(['deploy', service, '--target', target, ...flags], timeoutMs);
      if (result.code !== 0) {
        throw new Error(
          `wharf-proxy deploy ${service} --target ${target} exited ${result.code}: ${result.stderr || result.stdout}`,
        );
      }
      return result;
    },
    output,
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      rmSync(home, { recursive: true, force: true });
    },
  };

  const deadline = performance.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await proxy.stop();
      throw new Error(
        `wharf-proxy run exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${output().trim()}`,
      );
    }
    if (await canConnect(httpPort)) {
      const list = await cli(['list'], 5000);
      if (list.code === 0) return proxy;
      if (performance.now() > deadline) {
        await proxy.stop();
        throw new Error(`wharf-proxy list fails against a running server: ${list.stderr || list.stdout}`);
      }
    }
    if (performance.now() > deadline) {
      await proxy.stop();
      throw new Error(
        `wharf-proxy run did not listen on 127.0.0.1:${httpPort} within the timeout:\n${output().trim()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
