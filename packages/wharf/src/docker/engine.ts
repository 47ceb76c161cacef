import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { canRun, execFile } from '../util/exec.js';
import { UserError } from '../util/errors.js';
import { wharfHome } from '../util/paths.js';
import { DockerClient } from './client.js';

/** Where a Docker engine was found, and whether wharf started it. */
export interface Engine {
  host: string;
  /** 'env': DOCKER_HOST; 'system': the default socket; 'private': the engine wharf starts itself. */
  kind: 'env' | 'system' | 'private';
  client: DockerClient;
}

export const SYSTEM_SOCKET = 'unix:///var/run/docker.sock';

export function privateEngineDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(wharfHome(env), 'engine');
}

export function privateEngineHost(env: NodeJS.ProcessEnv = process.env): string {
  return `unix://${join(privateEngineDir(env), 'docker.sock')}`;
}

/** The dockerd arguments of wharf's private engine: everything under its own directory. */
export function privateEngineArgs(dir: string): string[] {
  return [
    '--data-root',
    join(dir, 'data'),
    '--exec-root',
    join(dir, 'exec'),
    '-H',
    `unix://${join(dir, 'docker.sock')}`,
    '--pidfile',
    join(dir, 'docker.pid'),
  ];
}

async function answers(client: DockerClient): Promise<boolean> {
  try {
    const result = await client.run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 });
    return result.code === 0 && result.stdout.trim() !== '';
  } catch {
    return false;
  }
}

/**
 * Finds a running engine without starting one: DOCKER_HOST when set (and then
 * only it), else the system socket, else wharf's private engine.
 */
export async function findEngine(env: NodeJS.ProcessEnv = process.env): Promise<Engine | undefined> {
  if (env.DOCKER_HOST) {
    const client = new DockerClient(env.DOCKER_HOST);
    if (await answers(client)) return { host: env.DOCKER_HOST, kind: 'env', client };
    throw new UserError(
      `The Docker engine at DOCKER_HOST=${env.DOCKER_HOST} does not answer; start it, or unset DOCKER_HOST to let wharf use its own engine.`,
    );
  }
  if (existsSync('/var/run/docker.sock')) {
    const client = new DockerClient(SYSTEM_SOCKET);
    if (await answers(client)) return { host: SYSTEM_SOCKET, kind: 'system', client };
  }
  const host = privateEngineHost(env);
  if (existsSync(host.slice('unix://'.length))) {
    const client = new DockerClient(host);
    if (await answers(client)) return { host, kind: 'private', client };
  }
  return undefined;
}

/** Finds a running engine or fails with what to do. */
export async function requireEngine(env: NodeJS.ProcessEnv = process.env): Promise<Engine> {
  const engine = await findEngine(env);
  if (engine) return engine;
  throw new UserError(
    'No Docker engine is running: start one, set DOCKER_HOST, or run `wharf fleet up` to let wharf start its own.',
  );
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

/** Installs Debian's docker.io with apt when we are root on Debian; otherwise explains what is needed. */
export async function installDockerIfMissing(log: (line: string) => void): Promise<void> {
  const docker = process.env.WHARF_DOCKER_BIN || 'docker';
  if ((await canRun(docker)) && (await canRun('dockerd'))) return;
  if (process.env.WHARF_NO_INSTALL) {
    throw new UserError(
      `Docker is not installed (no ${docker} or dockerd) and WHARF_NO_INSTALL forbids installing it; install Docker (on Debian: apt-get install -y docker.io) and run again.`,
    );
  }
  if (!isRoot()) {
    throw new UserError(
      'Docker is not installed and wharf is not root, so it cannot install it; install Docker (on Debian: `sudo apt-get install -y docker.io`) and run again.',
    );
  }
  if (!existsSync('/usr/bin/apt-get') || !existsSync('/etc/debian_version')) {
    throw new UserError(
      'Docker is not installed and this is not Debian, so wharf cannot install it; install Docker and run again.',
    );
  }
  log('Installing the Docker engine (apt-get install -y docker.io)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const update = await execFile('apt-get', ['update', '-qq'], { env });
  const install = await execFile('apt-get', ['install', '-y', '-qq', 'docker.io'], { env });
  if (install.code !== 0) {
    throw new UserError(
      `Installing docker.io with apt-get failed (${(install.stderr || update.stderr).trim().split('\n').pop()}); install Docker by hand and run again.`,
    );
  }
}

/**
 * Starts wharf's private dockerd (data under ~/.wharf/engine) and waits until
 * it answers. Used only when no other engine runs; it never touches another engine.
 */
export async function startPrivateEngine(log: (line: string) => void): Promise<Engine> {
  if (!isRoot()) {
    throw new UserError(
      'No Docker engine is running and wharf is not root, so it cannot start one; start Docker (or set DOCKER_HOST) and run again.',
    );
  }
  if (!(await canRun('dockerd'))) {
    throw new UserError(
      'No Docker engine is running and `dockerd` is not installed; install Docker (on Debian: `apt-get install -y docker.io`) and run again.',
    );
  }
  const dir = privateEngineDir();
  await mkdir(dir, { recursive: true });
  const host = privateEngineHost();
  // A stale socket or pid file from an engine that died would make dockerd refuse to start.
  const pidText = await readFile(join(dir, 'docker.pid'), 'utf8').catch(() => '');
  const pid = Number(pidText.trim());
  if (!(pid > 0 && processAlive(pid))) {
    await rm(join(dir, 'docker.pid'), { force: true });
    await rm(join(dir, 'docker.sock'), { force: true });
  }
  log(`Starting wharf's own Docker engine (${dir})…`);
  const logFd = openSync(join(dir, 'dockerd.log'), 'a');
  const child = spawn('dockerd', privateEngineArgs(dir), { detached: true, stdio: ['ignore', logFd, logFd] });
  child.unref();
  closeSync(logFd);
  const client = new DockerClient(host);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await answers(client)) return { host, kind: 'private', client };
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const tail =
    (await readFile(join(dir, 'dockerd.log'), 'utf8').catch(() => '')).trim().split('\n').slice(-1)[0] ?? '';
  throw new UserError(
    `wharf's own Docker engine did not start (see ${join(dir, 'dockerd.log')}: ${tail.slice(0, 200)}).`,
  );
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops wharf's private engine, if it runs. Never stops any other engine. */
export async function stopPrivateEngine(): Promise<boolean> {
  const dir = privateEngineDir();
  const pid = Number((await readFile(join(dir, 'docker.pid'), 'utf8').catch(() => '')).trim());
  if (!(pid > 0 && processAlive(pid))) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 30_000;
  while (processAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  return true;
}

/** Finds an engine, installing and starting wharf's own when there is none. */
export async function ensureEngine(log: (line: string) => void): Promise<Engine> {
  const found = await findEngine();
  if (found) return found;
  await installDockerIfMissing(log);
  return startPrivateEngine(log);
}
