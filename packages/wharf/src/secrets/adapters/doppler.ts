import { UserError } from '../../util/errors.js';
import {
  type SecretValues,
  isRecord,
  parseJson,
  prefixedSecrets,
  cliAdapter,
  rubySplit,
  runCli,
  keepSecret,
} from './base.js';

/**
 * Doppler (`doppler`). Logs in with `doppler login -y` unless `doppler me`
 * works; reads all secrets with one `doppler secrets get NAMES… --json -p PROJECT -c CONFIG`
 * (project and config come from `--from project/config` or the first name;
 * a service token in DOPPLER_TOKEN carries them instead). Keys are the bare
 * secret names; values are Doppler's `computed` values.
 */
export const dopplerAdapter = cliAdapter({
  name: 'doppler',
  requiresAccount: false,
  cli: { file: 'doppler', product: 'Doppler' },
  fetch(secrets, options, ctx) {
    if (runCli(ctx, 'doppler', ['me', '--json'], { stderr: 'ignore' }).status !== 0) {
      if (runCli(ctx, 'doppler', ['login', '-y']).status !== 0)
        throw new UserError('Failed to login to Doppler; run `doppler login` and try again.');
    }
    const names = prefixedSecrets(secrets, options.from);
    if (names.length === 0)
      throw new UserError('No secrets given to fetch from Doppler; name them after the options.');
    const flags: string[] = [];
    const token = ctx.env.DOPPLER_TOKEN;
    if (!(token && token.startsWith('dp.st'))) {
      const [project, config] = rubySplit(names[0]!, '/');
      if (!project || !config)
        throw new UserError(
          "Missing project or config from '--from=project/config' option; pass --from PROJECT/CONFIG.",
        );
      flags.push('-p', project, '-c', config);
    }
    const bare = names.map((name) => rubySplit(name, '/').pop() ?? name);
    const result = runCli(ctx, 'doppler', ['secrets', 'get', ...bare, '--json', ...flags]);
    if (result.status !== 0)
      throw new UserError(
        `Could not read ${names.join(', ')} from Doppler; check the names with \`doppler secrets${flags.length ? ` ${flags.join(' ')}` : ''}\`.`,
      );
    const json = parseJson(result.stdout, '`doppler secrets get`');
    const results: SecretValues = new Map();
    for (const [key, entry] of Object.entries(isRecord(json) ? json : {})) {
      const value =
        isRecord(entry) && entry.computed !== null && entry.computed !== undefined
          ? String(entry.computed)
          : '';
      keepSecret(results, ctx, key, value);
    }
    return results;
  },
});
