// The state file: every service with its options and targets, written
// atomically (temp file + fsync + rename) after each change and read on start.
import {
  mkdirSync,
  openSync,
  writeSync,
  fsyncSync,
  closeSync,
  renameSync,
  readFileSync,
  unlinkSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { homedir, tmpdir } from 'node:os';
import type { PauseSnapshot } from './pause.js';
import type { RolloutSnapshot } from './rollout.js';
import type { ServiceOptions, TargetOptions } from './options.js';
import { ProxyError, describeError } from './errors.js';

export interface ServiceState {
  name: string;
  options: ServiceOptions;
  targetOptions: TargetOptions;
  activeTargets: string[];
  activeReaders: string[];
  rolloutTargets: string[];
  rolloutReaders: string[];
  pause: PauseSnapshot;
  rollout: RolloutSnapshot | null;
}

export interface StateFile {
  version: 1;
  services: ServiceState[];
}

/** kamal-proxy's data directory: ~/.config/kamal-proxy (mode 0700), else the temp dir. */
export function defaultConfigDir(): string {
  const override = process.env['WHARF_PROXY_CONFIG_DIR'];
  if (override) return override;
  const dir = join(homedir() || tmpdir(), '.config', 'kamal-proxy');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return dir;
  } catch {
    return tmpdir();
  }
}

export function statePathIn(configDir: string): string {
  return join(configDir, 'kamal-proxy.state');
}

export function writeStateAtomically(path: string, state: StateFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  const data = JSON.stringify(state, null, 2) + '\n';
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      /* nothing to clean */
    }
    throw new ProxyError(
      `cannot write the state file ${path} (${describeError(err)}); check the directory's permissions`,
    );
  }
}

/** Reads the state file; null when there is none. Throws ProxyError when it is unreadable JSON. */
export function readState(path: string): StateFile | null {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ProxyError(`cannot read the state file ${path} (${describeError(err)})`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ProxyError(
      `the state file ${path} is not valid JSON (${describeError(err)}); move it away and redeploy the services`,
    );
  }
  const obj = parsed as Partial<StateFile>;
  if (typeof obj !== 'object' || obj === null || !Array.isArray(obj.services)) {
    throw new ProxyError(
      `the state file ${path} has no services list; move it away and redeploy the services`,
    );
  }
  return { version: 1, services: obj.services };
}
