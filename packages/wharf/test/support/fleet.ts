/**
 * Test support: bring up a named local fleet through the real CLI and take it
 * down afterwards. Each test file uses its own fleet name and registry port so
 * files never share servers.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetDescription } from '../../src/fleet/plan.js';

export const WHARF_BIN = fileURLToPath(new URL('../../src/bin.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built `wharf` CLI in a child process. */
export function wharf(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number } = {},
): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  // Set by node's test runner; a child node process that inherits it reports to the runner instead of printing.
  delete env.NODE_TEST_CONTEXT;
  const result = spawnSync(process.execPath, [WHARF_BIN, ...args], {
    env,
    cwd: options.cwd,
    input: options.input,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 600_000,
  });
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

export interface TestFleet extends FleetDescription {
  down(): void;
}

/** `wharf fleet up --name NAME --servers N --registry-port PORT --json`, failing the test with stderr when it fails. */
export function fleetUp(
  name: string,
  servers: number,
  registryPort: number,
  extra: string[] = [],
): TestFleet {
  const result = wharf([
    'fleet',
    'up',
    '--name',
    name,
    '--servers',
    String(servers),
    '--registry-port',
    String(registryPort),
    '--json',
    ...extra,
  ]);
  if (result.code !== 0) {
    // A leftover from an earlier crashed run: clear it once and retry.
    wharf(['fleet', 'down', '--name', name]);
    const retry = wharf([
      'fleet',
      'up',
      '--name',
      name,
      '--servers',
      String(servers),
      '--registry-port',
      String(registryPort),
      '--json',
      ...extra,
    ]);
    if (retry.code !== 0) throw new Error(`fleet up ${name} failed: ${retry.stderr}`);
    return withDown(parseJson(retry, `fleet up ${name}`));
  }
  return withDown(parseJson(result, `fleet up ${name}`));
}

function parseJson(result: CliResult, what: string): FleetDescription {
  try {
    return JSON.parse(result.stdout) as FleetDescription;
  } catch {
    throw new Error(`${what} printed no JSON (exit ${result.code}): ${result.stdout} ${result.stderr}`);
  }
}

function withDown(fleet: FleetDescription): TestFleet {
  return {
    ...fleet,
    down() {
      const result = wharf(['fleet', 'down', '--name', fleet.name]);
      if (result.code !== 0) throw new Error(`fleet down ${fleet.name} failed: ${result.stderr}`);
    },
  };
}

/** The environment that points the docker CLI at the fleet's engine. */
export function dockerEnv(fleet: FleetDescription): NodeJS.ProcessEnv {
  return { ...process.env, DOCKER_HOST: fleet.docker_host };
}

/** `ssh -i KEY root@ADDR COMMAND` with the system OpenSSH client and the fleet's known_hosts. */
export function sshRun(fleet: FleetDescription, address: string, command: string): CliResult {
  const result = spawnSync(
    'ssh',
    [
      '-i',
      fleet.ssh_key,
      '-o',
      `UserKnownHostsFile=${fleet.known_hosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      '-o',
      'ConnectTimeout=10',
      `root@${address}`,
      command,
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  return { code: result.status ?? 1, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}
