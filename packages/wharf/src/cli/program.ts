/**
 * The `wharf` command line. Start-up stays cheap: the top level knows every
 * command only by name, help line and a loader; a command's module (and with
 * it the config loader, zod, ssh2, the deploy code …) is imported only when
 * that command runs or its help is asked for. `wharf --help` therefore loads
 * commander and this file, nothing else.
 */
import { Command, Help } from 'commander';
import { WHARF_VERSION } from '../version.js';
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
  /** Refuse configs that publish ports on every interface (also `x-wharf: {strict: true}`). */
  strict?: boolean;
}

type Globals = () => GlobalFlags;

/** One top-level command, known without importing its module. */
export interface LazyCommand {
  name: string;
  /** The command's line in `wharf --help`: name, ` [options]` when it has options, then its arguments. */
  term: string;
  description: string;
  /** Imports the command's module and builds the real commander Command. */
  load: (globals: Globals) => Promise<Command>;
}

/** Picks one command out of a module that builds several. */
function pick(commands: Command[], name: string): Command {
  const found = commands.find((c) => c.name() === name);
  if (!found) throw new Error(`internal: the command module has no ${name} command`);
  return found;
}

/**
 * Every top-level command, in the order `wharf --help` lists them.
 *
 * To add a command: write its module (e.g. cli/accessory-command.ts exporting
 * `accessoryCommand(globals): Command`) and add one entry here:
 *
 *   { name: 'accessory', term: 'accessory', description: 'Manage accessories (db/redis/search)',
 *     load: async (g) => (await import('./accessory-command.js')).accessoryCommand(g) },
 *
 * `term` and `description` must equal what commander prints for the loaded
 * command (term: name, plus ' [options]' if the command itself has options,
 * plus its arguments, e.g. 'rollback [options] [version]');
 * test/unit/cli/program.test.ts checks every entry against its module.
 * Import the module only inside `load` (a static import would load it, and
 * everything it imports, on every wharf start).
 */
export const COMMANDS: readonly LazyCommand[] = [
  {
    name: 'deploy',
    term: 'deploy [options]',
    description: 'Build and push the image, then roll it out to every server with zero downtime',
    load: async (g) => pick((await import('./deploy-command.js')).deployCommands(g), 'deploy'),
  },
  {
    name: 'redeploy',
    term: 'redeploy [options]',
    description: 'Deploy without booting the proxy or pruning (faster, for quick iterations)',
    load: async (g) => pick((await import('./deploy-command.js')).deployCommands(g), 'redeploy'),
  },
  {
    name: 'rollback',
    term: 'rollback [options] [version]',
    description: 'Roll back to VERSION (default: the previous version still on the servers)',
    load: async (g) => pick((await import('./deploy-command.js')).deployCommands(g), 'rollback'),
  },
  {
    name: 'config',
    term: 'config [options]',
    description: 'Show the resolved configuration (as `kamal config` prints it; secrets redacted)',
    load: async (g) => (await import('./config-command.js')).configCommand(g),
  },
  {
    name: 'docs',
    term: 'docs [section]',
    description: 'Show the configuration reference, for all of deploy.yml or one section',
    load: async () => (await import('./config-command.js')).docsCommand(),
  },
  {
    name: 'secrets',
    term: 'secrets',
    description: 'Fetch secrets from password managers and show the secrets of the secrets files',
    load: async (g) =>
      (await import('./secrets-command.js')).secretsCommand(g, {
        // `secrets print` reads the files named by the config's secrets_path (default .kamal/secrets).
        secretsPath: async (flags) => {
          try {
            const { loadConfigFromFlags } = await import('./config-command.js');
            return (await loadConfigFromFlags({ ...flags, quiet: true })).secretsPath;
          } catch {
            return undefined;
          }
        },
      }),
  },
  {
    name: 'fleet',
    term: 'fleet',
    description:
      'Throwaway local servers (containers running sshd and their own Docker engine) plus a registry, to deploy to',
    load: async (g) => (await import('./fleet-command.js')).fleetCommand(g),
  },
  {
    name: 'audit',
    term: 'audit',
    description: 'Show audit log from servers',
    load: async (g) => pick((await import('./main-command.js')).mainCommands(g), 'audit'),
  },
  {
    name: 'details',
    term: 'details',
    description: 'Show details about all containers',
    load: async (g) => pick((await import('./main-command.js')).mainCommands(g), 'details'),
  },
  {
    name: 'remove',
    term: 'remove [options]',
    description: 'Remove proxy, app, accessories, and registry session from servers',
    load: async (g) => pick((await import('./main-command.js')).mainCommands(g), 'remove'),
  },
  {
    name: 'setup',
    term: 'setup [options]',
    description: 'Set up the servers (Docker) and deploy the app',
    load: async (g) => pick((await import('./main-command.js')).mainCommands(g), 'setup'),
  },
  {
    name: 'upgrade',
    term: 'upgrade [options]',
    description: 'Upgrade from Kamal 1.x to 2.0',
    load: async (g) => pick((await import('./main-command.js')).mainCommands(g), 'upgrade'),
  },
  {
    name: 'accessory',
    term: 'accessory',
    description: 'Manage accessories (db/redis/search)',
    load: async (g) => (await import('./accessory-command.js')).accessoryCommand(g),
  },
  {
    name: 'db',
    term: 'db',
    description: 'Run the HA Postgres tier: streaming standby, write VIP, switchover and failover',
    load: async (g) => (await import('./db-command.js')).dbCommand(g),
  },
  {
    name: 'app',
    term: 'app',
    description: 'Manage the app containers',
    load: async (g) => (await import('./app-command.js')).appCommand(g),
  },
  {
    name: 'proxy',
    term: 'proxy',
    description: 'Manage wharf-proxy (kamal-proxy)',
    load: async (g) => (await import('./proxy-command.js')).proxyCommand(g),
  },
  {
    name: 'build',
    term: 'build',
    description: 'Build application image',
    load: async (g) => (await import('./build-command.js')).buildCommand(g),
  },
  {
    name: 'registry',
    term: 'registry',
    description: 'Set up the registry, log in and out',
    load: async (g) => (await import('./registry-command.js')).registryCommand(g),
  },
  {
    name: 'lock',
    term: 'lock',
    description: 'Manage the deploy lock',
    load: async (g) => (await import('./lock-command.js')).lockCommand(g),
  },
  {
    name: 'prune',
    term: 'prune',
    description: 'Prune old application images and containers',
    load: async (g) => (await import('./prune-command.js')).pruneCommand(g),
  },
  {
    name: 'server',
    term: 'server',
    description: 'Bootstrap servers with Docker, run commands on them',
    load: async (g) => (await import('./server-command.js')).serverCommand(g),
  },
];

/** The flags of a command's options that take a value (`--hosts`, `-h`, …). */
export function valueFlags(command: Command): Set<string> {
  const flags = new Set<string>();
  for (const option of command.options) {
    if (!option.required && !option.optional) continue;
    if (option.long) flags.add(option.long);
    if (option.short) flags.add(option.short);
  }
  return flags;
}

/**
 * The top-level command word of a command line (`help X` gives X), skipping
 * the global options and their values; undefined when there is none. Only a
 * guess to load that command up front: a wrong guess costs a second parse.
 */
export function commandWord(args: readonly string[], withValue: ReadonlySet<string>): string | undefined {
  let helpSeen = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (arg.startsWith('--')) {
      if (!arg.includes('=') && withValue.has(arg)) i++;
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // Short flags may be combined (-vq) and take their value attached (-cfile) or next.
      for (let j = 1; j < arg.length; j++) {
        if (withValue.has(`-${arg[j]!}`)) {
          if (j === arg.length - 1) i++;
          break;
        }
      }
      continue;
    }
    if (arg === 'help' && !helpSeen) {
      helpSeen = true;
      continue;
    }
    return arg;
  }
  return undefined;
}

/**
 * A stand-in for a command that was not loaded: it shows the right line in
 * `wharf --help` and, if commander dispatches to it anyway (the command word
 * was not guessed), runs the whole command line again with it loaded.
 */
function stubCommand(entry: LazyCommand): Command {
  const stub: Command = new Command(entry.name)
    .description(entry.description)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .action(async () => {
      // commander keeps the words it was given to parse in rawArgs (untyped).
      const parent = stub.parent as (Command & { rawArgs?: string[] }) | null;
      await runCli(parent?.rawArgs ?? [], { load: entry.name });
    });
  return stub;
}

export interface BuildOptions {
  /** Load this command (besides the one the arguments name). */
  load?: string;
}

/**
 * The program for one command line: the command it names is loaded (its
 * module imported), every other one is a stand-in that costs nothing.
 */
export async function buildProgram(
  args: readonly string[] = [],
  options: BuildOptions = {},
): Promise<Command> {
  const terms = new Map<Command, string>();
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
    .option('--strict', 'Refuse a config that publishes accessory or proxy ports on every interface')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false)
    .configureHelp({
      // A stand-in has no options or arguments of its own: print the loaded command's line.
      subcommandTerm(this: Help, cmd: Command) {
        return terms.get(cmd) ?? Help.prototype.subcommandTerm.call(this, cmd);
      },
    });

  const globals = () => program.opts<GlobalFlags>();
  const wanted = new Set([commandWord(args, valueFlags(program)), options.load]);

  const loaded = await Promise.all(
    COMMANDS.map((entry) => (wanted.has(entry.name) ? entry.load(globals) : undefined)),
  );
  COMMANDS.forEach((entry, i) => {
    const command = loaded[i] ?? stubCommand(entry);
    if (!loaded[i]) terms.set(command, entry.term);
    program.addCommand(command);
  });

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
      const { expandAlias, globalFlagArgs, MAX_ALIAS_DEPTH } = await import('./alias.js');
      let definition: string | undefined;
      let problem: string | undefined;
      try {
        const { loadConfigFromFlags } = await import('./config-command.js');
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
      const again = [...globalFlagArgs(globals()), ...expandAlias(words, name, definition)];
      aliasDepth++;
      try {
        await runCli(again);
      } finally {
        aliasDepth--;
      }
    });
  program
    .command('init')
    .description('Create config/deploy.yml, .kamal/secrets and sample hooks (never overwrites a file)')
    .helpOption('--help', 'Show help for this command')
    .action(async () => {
      const { initProject } = await import('../init/init.js');
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

/**
 * Parses and runs one command line (the arguments after `wharf`). Commander's
 * own exits (help, usage errors) come back as a CommanderError.
 */
export async function runCli(args: readonly string[], options: BuildOptions = {}): Promise<void> {
  const program = await buildProgram(args, options);
  program.exitOverride();
  await program.parseAsync([...args], { from: 'user' });
}
