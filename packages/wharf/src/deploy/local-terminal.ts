/**
 * Runs a local command line (an `ssh -t …` built by runOverSsh) with this
 * terminal attached, as Kamal's `exec` of it does; resolves with its exit code.
 */
import { spawn } from 'node:child_process';
import { commandLine, type Command } from '../commands/base.js';
import { UserError } from '../util/errors.js';

export function runInTerminal(command: Command): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', commandLine(command)], { stdio: 'inherit' });
    child.on('error', (error) =>
      reject(
        new UserError(
          `Could not start the local ssh client (${error.message}); install OpenSSH's ssh and try again.`,
        ),
      ),
    );
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}
