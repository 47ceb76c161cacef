// Starts wharf-proxy in-process on ephemeral loopback ports with a temporary
// state directory and control socket, and helpers to call it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import {
  startProxyServer,
  type ProxyServerHandle,
  type ProxyServerOptions,
} from '../../src/server/proxy-server.js';
import {
  defaultDeploymentOptions,
  defaultServiceOptions,
  defaultTargetOptions,
  type DeploymentOptions,
  type ServiceOptions,
  type TargetOptions,
} from '../../src/options.js';
import type { DeployArgs } from '../../src/router.js';

export interface TestProxy extends ProxyServerHandle {
  readonly dir: string;
  readonly logs: string[];
  stop(): Promise<void>;
}

export async function startTestProxy(options: ProxyServerOptions = {}, dir?: string): Promise<TestProxy> {
  const root = dir ?? mkdtempSync(join(tmpdir(), 'wharf-proxy-test-'));
  const logs: string[] = [];
  const handle = await startProxyServer({
    httpPort: 0,
    httpsPort: null,
    bind: '127.0.0.1',
    socketPath: join(root, 'proxy.sock'),
    configDir: root,
    log: (chunk) => logs.push(...chunk.split('\n').filter((l) => l !== '')),
    shutdownTimeoutMs: 2_000,
    ...options,
  });
  return Object.assign(Object.create(handle) as ProxyServerHandle, handle, {
    dir: root,
    logs,
    async stop() {
      await handle.close();
      if (dir === undefined) rmSync(root, { recursive: true, force: true });
    },
  });
}

export interface DeployOverrides {
  service?: Partial<ServiceOptions>;
  target?: Partial<TargetOptions>;
  healthCheck?: Partial<TargetOptions['healthCheck']>;
  deployment?: Partial<DeploymentOptions>;
  readers?: string[];
}

/** Deploy arguments with kamal-proxy defaults, fast health checks, and overrides. */
export function deployArgs(service: string, targets: string[], o: DeployOverrides = {}): DeployArgs {
  const target = { ...defaultTargetOptions(), ...o.target };
  target.healthCheck = { ...target.healthCheck, intervalMs: 50, timeoutMs: 1_000, ...o.healthCheck };
  return {
    service,
    targets,
    readers: o.readers ?? [],
    serviceOptions: { ...defaultServiceOptions(), ...o.service },
    targetOptions: target,
    deployment: {
      ...defaultDeploymentOptions(),
      deployTimeoutMs: 5_000,
      drainTimeoutMs: 2_000,
      ...o.deployment,
    },
  };
}

export interface SimpleResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request through the proxy (fresh connection unless an agent is given). */
export function request(
  port: number,
  path: string,
  o: {
    method?: string;
    host?: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    agent?: http.Agent;
  } = {},
): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: o.method ?? 'GET',
        headers: { host: o.host ?? 'example.com', ...o.headers },
        agent: o.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until fn returns true, or fails after the timeout. */
export async function waitFor(
  fn: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await sleep(20);
  }
  throw new Error(`timed out waiting for ${what}`);
}
