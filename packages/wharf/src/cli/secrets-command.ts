import { Command, Option } from 'commander';
import { fetchSecrets, formatSecretsJson, extractSecret, formatSecretsPrint } from '../secrets/commands.js';
import { Redactor } from '../secrets/redactor.js';
import { DEFAULT_SECRETS_PATH, createSecrets } from '../secrets/secrets.js';
import { shellEscape } from '../secrets/shellwords.js';
import { makeOutput } from './output.js';
import type { GlobalFlags } from './program.js';

export interface SecretsCommandOptions {
  /**
   * Where `secrets print` finds the secrets files: Kamal's `secrets_path`
   * from the loaded config. Until the config loader provides it, `--secrets-path`
   * or `.kamal/secrets` is used.
   */
  secretsPath?: (globals: GlobalFlags) => string | undefined | Promise<string | undefined>;
  /** Project directory (default: the current directory). */
  projectDir?: string;
}

/**
 * `wharf secrets fetch|extract|print`, Kamal's `kamal secrets` commands.
 * fetch prints the JSON Kamal prints, extract reads it, print shows KEY=value
 * lines; these three print secret values on stdout because that is what they
 * are asked for. With --verbose, the password-manager calls are logged to
 * stderr with every secret value and session token redacted.
 */
export function secretsCommand(globals: () => GlobalFlags, options: SecretsCommandOptions = {}): Command {
  const secrets = new Command('secrets')
    .description('Fetch secrets from password managers and show the secrets of the secrets files')
    .helpOption('--help', 'Show help for this command');

  secrets
    .command('fetch')
    .description('Fetch secrets from a vault and print them as one JSON object')
    .helpOption('--help', 'Show help for this command')
    .argument('[secrets...]', 'secret names (the adapter decides their form)')
    .requiredOption(
      '-a, --adapter <adapter>',
      'which vault adapter to use (1password, bitwarden, bitwarden-sm, lastpass, aws_secrets_manager, doppler, gcp, passbolt, enpass, or NAME for a wharf-secrets-NAME program)',
    )
    .option('--account <account>', 'the account identifier or username')
    .option('--from <from>', 'a vault or folder to fetch the secrets from (prefixes each name as FROM/NAME)')
    .addOption(new Option('--inline', 'print shell-escaped JSON (used inside secrets files)').hideHelp())
    .action(
      (names: string[], opts: { adapter: string; account?: string; from?: string; inline?: boolean }) => {
        const flags = globals();
        const out = makeOutput(flags);
        const redactor = new Redactor();
        const values = fetchSecrets(
          { adapter: opts.adapter, account: opts.account, from: opts.from, secrets: names },
          { redactor, log: flags.verbose ? (line) => out.progress(redactor.redact(line)) : undefined },
        );
        const json = formatSecretsJson(values);
        out.result(opts.inline ? shellEscape(json) : json);
      },
    );

  secrets
    .command('extract')
    .description('Extract a single secret from the JSON printed by fetch')
    .helpOption('--help', 'Show help for this command')
    .argument('<name>', 'the secret name (or the last part of a FROM/NAME key)')
    .argument('<secrets>', 'the JSON printed by `secrets fetch`')
    .addOption(new Option('--inline', 'print the value without a newline').hideHelp())
    .action((name: string, json: string, opts: { inline?: boolean }) => {
      const value = extractSecret(name, json);
      if (opts.inline) process.stdout.write(value);
      else makeOutput(globals()).result(value);
    });

  secrets
    .command('print')
    .description('Print the secrets of the secrets files as KEY=value lines (for debugging)')
    .helpOption('--help', 'Show help for this command')
    .option(
      '--secrets-path <path>',
      `secrets file base path (Kamal's secrets_path; default from config, else ${DEFAULT_SECRETS_PATH})`,
    )
    .action(async (opts: { secretsPath?: string }) => {
      const flags = globals();
      const out = makeOutput(flags);
      const loaded = createSecrets({
        projectDir: options.projectDir,
        secretsPath: opts.secretsPath ?? (await options.secretsPath?.(flags)) ?? DEFAULT_SECRETS_PATH,
        destination: flags.destination,
        log: flags.verbose ? (line) => out.progress(line) : undefined,
      });
      const text = formatSecretsPrint(loaded.entries());
      if (text !== '') process.stdout.write(text);
      for (const name of loaded.failedNames()) {
        process.stderr.write(
          `wharf: warning: the command that sets ${name} failed, so its value above is what it printed before failing; deploys refuse to use it.\n`,
        );
      }
    });

  return secrets;
}
