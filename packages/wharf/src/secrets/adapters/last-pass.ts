import { UserError } from '../../util/errors.js';
import {
  type SecretValues,
  type SecretsAdapter,
  isRecord,
  parseJson,
  prefixedSecrets,
  requireCli,
  runCli,
} from './base.js';

/**
 * LastPass (`lpass`). Logs in with `lpass login ACCOUNT` unless
 * `lpass status` says "Logged in as ACCOUNT."; reads every secret in one
 * `lpass show NAMES… --json`; keys are each entry's `fullname` (folder/name).
 */
export const lastPassAdapter: SecretsAdapter = {
  name: 'lastpass',
  requiresAccount: true,
  fetch(secrets, options, ctx) {
    requireCli(
      ctx,
      'lpass',
      ['--version'],
      'LastPass',
      'install the LastPass CLI (`lpass`) and put it on PATH',
    );
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
      ctx.redactor.add(value);
      results.set(entry.fullname, value);
    }
    const missing = names.filter((name) => !results.has(name));
    if (missing.length > 0)
      throw new UserError(
        `Could not find ${missing.join(', ')} in LastPass; check the names with \`lpass ls\`.`,
      );
    return results;
  },
};
