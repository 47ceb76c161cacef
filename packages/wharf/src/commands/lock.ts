/**
 * The deploy lock (Kamal's Commands::Lock): a directory
 * `.kamal/lock-<service>[-<destination>]` on the primary host, created with a
 * plain `mkdir` (atomic: it fails when the lock is held), holding `details`,
 * the base64 of "Locked by: <name> at <time>\nVersion: <v>\nMessage: <m>".
 * Kamal and wharf read and write the same directory, so either tool sees the
 * other's lock.
 */
import type { Config } from '../config/index.js';
import { combine, iso8601, pipe, write, type Command } from './base.js';

/** Text `mkdir` prints when the lock directory already exists: the lock is held. */
export const LOCK_HELD_MARKER = 'cannot create directory';
/** The message of the lock taken around deploys. */
export const AUTOMATIC_DEPLOY_LOCK_MESSAGE = 'Automatic deploy lock';

/** Ruby's Base64.encode64: 60-character lines, each ending in a newline. */
export function encode64(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 60) out += `${b64.slice(i, i + 60)}\n`;
  return out;
}

export interface LockDetails {
  message: string;
  version: string;
  /** `git config user.name`, or `Unknown` when git is missing. */
  lockedBy: string;
  at: Date;
}

/** The lock's details text (before base64). */
export function lockDetails(details: LockDetails): string {
  return `Locked by: ${details.lockedBy} at ${iso8601(details.at)}\nVersion: ${details.version}\nMessage: ${details.message}`;
}

export class LockCommands {
  constructor(readonly config: Config) {}

  /** `.kamal/lock-<service>[-<destination>]` */
  get lockDirectory(): string {
    return this.config.lockDirectory;
  }

  get lockDetailsFile(): string {
    return `${this.lockDirectory}/details`;
  }

  /** `mkdir <lock dir> && echo "<base64>" > <lock dir>/details` (fails when the lock is held). */
  acquire(details: LockDetails): Command {
    return combine([
      ['mkdir', this.lockDirectory],
      write(['echo', `"${encode64(lockDetails(details))}"`], this.lockDetailsFile),
    ]);
  }

  /** `rm <lock dir>/details && rm -r <lock dir>` */
  release(): Command {
    return combine([
      ['rm', this.lockDetailsFile],
      ['rm', '-r', this.lockDirectory],
    ]);
  }

  /** `stat <lock dir> > /dev/null && cat <lock dir>/details | base64 -d` (fails when there is no lock). */
  status(): Command {
    return combine([
      write(['stat', this.lockDirectory], '/dev/null'),
      pipe(['cat', this.lockDetailsFile], ['base64', '-d']),
    ]);
  }

  /** `mkdir -p .kamal` */
  ensureLocksDirectory(): Command {
    return ['mkdir', '-p', this.config.runDirectory];
  }
}
