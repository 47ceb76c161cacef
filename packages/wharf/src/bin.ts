#!/usr/bin/env node
import { CommanderError } from 'commander';
import { runCli } from './cli/program.js';
import { isUserError } from './util/errors.js';

const verbose = process.argv.includes('-v') || process.argv.includes('--verbose');
let finished = false;

async function main(): Promise<void> {
  try {
    await runCli(process.argv.slice(2));
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode;
      return;
    }
    throw error;
  }
}

main()
  .catch((error: unknown) => {
    if (isUserError(error)) {
      process.stderr.write(`wharf: ${error.message}\n`);
      if (verbose && error.stack) process.stderr.write(`${error.stack}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`wharf: unexpected error: ${message} (run with --verbose for details).\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    process.exitCode = 70;
  })
  .finally(() => {
    finished = true;
  });

// A command whose promise never settles would otherwise end the process silently with status 0.
process.on('beforeExit', () => {
  if (!finished) {
    process.stderr.write(
      'wharf: internal error: the command stopped before finishing (rerun with --verbose and report it).\n',
    );
    process.exit(70);
  }
});
