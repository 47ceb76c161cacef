/**
 * Config `aliases` (Kamal's Cli::Alias): an unknown top-level command that
 * names an alias is replaced by the alias's words (shell-split) and the
 * command line is run again with the rest of its arguments.
 */
import { shellSplit } from '../secrets/shellwords.js';
import { UserError } from '../util/errors.js';

/**
 * The arguments with the alias word (its first occurrence as an operand)
 * replaced by the alias definition's words.
 */
export function expandAlias(args: readonly string[], name: string, definition: string): string[] {
  let words: string[];
  try {
    words = shellSplit(definition);
  } catch (error) {
    throw new UserError(
      `The alias ${name} in the config can't be split into words (${(error as Error).message}); fix its quotes.`,
    );
  }
  if (words.length === 0)
    throw new UserError(
      `The alias ${name} in the config is empty; give it a command, e.g. \`${name}: app exec -i bash\`.`,
    );
  const index = args.indexOf(name);
  if (index < 0) return [...words, ...args];
  return [...args.slice(0, index), ...words, ...args.slice(index + 1)];
}

/** How deep aliases may refer to aliases before wharf stops (a loop). */
export const MAX_ALIAS_DEPTH = 5;

/** The global flags as command-line words again (for running an alias's command with them). */
export function globalFlagArgs(flags: {
  verbose?: boolean;
  quiet?: boolean;
  configFile?: string;
  destination?: string;
  hosts?: string;
  roles?: string;
  primary?: boolean;
  skipHooks?: boolean;
  version?: string;
  strict?: boolean;
}): string[] {
  const args: string[] = [];
  if (flags.verbose) args.push('--verbose');
  if (flags.quiet) args.push('--quiet');
  if (flags.version !== undefined) args.push('--version', flags.version);
  if (flags.primary) args.push('--primary');
  if (flags.hosts !== undefined) args.push('--hosts', flags.hosts);
  if (flags.roles !== undefined) args.push('--roles', flags.roles);
  if (flags.configFile !== undefined) args.push('--config-file', flags.configFile);
  if (flags.destination !== undefined) args.push('--destination', flags.destination);
  if (flags.skipHooks) args.push('--skip-hooks');
  if (flags.strict) args.push('--strict');
  return args;
}
