/**
 * Kamal's --lock-wait options, shared by every command that takes the deploy
 * lock. A module of its own (no deploy code), so that building a command's
 * options and help loads nothing else.
 */
import type { Command } from 'commander';

export interface LockWaitFlags {
  lockWait?: boolean;
  lockWaitTimeout?: string;
  lockWaitInterval?: string;
}

export function addLockWaitOptions(command: Command): Command {
  return command
    .option('--lock-wait', 'Wait for the deploy lock instead of failing when it is held')
    .option('--lock-wait-timeout <seconds>', 'Longest wait for the deploy lock', '900')
    .option('--lock-wait-interval <seconds>', 'Seconds between checks of the deploy lock', '15');
}

export function lockWaitFrom(flags: LockWaitFlags) {
  return {
    wait: Boolean(flags.lockWait),
    timeoutSeconds: Number(flags.lockWaitTimeout ?? 900),
    intervalSeconds: Number(flags.lockWaitInterval ?? 15),
  };
}
