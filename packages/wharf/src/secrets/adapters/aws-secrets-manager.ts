import { UserError } from '../../util/errors.js';
import {
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  runCli,
  stringifyValue,
  keepSecret,
} from './base.js';

/**
 * AWS Secrets Manager (`aws`). One `batch-get-secret-value` call for all
 * secrets; `--account` is the AWS profile. A SecretString holding a JSON
 * object becomes one key per property (`name/key`); anything else is `name`.
 */
export const awsSecretsManagerAdapter = cliAdapter({
  name: 'aws_secrets_manager',
  requiresAccount: false,
  cli: { file: 'aws', product: 'AWS' },
  fetch(secrets, options, ctx) {
    const names = prefixedSecrets(secrets, options.from);
    const args = ['secretsmanager', 'batch-get-secret-value', '--secret-id-list', ...names];
    if (options.account) args.push('--profile', options.account);
    args.push('--output', 'json');
    const result = runCli(ctx, 'aws', args);
    if (result.status !== 0) {
      throw new UserError(
        `Could not read ${names.join(', ')} from AWS Secrets Manager; check the secret names and your credentials${options.account ? ` for profile ${options.account}` : ''}.`,
      );
    }
    const json = parseJson(result.stdout, '`aws secretsmanager batch-get-secret-value`');
    if (!isRecord(json))
      throw new UserError(
        '`aws secretsmanager batch-get-secret-value` did not print an object; run it by hand to see why.',
      );
    const errors = Array.isArray(json.Errors) ? json.Errors.filter(isRecord) : [];
    if (errors.length > 0) {
      throw new UserError(
        `AWS Secrets Manager: ${errors.map((e) => `${String(e.SecretId)}: ${String(e.Message)}`).join(' ')}`,
      );
    }
    const results: SecretValues = new Map();
    for (const secret of Array.isArray(json.SecretValues) ? json.SecretValues.filter(isRecord) : []) {
      const name = String(secret.Name);
      if (typeof secret.SecretString !== 'string') {
        throw new UserError(
          `AWS secret ${name} has no SecretString (binary secrets are not supported); store it as a string.`,
        );
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(secret.SecretString);
      } catch {
        set(results, name, secret.SecretString);
        continue;
      }
      if (isRecord(parsed)) {
        for (const [key, value] of Object.entries(parsed))
          set(results, `${name}/${key}`, stringifyValue(value));
      } else {
        set(results, name, stringifyValue(parsed));
      }
    }
    return results;

    function set(results: SecretValues, key: string, value: string): void {
      keepSecret(results, ctx, key, value);
    }
  },
});
