import { type SecretValues, type SecretsAdapter, keepSecret, prefixedSecrets } from './base.js';

/**
 * Kamal's `test` adapter (used by its integration tests): each secret's value
 * is its name reversed, with LPAREN/RPAREN turned into parentheses. Runs nothing.
 */
export const testAdapter: SecretsAdapter = {
  name: 'test',
  requiresAccount: true,
  fetch(secrets, options, ctx) {
    const results: SecretValues = new Map();
    for (const secret of prefixedSecrets(secrets, options.from)) {
      const value = Array.from(secret.replaceAll('LPAREN', '(').replaceAll('RPAREN', ')')).reverse().join('');
      keepSecret(results, ctx, secret, value);
    }
    return results;
  },
};
