import { UserError } from '../../util/errors.js';
import {
  type AdapterContext,
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  runCli,
  keepSecret,
} from './base.js';

/**
 * Bitwarden Secrets Manager (`bws`, authenticated by BWS_ACCESS_TOKEN).
 * Secrets are secret ids (`bws secret get ID`), or `all` (`bws secret list`)
 * or `PROJECT_ID/all` (`bws secret list PROJECT_ID`); keys are each secret's `key`.
 */
export const bitwardenSecretsManagerAdapter = cliAdapter({
  name: 'bitwarden-sm',
  requiresAccount: false,
  cli: { file: 'bws', product: 'Bitwarden Secrets Manager' },
  fetch(secrets, options, ctx) {
    if (runCli(ctx, 'bws', ['project', 'list']).status !== 0) {
      throw new UserError(
        'Could not authenticate to Bitwarden Secrets Manager. Did you set a valid access token? Export BWS_ACCESS_TOKEN and try again.',
      );
    }
    if (secrets.length === 0) {
      throw new UserError(
        'You must specify what to retrieve from Bitwarden Secrets Manager: secret ids, `all`, or PROJECT_ID/all.',
      );
    }
    const names = prefixedSecrets(secrets, options.from);
    const results: SecretValues = new Map();
    const list = listCommand(names);
    if (list) {
      const result = runCli(ctx, 'bws', list);
      if (result.status !== 0)
        throw new UserError(
          `Could not read secrets from Bitwarden Secrets Manager (\`bws ${list.join(' ')}\` failed); check the project id and the access token's permissions.`,
        );
      const json = parseJson(result.stdout, `\`bws ${list.join(' ')}\``);
      for (const entry of Array.isArray(json) ? json : []) add(results, entry, ctx);
      return results;
    }
    for (const id of names) {
      const result = runCli(ctx, 'bws', ['secret', 'get', id]);
      if (result.status !== 0)
        throw new UserError(
          `Could not read ${id} from Bitwarden Secrets Manager; check the secret id with \`bws secret get ${id}\`.`,
        );
      add(results, parseJson(result.stdout, `\`bws secret get ${id}\``), ctx);
    }
    return results;
  },
});

function listCommand(names: string[]): string[] | undefined {
  if (names.length !== 1) return undefined;
  const only = names[0]!;
  if (only === 'all') return ['secret', 'list'];
  if (only.endsWith('/all')) return ['secret', 'list', only.split('/all')[0]!];
  return undefined;
}

function add(results: SecretValues, entry: unknown, ctx: AdapterContext): void {
  if (!isRecord(entry) || typeof entry.key !== 'string') return;
  const value = entry.value === null || entry.value === undefined ? '' : String(entry.value);
  keepSecret(results, ctx, entry.key, value);
}
