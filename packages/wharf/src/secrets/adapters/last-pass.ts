import { UserError } from '../../util/errors.js';
import {
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  runCli,
  keepSecret,
} from './base.js';

/**
 * LastPass (`lpass`). Logs in with `lpass login ACCOUNT` unless
 * `lpass status` says "Logged in as ACCOUNT."; reads every secret in one
 * `lpass show NAMES… --json`; keys are each entry's `fullname` (folder/name).
 */
export const lastPassAdapter = cliAdapter({
  name: 'lastpass',
  requiresAccount: true,
  cli: { file: 'lpass', product: 'LastPass' },
  fetch(secrets, options, ctx) {
    const account = options.account!;
    const status = runCli(ctx, 'lpass', ['status', '--color', 'never']);
    if (status.stdout.trim() !== `Logged in as ${account}.`) {
      if (runCli(ctx, 'lpass', ['login', account]).status !== 0) {
        throw new UserError(
          `Failed to login to LastPass as ${account}; run \`lpass login ${account}\` and try again.`,
        );
      }
    }
    const names = prefixedSecrets(secrets, options.from);
    const result = runCli(ctx, 'lpass', ['show', ...names, '--json']);
    if (result.status !== 0)
      throw new UserError(
        `Could not read ${names.join(', ')} from LastPass; check the names with \`lpass ls\`.`,
      );
    const json = parseJson(result.stdout, '`lpass show --json`');
    const results: SecretValues = new Map();
    for (const entry of Array.isArray(json) ? json : []) {
      if (!isRecord(entry) || typeof entry.fullname !== 'string') continue;
      const value = typeof entry.password === 'string' ? entry.password : '';
      keepSecret(results, ctx, entry.fullname, value);
    }
    const missing = names.filter((name) => !results.has(name));
    if (missing.length > 0)
      throw new UserError(
        `Could not find ${missing.join(', ')} in LastPass; check the names with \`lpass ls\`.`,
      );
    return results;
  },
});
