import { Command } from 'commander';
import { WHARF_VERSION } from '../version.js';
import { configCommand, docsCommand, loadConfigFromFlags } from './config-command.js';
import { fleetCommand } from './fleet-command.js';
import { deployCommands } from './deploy-command.js';
import { initProject } from '../init/init.js';
import { secretsCommand } from './secrets-command.js';
import { expandAlias, globalFlagArgs, MAX_ALIAS_DEPTH } from './alias.js';
import { appCommand } from './app-command.js';
import { buildCommand } from './build-command.js';
import { lockCommand } from './lock-command.js';
import { mainCommands } from './main-command.js';
import { proxyCommand } from './proxy-command.js';
import { pruneCommand } from './prune-command.js';
import { registryCommand } from './registry-command.js';
import { serverCommand } from './server-command.js';
import { UserError } from '../util/errors.js';

/** How many aliases deep the current run is (an alias may name another alias, not itself). */
let aliasDepth = 0;

/** Kamal's global options; -h is --hosts (as in Kamal), so help is --help only. */
export interface GlobalFlags {
  verbose?: boolean;
  quiet?: boolean;
  configFile?: string;
  destination?: string;
  hosts?: string;
  roles?: string;
  primary?: boolean;
  skipHooks?: boolean;
  version?: string;
}

export function buildProgram(): Command {
  const program = new Command('wharf')
    .description('Deploy web apps to your own servers over SSH with zero downtime (a drop-in for Kamal 2).')
    .helpOption('--help', 'Show help')
    .addHelpCommand('help [command]', 'Show help for a command')
    .option('-v, --verbose', 'Detailed logging, every remote command and stack traces')
    .option('-q, --quiet', 'Minimal logging')
    .option('--version <version>', 'Run commands against a specific app version')
    .option('-p, --primary', 'Run commands only on the primary host instead of all')
    .option(
      '-h, --hosts <hosts>',
      'Run commands on these hosts instead of all (comma-separated, * wildcards)',
    )
    .option(
      '-r, --roles <roles>',
      'Run commands on these roles instead of all (comma-separated, * wildcards)',
    )
    .option('-c, --config-file <file>', 'Path to the config file', 'config/deploy.yml')
    .option(
      '-d, --destination <destination>',
      'Destination: loads config/deploy.DESTINATION.yml over the base',
    )
    .option('-H, --skip-hooks', "Don't run hooks")
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false);

  const globals = () => program.opts<GlobalFlags>();

  for (const command of deployCommands(globals)) program.addCommand(command);
  program.addCommand(configCommand(globals));
  program.addCommand(docsCommand());
  program.addCommand(
    secretsCommand(globals, {
      // `secrets print` reads the files named by the config's secrets_path (default .kamal/secrets).
      secretsPath: async (flags) => {
        try {
          return (await loadConfigFromFlags({ ...flags, quiet: true })).secretsPath;
        } catch {
          return undefined;
        }
      },
    }),
  );
  program.addCommand(fleetCommand(globals));
  for (const command of mainCommands(globals)) program.addCommand(command);
  program.addCommand(appCommand(globals));
  program.addCommand(proxyCommand(globals));
  program.addCommand(buildCommand(globals));
  program.addCommand(registryCommand(globals));
  program.addCommand(lockCommand(globals));
  program.addCommand(pruneCommand(globals));
  program.addCommand(serverCommand(globals));
  // Anything else: an alias from the config's `aliases`, shell-split and run again (Kamal's Cli::Alias).
  program
    .argument('[alias...]', 'an alias from the config (aliases: in config/deploy.yml)')
    .allowUnknownOption()
    .action(async () => {
      const words = program.args;
      const name = words.find((w) => !w.startsWith('-'));
      if (name === undefined) {
        if (words.length > 0)
          throw new UserError(`Unknown option ${words[0]}; run \`wharf --help\` for the options.`);
        program.outputHelp();
        return;
      }
      let definition: string | undefined;
      let problem: string | undefined;
      try {
        definition = (await loadConfigFromFlags({ ...globals(), quiet: true })).aliases[name];
      } catch (error) {
        problem = (error as Error).message;
      }
      if (definition === undefined) {
        throw new UserError(
          `Unknown command '${name}'; run \`wharf --help\` for the commands${problem ? '' : ', or define it under aliases in the config'}.`,
        );
      }
      if (aliasDepth >= MAX_ALIAS_DEPTH)
        throw new UserError(
          `The alias ${name} refers to aliases more than ${MAX_ALIAS_DEPTH} deep; check aliases in the config for a loop.`,
        );
      const args = [...globalFlagArgs(globals()), ...expandAlias(words, name, definition)];
      aliasDepth++;
      try {
        const again = buildProgram();
        again.exitOverride();
        await again.parseAsync(args, { from: 'user' });
      } finally {
        aliasDepth--;
      }
    });
  program
    .command('init')
    .description('Create config/deploy.yml, .kamal/secrets and sample hooks (never overwrites a file)')
    .helpOption('--help', 'Show help for this command')
    .action(async () => {
      const result = await initProject(process.cwd());
      for (const file of result.created) process.stdout.write(`Created ${file}\n`);
      for (const file of result.skipped) process.stdout.write(`Kept ${file} (already exists)\n`);
    });
  program
    .command('version')
    .description("Show wharf's version")
    .helpOption('--help', 'Show help for this command')
    .action(() => {
      process.stdout.write(`${WHARF_VERSION}\n`);
    });
  return program;
}
