import { UserError } from '../../util/errors.js';
import type { Redactor } from '../redactor.js';
import type { CommandRunner, RunOptions, RunResult } from '../runner.js';
import { quoteForLog } from '../shellwords.js';

/** Fetched secrets in the order the password manager returned them (the order `fetch` prints). */
export type SecretValues = Map<string, string>;

export interface FetchOptions {
  account?: string;
  from?: string;
}

/** Everything an adapter may use: how to run its CLI, the environment, the redactor, a verbose log. */
export interface AdapterContext {
  runner: CommandRunner;
  env: NodeJS.ProcessEnv;
  cwd?: string;
  redactor: Redactor;
  /** Verbose log line (the caller redacts it again before writing). */
  log?: (line: string) => void;
}

/** A password-manager adapter: `kamal secrets fetch --adapter NAME`. */
export interface SecretsAdapter {
  /** The name users pass to --adapter (Kamal's spelling). */
  readonly name: string;
  /** Kamal refuses to fetch without --account for these. */
  readonly requiresAccount: boolean;
  /** Fetches `secrets` (names as given, before --from is applied). */
  fetch(secrets: readonly string[], options: FetchOptions, ctx: AdapterContext): SecretValues;
}

/** Kamal's `prefixed_secrets`: `--from X` turns each name into `X/name`. */
export function prefixedSecrets(secrets: readonly string[], from: string | undefined): string[] {
  return secrets.map((secret) => (from ? `${from}/${secret}` : secret));
}

/** Ruby's `String#split(sep)`: trailing empty fields are dropped. */
export function rubySplit(text: string, separator: string): string[] {
  const parts = text.split(separator);
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts;
}

/** Runs one CLI call, logging the argv (never output) when verbose. */
export function runCli(
  ctx: AdapterContext,
  file: string,
  args: readonly string[],
  options: RunOptions & { envExtra?: Record<string, string> } = {},
): RunResult {
  const env = options.envExtra ? { ...ctx.env, ...options.envExtra } : ctx.env;
  const prefix = options.envExtra
    ? Object.keys(options.envExtra)
        .map((k) => `${k}=[REDACTED] `)
        .join('')
    : '';
  ctx.log?.(ctx.redactor.redact(`Running ${prefix}${[file, ...args].map(quoteForLog).join(' ')}`));
  return ctx.runner(file, args, { env, cwd: options.cwd ?? ctx.cwd, stderr: options.stderr });
}

/** Kamal's `check_dependencies!`: `<cli> --version 2> /dev/null` must succeed. */
export function requireCli(
  ctx: AdapterContext,
  file: string,
  versionArgs: readonly string[],
  product: string,
  install: string,
): void {
  const result = runCli(ctx, file, versionArgs, { stderr: 'ignore' });
  if (result.status !== 0) {
    throw new UserError(
      `${product} CLI is not installed (\`${file} ${versionArgs.join(' ')}\` ${result.notFound ? 'was not found on PATH' : `exited with status ${result.status}`}); ${install}.`,
    );
  }
}

/**
 * Parses a CLI's JSON output. The error never quotes the output: it may hold
 * secret values (Node's own JSON.parse message would repeat part of it).
 */
export function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError(`${what} did not print valid JSON; run it by hand to see what it printed.`);
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A value as a string: strings unchanged, everything else as JSON (Kamal's `stringify_secret_value`). */
export function stringifyValue(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null');
}

/** True when a string has something besides whitespace (Ruby's `present?`). */
export function isPresent(value: unknown): value is string {
  return typeof value === 'string' && value.trim() !== '';
}

/** The password manager's CLI an adapter drives, checked before every fetch. */
export interface CliSpec {
  file: string;
  /** Arguments of the version probe (Kamal's `check_dependencies!`); `--version` by default. */
  versionArgs?: readonly string[];
  /** The product's name in the "not installed" sentence. */
  product: string;
  /** What to do when the CLI is missing; "install the PRODUCT CLI (`file`) and put it on PATH" by default. */
  install?: string;
}

/** An adapter whose `fetch` runs only after its CLI answered the version probe. */
export function cliAdapter(spec: {
  name: string;
  requiresAccount: boolean;
  cli: CliSpec;
  fetch: SecretsAdapter['fetch'];
}): SecretsAdapter {
  const { file, versionArgs = ['--version'], product } = spec.cli;
  const install = spec.cli.install ?? `install the ${product} CLI (\`${file}\`) and put it on PATH`;
  return {
    name: spec.name,
    requiresAccount: spec.requiresAccount,
    fetch(secrets, options, ctx) {
      requireCli(ctx, file, versionArgs, product, install);
      return spec.fetch(secrets, options, ctx);
    },
  };
}

/** Records a fetched value: the redactor learns it before it is kept, so no later output can show it. */
export function keepSecret(results: SecretValues, ctx: AdapterContext, key: string, value: string): void {
  ctx.redactor.add(value);
  results.set(key, value);
}
