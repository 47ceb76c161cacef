/**
 * Runs Kamal hooks: executables at `<hooks_path>/<name>` run locally, with
 * Kamal's KAMAL_* environment (and the same values as WHARF_*). A missing hook
 * is skipped; a failing one aborts the command with one sentence. Output is
 * shown live with -v or `hooks_output: verbose`, else only when the hook fails.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UserError } from '../util/errors.js';

export interface HookRun {
  name: string;
  /** Directory holding the hooks (config.hooksPath resolved against the project). */
  hooksDir: string;
  cwd: string;
  /** KAMAL_* variables (WHARF_* copies are added here). */
  env: Record<string, string | undefined>;
  /** Secrets, for the hooks Kamal gives them to (pre-connect, pre-deploy, post-deploy). */
  secrets?: Record<string, string>;
  /** Stream the hook's output as it runs. */
  stream: boolean;
  write?: (text: string) => void;
  redact?: (text: string) => string;
}

/** KAMAL_X → also WHARF_X, so hooks written for either tool work. */
export function withWharfAliases(env: Record<string, string | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    out[key] = value;
    if (key.startsWith('KAMAL_')) out[`WHARF_${key.slice('KAMAL_'.length)}`] = value;
  }
  return out;
}

export function hookPath(hooksDir: string, name: string): string | undefined {
  const path = resolve(hooksDir, name);
  return existsSync(path) ? path : undefined;
}

/** Runs the hook if it exists; resolves true when it ran, false when there is none. */
export async function runHook(run: HookRun): Promise<boolean> {
  const path = hookPath(run.hooksDir, run.name);
  if (!path) return false;
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new UserError(`Hook ${path} is not executable; run \`chmod +x ${path}\` (or remove it).`);
  }
  const redact = run.redact ?? ((t: string) => t);
  const write = run.write ?? ((t: string) => process.stderr.write(t));
  const env = { ...process.env, ...run.secrets, ...withWharfAliases(run.env) };
  const output: string[] = [];
  const code = await new Promise<number>((resolvePromise, reject) => {
    const child = spawn(path, [], { cwd: run.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const onData = (chunk: Buffer) => {
      const text = redact(chunk.toString());
      output.push(text);
      if (run.stream) write(text);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (c, signal) => resolvePromise(c ?? (signal ? 128 : 1)));
  });
  if (code !== 0) {
    const text = output.join('');
    if (!run.stream && text.trim() !== '') write(text.endsWith('\n') ? text : `${text}\n`);
    const last = text.trim().split('\n').pop()?.trim();
    throw new UserError(
      `Hook \`${run.name}\` failed with exit code ${code}${last ? ` (${last.slice(0, 200)})` : ''}; fix ${path} or skip hooks with -H.`,
    );
  }
  return true;
}
