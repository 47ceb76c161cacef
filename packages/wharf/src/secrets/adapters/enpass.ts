import { UserError } from '../../util/errors.js';
import { type SecretValues, isPresent, isRecord, parseJson, cliAdapter, runCli, keepSecret } from './base.js';

/**
 * Enpass (`enpass-cli`, offline; `--from` is the vault path). Secrets are
 * `Title` (every password of that item) or `Title/Label`; all titles are read
 * with one `enpass-cli -json -vault PATH show TITLES…`. Keys are `Title` or
 * `Title/Label`.
 */
export const enpassAdapter = cliAdapter({
  name: 'enpass',
  requiresAccount: false,
  cli: {
    file: 'enpass-cli',
    versionArgs: ['version'],
    product: 'Enpass',
    install: 'install enpass-cli and put it on PATH',
  },
  fetch(secrets, options, ctx) {
    if (!options.from)
      throw new UserError('The enpass adapter reads the vault given by --from; pass --from PATH_TO_VAULT.');
    const titles = [
      ...new Set(
        secrets.map((secret) => {
          const slash = secret.lastIndexOf('/');
          return slash <= 0 ? secret.slice(slash + 1) : secret.slice(0, slash);
        }),
      ),
    ];
    const result = runCli(ctx, 'enpass-cli', ['-json', '-vault', options.from, 'show', ...titles]);
    if (result.status !== 0)
      throw new UserError(
        `Could not read ${titles.join(', ')} from the Enpass vault ${options.from}; run \`enpass-cli -vault ${options.from} list\` to check.`,
      );
    const json = parseJson(result.stdout.trim(), '`enpass-cli show`');
    const results: SecretValues = new Map();
    for (const item of Array.isArray(json) ? json.filter(isRecord) : []) {
      const title = typeof item.title === 'string' ? item.title : undefined;
      if (!title || !isPresent(item.password)) continue;
      const label = typeof item.label === 'string' ? item.label : '';
      const key = label === '' ? title : `${title}/${label}`;
      if (!secrets.includes(title) && !secrets.includes(key)) continue;
      if (results.has(key))
        throw new UserError(
          `${key} is present more than once in the Enpass vault; give the fields distinct labels.`,
        );
      keepSecret(results, ctx, key, item.password);
    }
    return results;
  },
});
