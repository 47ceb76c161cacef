import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { UserError } from '../../util/errors.js';
import { awsSecretsManagerAdapter } from './aws-secrets-manager.js';
import type { SecretsAdapter } from './base.js';
import { bitwardenSecretsManagerAdapter } from './bitwarden-secrets-manager.js';
import { bitwardenAdapter } from './bitwarden.js';
import { commandAdapter } from './command.js';
import { dopplerAdapter } from './doppler.js';
import { enpassAdapter } from './enpass.js';
import { gcpSecretManagerAdapter } from './gcp-secret-manager.js';
import { lastPassAdapter } from './last-pass.js';
import { onePasswordAdapter } from './one-password.js';
import { passboltAdapter } from './passbolt.js';
import { testAdapter } from './test-adapter.js';

/** Prefix of executables found on PATH as generic adapters: `--adapter vault` runs `wharf-secrets-vault`. */
export const COMMAND_ADAPTER_PREFIX = 'wharf-secrets-';

/**
 * Kamal's adapter names: its class names in snake_case (`one_password`,
 * `last_pass`, `aws_secrets_manager`, …) or CamelCase, plus the aliases
 * `1password`, `lastpass`, `gcp` and `bitwarden-sm`.
 */
const BUILT_IN: Array<[string[], SecretsAdapter]> = [
  [['one_password', '1password'], onePasswordAdapter],
  [['bitwarden'], bitwardenAdapter],
  [['bitwarden_secrets_manager', 'bitwarden-sm'], bitwardenSecretsManagerAdapter],
  [['last_pass', 'lastpass'], lastPassAdapter],
  [['aws_secrets_manager'], awsSecretsManagerAdapter],
  [['doppler'], dopplerAdapter],
  [['gcp_secret_manager', 'gcp'], gcpSecretManagerAdapter],
  [['passbolt'], passboltAdapter],
  [['enpass'], enpassAdapter],
  [['test'], testAdapter],
];

/** `OnePassword`/`one_password`/`1Password` → the key adapters are registered under. */
function normalize(name: string): string {
  const lower = name.toLowerCase();
  if (['1password', 'lastpass', 'gcp', 'bitwarden-sm'].includes(lower)) return lower;
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** The adapters `--adapter` can name. */
export class AdapterRegistry {
  private readonly adapters = new Map<string, SecretsAdapter>();

  constructor(withBuiltIns = true) {
    if (withBuiltIns)
      for (const [names, adapter] of BUILT_IN) for (const name of names) this.adapters.set(name, adapter);
  }

  /** Adds (or replaces) an adapter under its own name and any aliases. */
  register(adapter: SecretsAdapter, aliases: readonly string[] = []): void {
    for (const name of [adapter.name, ...aliases]) this.adapters.set(normalize(name), adapter);
  }

  /** Names users can pass, for help and error messages. */
  names(): string[] {
    return [...this.adapters.keys()].sort();
  }

  /**
   * The adapter for `name`: a registered one, else an executable
   * `wharf-secrets-NAME` on `env.PATH` run as a generic command adapter.
   */
  lookup(name: string, env: NodeJS.ProcessEnv = process.env): SecretsAdapter {
    const found = this.adapters.get(normalize(name));
    if (found) return found;
    if (/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
      const program = findOnPath(`${COMMAND_ADAPTER_PREFIX}${name}`, env.PATH ?? '');
      if (program) return commandAdapter({ name, command: program });
    }
    throw new UserError(
      `Unknown secrets adapter: ${name}; use one of ${this.names().join(', ')}, or put an executable ${COMMAND_ADAPTER_PREFIX}${name} that prints JSON on PATH.`,
    );
  }
}

function findOnPath(program: string, path: string): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, program);
    try {
      if (!statSync(candidate).isFile()) continue;
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The registry `wharf secrets fetch` and secrets files use unless told otherwise. */
export const defaultAdapters = new AdapterRegistry();

/** Registers an adapter in the default registry (e.g. a configured `commandAdapter`). */
export function registerAdapter(adapter: SecretsAdapter, aliases: readonly string[] = []): void {
  defaultAdapters.register(adapter, aliases);
}
