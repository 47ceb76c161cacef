import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CommandRunner, spawnRunner } from '../../src/secrets/runner.js';

/** packages/wharf/test/fakes/bin (the tests run from dist/test/secrets). */
export const FAKES_BIN = fileURLToPath(new URL('../../../test/fakes/bin', import.meta.url));

export interface LoggedCall {
  cli: string;
  argv: string[];
  env: Record<string, string>;
}

export interface FakeWorld {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** Every fake CLI call so far. */
  calls(cli?: string): LoggedCall[];
  /** Just the argv of each call, optionally of one CLI. */
  argvs(cli?: string): string[][];
  vault(): Record<string, any>;
  write(relative: string, text: string): string;
  cleanup(): void;
}

/** A temp directory with a fake vault, an argv log and an env whose PATH finds the fake CLIs first. */
export function fakeWorld(vault: Record<string, unknown>, extraEnv: NodeJS.ProcessEnv = {}): FakeWorld {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-secrets-'));
  const vaultPath = join(dir, 'vault.json');
  const logPath = join(dir, 'calls.log');
  writeFileSync(vaultPath, JSON.stringify(vault, null, 2));
  const env: NodeJS.ProcessEnv = {
    PATH: [FAKES_BIN, dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(':'),
    HOME: dir,
    LANG: 'C.UTF-8',
    WHARF_FAKE_VAULT: vaultPath,
    WHARF_FAKE_LOG: logPath,
    ...extraEnv,
  };
  const calls = (cli?: string): LoggedCall[] => {
    if (!existsSync(logPath)) return [];
    const all = readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as LoggedCall);
    return cli ? all.filter((c) => c.cli === cli) : all;
  };
  return {
    dir,
    env,
    calls,
    argvs: (cli) => calls(cli).map((c) => [c.cli, ...c.argv]),
    vault: () => JSON.parse(readFileSync(vaultPath, 'utf8')),
    write(relative, text) {
      const path = join(dir, relative);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      return path;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** The real runner, with the fakes' stderr captured instead of cluttering the test output. */
export const quietRunner: CommandRunner = (file, args, options = {}) =>
  spawnRunner(file, args, { ...options, stderr: options.stderr === 'ignore' ? 'ignore' : 'pipe' });
