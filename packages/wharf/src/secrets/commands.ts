import { UserError } from '../util/errors.js';
import type { AdapterContext, SecretValues } from './adapters/base.js';
import { type AdapterRegistry, defaultAdapters } from './adapters/registry.js';
import { Redactor } from './redactor.js';
import { type CommandRunner, spawnRunner } from './runner.js';
import { shellEscape } from './shellwords.js';

export interface FetchRequest {
  adapter: string;
  account?: string;
  from?: string;
  secrets: readonly string[];
}

export interface SecretsCommandContext {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  runner?: CommandRunner;
  redactor?: Redactor;
  adapters?: AdapterRegistry;
  log?: (line: string) => void;
}

function adapterContext(ctx: SecretsCommandContext): AdapterContext {
  return {
    runner: ctx.runner ?? spawnRunner,
    env: ctx.env ?? process.env,
    cwd: ctx.cwd,
    redactor: ctx.redactor ?? new Redactor(),
    log: ctx.log,
  };
}

/** `kamal secrets fetch`: asks the adapter's password manager for the secrets. */
export function fetchSecrets(request: FetchRequest, ctx: SecretsCommandContext = {}): SecretValues {
  const env = ctx.env ?? process.env;
  const adapter = (ctx.adapters ?? defaultAdapters).lookup(request.adapter, env);
  const account = request.account === '' ? undefined : request.account;
  if (adapter.requiresAccount && !account) {
    throw new UserError(
      `No value provided for required options '--account': the ${request.adapter} adapter needs --account ACCOUNT.`,
    );
  }
  return adapter.fetch(
    request.secrets,
    { account, from: request.from === '' ? undefined : request.from },
    adapterContext(ctx),
  );
}

/** The JSON `fetch` prints: one object, keys in the order fetched, no spaces (Ruby's `JSON.dump`). */
export function formatSecretsJson(values: SecretValues): string {
  return `{${[...values].map(([key, value]) => `${JSON.stringify(key)}:${JSON.stringify(value)}`).join(',')}}`;
}

/**
 * `kamal secrets extract NAME JSON`: the value stored under NAME, else under
 * the first key ending in `/NAME`. The error names the keys, never values.
 */
export function extractSecret(name: string, secretsJson: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretsJson);
  } catch {
    throw new UserError(
      `Could not find secret ${name}: the secrets given to extract are not JSON (did the fetch before it fail?).`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UserError(`Could not find secret ${name}: the secrets given to extract are not a JSON object.`);
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  const exact = entries.find(([key]) => key === name);
  const found =
    exact && exact[1] !== null
      ? exact
      : entries.find(([key, value]) => key.endsWith(`/${name}`) && value !== null);
  if (!found) {
    const keys = entries.map(([key]) => key);
    throw new UserError(
      `Could not find secret ${name} among the fetched secrets (${keys.length > 0 ? keys.join(', ') : 'none'}); check the name.`,
    );
  }
  const value = found[1];
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** `kamal secrets print`: `KEY=value` lines (each ends with a newline, as Ruby's `puts`). */
export function formatSecretsPrint(values: Iterable<[string, string]>): string {
  let text = '';
  for (const [key, value] of values) {
    const line = `${key}=${value}`;
    text += line.endsWith('\n') ? line : `${line}\n`;
  }
  return text;
}

/** What a `$(kamal secrets …)` command in a secrets file evaluates to (Kamal runs it with --inline). */
export function runInlineSecretsCommand(args: readonly string[], ctx: SecretsCommandContext = {}): string {
  const [group, subcommand, ...rest] = args;
  if (group !== 'secrets')
    throw new UserError(
      `Only \`kamal secrets fetch\` and \`kamal secrets extract\` can run inside a secrets file, not \`kamal ${args.join(' ')}\`.`,
    );
  const parsed = parseInlineOptions(rest, subcommand ?? '');
  if (subcommand === 'fetch') {
    if (!parsed.adapter)
      throw new UserError(
        "No value provided for required options '--adapter' in a `kamal secrets fetch` inside a secrets file; add --adapter NAME.",
      );
    const values = fetchSecrets(
      { adapter: parsed.adapter, account: parsed.account, from: parsed.from, secrets: parsed.positional },
      ctx,
    );
    return shellEscape(formatSecretsJson(values));
  }
  if (subcommand === 'extract') {
    if (parsed.positional.length !== 2) {
      throw new UserError(
        `\`kamal secrets extract\` takes NAME and the fetched JSON (got ${parsed.positional.length} argument${parsed.positional.length === 1 ? '' : 's'}); quote the JSON or pass it as $SECRETS.`,
      );
    }
    const value = extractSecret(parsed.positional[0]!, parsed.positional[1]!);
    ctx.redactor?.add(value);
    return value;
  }
  throw new UserError(
    `Only \`kamal secrets fetch\` and \`kamal secrets extract\` can run inside a secrets file, not \`secrets ${subcommand ?? ''}\`.`,
  );
}

interface InlineOptions {
  adapter?: string;
  account?: string;
  from?: string;
  positional: string[];
}

/** Thor-style options of `secrets fetch/extract`; Kamal's global options are accepted and ignored. */
function parseInlineOptions(args: readonly string[], subcommand: string): InlineOptions {
  const result: InlineOptions = { positional: [] };
  const valued: Record<string, keyof Omit<InlineOptions, 'positional'> | null> = {
    '--adapter': 'adapter',
    '-a': 'adapter',
    '--account': 'account',
    '--from': 'from',
    '--config-file': null,
    '-c': null,
    '--destination': null,
    '-d': null,
    '--version': null,
    '--hosts': null,
    '-h': null,
    '--roles': null,
    '-r': null,
  };
  const flags = new Set([
    '--inline',
    '--verbose',
    '-v',
    '--quiet',
    '-q',
    '--primary',
    '-p',
    '--skip-hooks',
    '-H',
  ]);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      result.positional.push(...args.slice(i + 1));
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (flag in valued) {
      const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined)
        throw new UserError(
          `No value provided for option '${flag}' in a \`kamal secrets ${subcommand}\` inside a secrets file.`,
        );
      const key = valued[flag];
      if (key) result[key] = value;
    } else if (flags.has(flag)) {
      // --inline is what Kamal itself appends; the rest change nothing here.
    } else if (arg.startsWith('-') && arg.length > 1 && !/^-\d/.test(arg)) {
      throw new UserError(
        `Unknown option ${flag} in a \`kamal secrets ${subcommand}\` inside a secrets file; remove it.`,
      );
    } else {
      result.positional.push(arg);
    }
  }
  return result;
}
