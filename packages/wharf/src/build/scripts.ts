/**
 * Runs builder scripts (builders.ts) on this machine, and Kamal's "make sure a
 * compatible builder exists" step before a buildx build.
 */
import type { DockerClient } from '../docker/client.js';
import { UserError } from '../util/errors.js';
import {
  MISSING_BUILDER,
  MISSING_ON_REMOVE,
  createBuilderScript,
  inspectBuilderScript,
  removeBuilderScript,
  scriptText,
  type Script,
} from './builders.js';
import { runStreaming } from './runner.js';
import type { BuildSpec } from './spec.js';

export interface ScriptResult {
  ok: boolean;
  output: string;
}

/** Runs the steps with shell semantics (`&&` stops at a failure, `;` runs all and the last decides). */
export async function runScript(
  script: Script,
  client: DockerClient,
  onLine?: (line: string) => void,
): Promise<ScriptResult> {
  const outputs: string[] = [];
  let ok = true;
  for (const step of script.steps) {
    const result = await runStreaming(step.command, { client, ...(onLine ? { onLine } : {}) });
    outputs.push(result.output);
    ok = result.code === 0 && (step.expect ? step.expect.test(result.output) : true);
    if (!ok && script.join === '&&') break;
  }
  if (!ok && script.failureMessage) outputs.push(script.failureMessage);
  return { ok, output: outputs.filter(Boolean).join('\n') };
}

export interface EnsureBuilderOptions {
  client: DockerClient;
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

function lastMeaningful(output: string): string {
  return (
    output
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  ).replace(/\.$/, '');
}

/** `kamal build create`. */
export async function createBuilder(spec: BuildSpec, options: EnsureBuilderOptions): Promise<void> {
  const script = createBuilderScript(spec);
  if (!script) return;
  options.log?.(scriptText(script));
  const result = await runScript(script, options.client);
  if (!result.ok) {
    throw new UserError(
      `Couldn't create the build setup: ${lastMeaningful(result.output) || 'docker failed'}; check builder.remote and builder.driver, then run \`wharf build create\` again.`,
    );
  }
}

/** `kamal build remove`; returns the failure output instead of throwing. */
export async function removeBuilder(spec: BuildSpec, options: EnsureBuilderOptions): Promise<ScriptResult> {
  const script = removeBuilderScript(spec);
  if (!script) return { ok: true, output: '' };
  options.log?.(scriptText(script));
  return runScript(script, options.client);
}

/**
 * Inspects the builder; when it is missing or incompatible, removes what is
 * left of it and creates it (Kamal's push prelude).
 */
export async function ensureBuilder(spec: BuildSpec, options: EnsureBuilderOptions): Promise<void> {
  const inspect = inspectBuilderScript(spec);
  if (!inspect) return;
  options.log?.(scriptText(inspect));
  const result = await runScript(inspect, options.client);
  if (result.ok) return;
  if (!MISSING_BUILDER.test(result.output)) {
    throw new UserError(
      `Checking the buildx builder failed: ${lastMeaningful(result.output) || 'docker failed'}; run \`wharf build remove\` and try again.`,
    );
  }
  options.warn?.('Missing compatible builder, so creating a new one first');
  const removed = await removeBuilder(spec, options);
  if (!removed.ok && !MISSING_ON_REMOVE.test(removed.output)) {
    throw new UserError(
      `Removing the old buildx builder failed: ${lastMeaningful(removed.output) || 'docker failed'}; remove it by hand (docker buildx rm) and try again.`,
    );
  }
  await createBuilder(spec, options);
}
