/**
 * Test support: bring up a named local fleet through the real CLI and take it
 * down afterwards. Each test file uses its own fleet name and registry port so
 * files never share servers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { FleetDescription } from '../../src/fleet/plan.js';

export const WHARF_BIN = fileURLToPath(new URL('../../../bin/wharf.js', import.meta.url));

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

export interface SshRunOptions {
  /** Written to the command's stdin. */
  input?: string;
  /** Default 120 s. */
  timeoutMs?: number;
}

function sshSpawn(fleet: FleetDescription, address: string, command: string, options: SshRunOptions) {
  return spawnSync(
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
    { input: options.input, maxBuffer: 1 << 30, timeout: options.timeoutMs ?? 120_000 },
  );
}

/** `ssh -i KEY root@ADDR COMMAND` with the system OpenSSH client and the fleet's known_hosts. */
export function sshRun(
  fleet: FleetDescription,
  address: string,
  command: string,
  options: SshRunOptions = {},
): CliResult {
  const result = sshSpawn(fleet, address, command, options);
  return {
    code: result.status ?? 1,
    stdout: result.stdout?.toString() ?? '',
    stderr: result.stderr?.toString() ?? '',
  };
}

/** `sshRun` with stdout as bytes (a binary file read from a server). */
export function sshRunBytes(
  fleet: FleetDescription,
  address: string,
  command: string,
  options: SshRunOptions = {},
): { code: number; stdout: Buffer; stderr: string } {
  const result = sshSpawn(fleet, address, command, options);
  return {
    code: result.status ?? 1,
    stdout: result.stdout ?? Buffer.alloc(0),
    stderr: result.stderr?.toString() ?? '',
  };
}

/** A child process with live output. */
export interface BackgroundProcess {
  child: ChildProcess;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves when the process has exited (also after a kill). */
  done: Promise<CliResult & { signal: NodeJS.Signals | null; endedAt: number }>;
}

/** A `wharf` child process with live output. */
export type BackgroundWharf = BackgroundProcess;

/** Starts a program without blocking the event loop, collecting its output. */
export function startProcess(
  file: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): BackgroundProcess {
  const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<CliResult & { signal: NodeJS.Signals | null; endedAt: number }>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({ code: code ?? 1, signal, stdout, stderr, endedAt: Date.now() }),
    ),
  );
  return { child, output: () => stdout + stderr, done };
}

export function startWharf(args: string[], cwd: string, env: NodeJS.ProcessEnv): BackgroundWharf {
  const childEnv = { ...process.env, ...env };
  // As in wharf(): a child node process that inherits it reports to the test runner instead of printing.
  delete childEnv.NODE_TEST_CONTEXT;
  return startProcess(process.execPath, [WHARF_BIN, ...args], { cwd, env: childEnv });
}

/** Runs wharf to the end without blocking the event loop (traffic keeps flowing meanwhile). */
export async function wharfAsync(
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const { code, stdout, stderr } = await startWharf(args, cwd, env).done;
  return { code, stdout, stderr };
}
