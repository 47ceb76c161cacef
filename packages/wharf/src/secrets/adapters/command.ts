import { UserError } from '../../util/errors.js';
import {
  type SecretValues,
  type SecretsAdapter,
  isRecord,
  parseJson,
  runCli,
  stringifyValue,
  keepSecret,
} from './base.js';

export interface CommandAdapterOptions {
  /** The name users pass to --adapter. */
  name: string;
  /** The program to run (a path, or a name looked up on PATH). */
  command: string;
  /** Arguments placed before wharf's own. */
  args?: readonly string[];
  /** Refuse to run without --account (default false). */
  requiresAccount?: boolean;
}

/**
 * The generic adapter: runs any program that prints the secrets as one JSON
 * object. It is called as
 *
 *     COMMAND [ARGS…] [--account ACCOUNT] [--from FROM] NAME…
 *
 * with stdin and stderr on the terminal (so it can prompt), and must print
 * `{"KEY": "value", …}` on stdout and exit 0. Values that are not strings are
 * written as JSON; null is refused. Names are passed as given: the program
 * decides what --from means.
 *
 * wharf finds one automatically for `--adapter NAME` when an executable
 * `wharf-secrets-NAME` is on PATH; `registerAdapter(commandAdapter({…}))`
 * configures one explicitly.
 */
export function commandAdapter(options: CommandAdapterOptions): SecretsAdapter {
  return {
    name: options.name,
    requiresAccount: options.requiresAccount ?? false,
    fetch(secrets, fetchOptions, ctx) {
      const args = [...(options.args ?? [])];
      if (fetchOptions.account) args.push('--account', fetchOptions.account);
      if (fetchOptions.from) args.push('--from', fetchOptions.from);
      args.push(...secrets);
      const result = runCli(ctx, options.command, args);
      if (result.notFound) {
        throw new UserError(
          `The ${options.name} secrets adapter runs ${options.command}, which was not found; install it or fix its path.`,
        );
      }
      if (result.status !== 0) {
        throw new UserError(
          `The ${options.name} secrets adapter (${options.command}) exited with status ${result.status}; run it by hand to see why.`,
        );
      }
      const json = parseJson(result.stdout, `The ${options.name} secrets adapter (${options.command})`);
      if (!isRecord(json))
        throw new UserError(
          `The ${options.name} secrets adapter (${options.command}) must print one JSON object of names to values.`,
        );
      const results: SecretValues = new Map();
      for (const [key, value] of Object.entries(json)) {
        if (value === null || value === undefined) {
          throw new UserError(
            `The ${options.name} secrets adapter (${options.command}) returned no value for ${key}; print a string for every name.`,
          );
        }
        const text = stringifyValue(value);
        keepSecret(results, ctx, key, text);
      }
      return results;
    },
  };
}
