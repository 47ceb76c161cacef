/**
 * Test support for the fault-injection and zero-downtime e2e tests: wharf
 * runs in the background (so traffic and faults can happen meanwhile, and so
 * it can be SIGKILLed), traffic through wharf-proxy on fleet servers, and the
 * faults themselves (SSH sessions killed inside a server container, a
 * container stopped).
 */
import { spawnSync } from 'node:child_process';
import type { FleetDescription } from '../../src/fleet/plan.js';
import { startProcess, type CliResult } from './fleet.js';

export { startWharf, wharfAsync, type BackgroundWharf } from './fleet.js';

/** The docker CLI against the fleet's engine (the engine that runs the server containers). */
export function fleetDocker(fleet: FleetDescription, args: string[]): CliResult {
  const result = spawnSync('docker', args, {
    env: { ...process.env, DOCKER_HOST: fleet.docker_host },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Non-blocking variant of fleetDocker (for polling while a load runs). */
export async function fleetDockerAsync(fleet: FleetDescription, args: string[]): Promise<CliResult> {
  const env = { ...process.env, DOCKER_HOST: fleet.docker_host };
  const { code, stdout, stderr } = await startProcess('docker', args, { env }).done;
  return { code, stdout, stderr };
}

/** `<id> <name>` of the running containers of `service` on a fleet server (read inside it, not over SSH). */
export async function runningAppContainers(
  fleet: FleetDescription,
  server: string,
  service: string,
): Promise<string[]> {
  const result = await fleetDockerAsync(fleet, [
    'exec',
    server,
    'docker',
    'ps',
    '--filter',
    `label=service=${service}`,
    '--format',
    '{{.ID}} {{.Names}}',
  ]);
  if (result.code !== 0) throw new Error(`docker ps in ${server} failed: ${result.stderr}`);
  return result.stdout.split('\n').filter(Boolean).sort();
}

export async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 60_000,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Drops every SSH connection to a fleet server: SIGKILL for each per-connection
 * sshd process (`sshd: root@…`), never the listener (PID 1's child, which the
 * server's dockerd hangs off). Returns how many it killed.
 */
export async function dropSshConnections(fleet: FleetDescription, server: string): Promise<number> {
  const script =
    'n=0; for p in $(ps -eo pid=,args= | awk \'$2 == "sshd:" && $3 ~ /^root@/ {print $1}\'); do kill -9 "$p" && n=$((n+1)); done; echo $n';
  const result = await fleetDockerAsync(fleet, ['exec', server, 'sh', '-c', script]);
  if (result.code !== 0) throw new Error(`killing sshd sessions in ${server} failed: ${result.stderr}`);
  return Number(result.stdout.trim());
}

/** Whether a `kamal-proxy deploy <service>` (the health-checked handoff) runs on a fleet server now. */
export async function proxyDeployRunning(
  fleet: FleetDescription,
  server: string,
  service: string,
): Promise<boolean> {
  // The docker CLI's own process (the shell running wharf's script has the line inside its own).
  const script = `ps -eo args= | grep -q '^docker exec kamal-proxy kamal-proxy deploy ${service} '`;
  return (await fleetDockerAsync(fleet, ['exec', server, 'sh', '-c', script])).code === 0;
}

/** Whether the deploy lock directory of `service` exists on a fleet server (read inside it). */
export async function lockDirectoryExists(
  fleet: FleetDescription,
  server: string,
  service: string,
): Promise<boolean> {
  const result = await fleetDockerAsync(fleet, [
    'exec',
    server,
    'test',
    '-d',
    `/root/.kamal/lock-${service}`,
  ]);
  return result.code === 0;
}

/** Rewrites the example app so it listens only `ms` after it starts (a longer boot phase to aim faults at). */
export function withStartDelay(ms: number): (text: string) => string {
  return (text) => {
    const plain = text.replace(/^setTimeout\(\(\) => (server\.listen\(.*\)), \d+\);$/m, '$1;');
    if (ms === 0) return plain;
    const delayed = plain.replace(/^(server\.listen\(.*\));$/m, `setTimeout(() => $1, ${ms});`);
    if (delayed === plain) throw new Error('server.mjs has no server.listen(...) line to delay');
    return delayed;
  };
}

// ---- traffic ---------------------------------------------------------------

interface LoadReport {
  totalFailures: number;
  samples: { atMs: number; kind: string; scenario: string; detail: string }[];
  durationMs: number;
  requests: Record<string, { sent: number; ok: number; failed: number }>;
}
interface LoadModule {
  startLoad(o: unknown): { stop(): Promise<LoadReport>; progress(): { sent: number; failures: number } };
  formatReport(r: LoadReport): string;
}

/** The load generator of the proxy's tests (compiled beside this package). */
async function loadModule(): Promise<LoadModule> {
  return (await import(
    new URL('../../../../proxy/dist/test/support/load.js', import.meta.url).href
  )) as LoadModule;
}

export interface Traffic {
  progress(): { sent: number; failures: number };
  stop(): Promise<{ sent: number; ok: number; failures: number; seconds: number; report: string }>;
}

/**
 * A steady open-loop load through wharf-proxy on the given server addresses:
 * `rate` requests per second, four short requests (`/`) to one slow one
 * (`/slow?ms=slowMs`), spread evenly over the servers.
 */
export async function startTraffic(
  addresses: readonly string[],
  options: { rate?: number; slowMs?: number } = {},
): Promise<Traffic> {
  const { startLoad, formatReport } = await loadModule();
  const slowMs = options.slowMs ?? 1000;
  const load = startLoad({
    rate: options.rate ?? 60,
    requests: addresses.flatMap((address) => [
      { name: `short ${address}`, url: `http://${address}/`, weight: 4, timeoutMs: 20_000 },
      {
        name: `slow ${address}`,
        url: `http://${address}/slow?ms=${slowMs}`,
        weight: 1,
        timeoutMs: 20_000 + slowMs,
      },
    ]),
  });
  return {
    progress: () => load.progress(),
    async stop() {
      const report = await load.stop();
      const rows = Object.values(report.requests);
      return {
        sent: rows.reduce((n, r) => n + r.sent, 0),
        ok: rows.reduce((n, r) => n + r.ok, 0),
        failures: report.totalFailures,
        seconds: report.durationMs / 1000,
        // formatReport shows the first samples only; add the first few of every other kind.
        report: [
          formatReport(report),
          ...report.samples
            .filter((s) => s.kind !== report.samples[0]?.kind)
            .slice(0, 10)
            .map((s) => `    [${s.atMs} ms] ${s.kind} ${s.scenario}: ${s.detail}`),
        ].join('\n'),
      };
    },
  };
}

/** GET http://ADDRESS/PATH (through wharf-proxy on a fleet server), patient enough for a loaded machine. */
export async function getFrom(
  address: string,
  path = '/',
  timeoutMs = 60_000,
): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, body: await response.text() };
}
