// Runs `wharf secrets …` the way bin.ts does (same global options, same error
// printing) until program.ts wires secretsCommand in; the CLI tests spawn it.
import { Command, CommanderError } from 'commander';
import { secretsCommand } from '../../../src/cli/secrets-command.js';
import type { GlobalFlags } from '../../../src/cli/program.js';
import { isUserError } from '../../../src/util/errors.js';

const program = new Command('wharf')
  .helpOption('--help', 'Show help')
  .option('-v, --verbose', 'Detailed logging')
  .option('-q, --quiet', 'Minimal logging')
  .option('-c, --config-file <file>', 'Path to the config file', 'config/deploy.yml')
  .option('-d, --destination <destination>', 'Destination')
  .exitOverride();
program.addCommand(secretsCommand(() => program.opts<GlobalFlags>()));

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) process.exitCode = error.exitCode;
  else if (isUserError(error)) {
    process.stderr.write(`wharf: ${error.message}\n`);
    process.exitCode = error.exitCode;
  } else {
    process.stderr.write(
      `wharf: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 70;
  }
}
