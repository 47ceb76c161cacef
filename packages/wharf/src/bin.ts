#!/usr/bin/env node
// Node 22.1+ keeps the compiled code of wharf and its dependencies on disk
// (module.enableCompileCache), which roughly halves their loading time on the
// next start; Node 20 has no such cache and skips this. It must run before the
// CLI's modules load, so they are imported below, not statically.
import * as nodeModule from 'node:module';

const enableCompileCache = (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache;
try {
  enableCompileCache?.();
} catch {
  // A cache directory that cannot be written only costs the speed-up.
}

const verbose = process.argv.includes('-v') || process.argv.includes('--verbose');
let finished = false;

async function main(): Promise<void> {
  const [{ CommanderError }, { runCli }] = await Promise.all([
    import('commander'),
    import('./cli/program.js'),
  ]);
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
  .catch(async (error: unknown) => {
    const { isUserError } = await import('./util/errors.js');
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
