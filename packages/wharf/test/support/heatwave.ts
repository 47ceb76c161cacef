/**
 * Test support for the heatwave example (examples/heatwave): its accessory
 * images, a throwaway git copy of the project pointed at a fleet with the fake
 * 1Password `op` on PATH, HTTP helpers through wharf-proxy, and a load that
 * reads, writes and enqueues while a deploy runs.
 */
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FleetDescription } from '../../src/fleet/plan.js';
import { appProject, type AppProject } from './app-project.js';
import { WHARF_BIN } from './fleet.js';

export { wharfAsync } from './fleet.js';

export const HEATWAVE_DIR = fileURLToPath(new URL('../../../../../examples/heatwave', import.meta.url));
export const FAKES_BIN = fileURLToPath(new URL('../../../test/fakes/bin', import.meta.url));

export interface HeatwaveImages {
  images: Record<'postgres' | 'pgbouncer' | 'haproxy' | 'valkey' | 'mailpit', string>;
  tags: Record<string, string[]>;
  versions: Record<string, string>;
  built: string[];
  skipped: string[];
  seconds: number;
}

interface BuildModule {
  buildHeatwaveImages(options: {
    registry?: string;
    dockerHost?: string;
    push?: boolean;
    only?: string[];
    log?: (line: string) => void;
  }): Promise<HeatwaveImages>;
}

/** Builds (or reuses) the accessory images in the fleet's engine and pushes them to its registry. */
export async function buildHeatwaveImages(
  fleet: FleetDescription,
  log: (line: string) => void = () => {},
): Promise<HeatwaveImages> {
  const module = (await import(pathToFileURL(join(HEATWAVE_DIR, 'images', 'build.mjs')).href)) as BuildModule;
  return module.buildHeatwaveImages({ registry: fleet.registry, dockerHost: fleet.docker_host, log });
}

export interface HeatwaveProject extends AppProject {
  /** The vault file the fake `op` reads (a copy of examples/heatwave/fake-1password.json). */
  vault: string;
}

/**
 * A git copy of examples/heatwave, with an environment that points its config at
 * the fleet, puts the fake `op` first on PATH, and a `wharf` on PATH for the hooks.
 */
export function heatwaveProject(fleet: FleetDescription): HeatwaveProject {
  const project = appProject(fleet, HEATWAVE_DIR);
  const support = mkdtempSync(join(tmpdir(), 'wharf-heatwave-'));
  const vault = join(support, 'vault.json');
  copyFileSync(join(HEATWAVE_DIR, 'fake-1password.json'), vault);
  const bin = join(support, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'wharf'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(WHARF_BIN)} "$@"\n`,
  );
  chmodSync(join(bin, 'wharf'), 0o755);
  project.env.PATH = [FAKES_BIN, bin, process.env.PATH ?? ''].join(':');
  project.env.WHARF_FAKE_VAULT = vault;
  return { ...project, vault };
}

export interface Reply {
  status: number;
  body: string;
  json<T = Record<string, unknown>>(): T;
  cookie: string | undefined;
}

/** One request to the app through wharf-proxy on a fleet server. */
export async function call(
  address: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<Reply> {
  const response = await fetch(`http://${address}${path}`, {
    method,
    headers,
    signal: AbortSignal.timeout(15_000),
  });
  const body = await response.text();
  return {
    status: response.status,
    body,
    json: <T>() => JSON.parse(body) as T,
    cookie: response.headers.get('set-cookie')?.split(';')[0],
  };
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${what} did not happen within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

export interface LoadReport {
  requests: number;
  failures: string[];
  jobs: string[];
  visits: number[];
}

/**
 * A paced load on every address: `workers` loops alternating GET / and POST
 * /visits with `pauseMs` between requests (so the load leaves the 2-core
 * machine room to deploy), and one loop enqueueing a mail job every
 * `jobEveryMs`. Every status of 300 or more and every network error is a failure.
 */
export function startLoad(
  addresses: string[],
  {
    workers = 4,
    pauseMs = 20,
    jobEveryMs = 200,
  }: { workers?: number; pauseMs?: number; jobEveryMs?: number } = {},
): { stop(): Promise<LoadReport> } {
  let stopping = false;
  const report: LoadReport = { requests: 0, failures: [], jobs: [], visits: [] };
  const once = async (address: string, method: string, path: string) => {
    report.requests++;
    try {
      const reply = await call(address, method, path);
      if (reply.status >= 300) {
        report.failures.push(`${method} ${address}${path}: ${reply.status} ${reply.body.slice(0, 120)}`);
        return undefined;
      }
      return reply;
    } catch (error) {
      const e = error as Error & { cause?: { code?: string } };
      report.failures.push(`${method} ${address}${path}: ${e.cause?.code ?? e.message}`);
      return undefined;
    }
  };
  const loops = Array.from({ length: workers }, async (_, i) => {
    for (let n = 0; !stopping; n++) {
      const address = addresses[(i + n) % addresses.length]!;
      if (n % 2 === 0) await once(address, 'GET', '/');
      else {
        const reply = await once(address, 'POST', '/visits?path=/load');
        if (reply) report.visits.push(Number(reply.json().id));
      }
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  });
  const enqueue = (async () => {
    for (let n = 0; !stopping; n++) {
      const reply = await once(addresses[n % addresses.length]!, 'POST', '/jobs?to=load@heatwave.test');
      if (reply) report.jobs.push(String(reply.json().id));
      await new Promise((r) => setTimeout(r, jobEveryMs));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await Promise.all([...loops, enqueue]);
      return report;
    },
  };
}
