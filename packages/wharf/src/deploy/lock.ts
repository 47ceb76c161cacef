/**
 * The deploy lock on the primary host (Kamal's layout, so Kamal and wharf see
 * each other's locks): acquire, release, status, and --lock-wait.
 */
import { AUTOMATIC_DEPLOY_LOCK_MESSAGE, LOCK_HELD_MARKER, LockCommands } from '../commands/lock.js';
import { combine, commandLine, type Command } from '../commands/base.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import { Remote } from './remote.js';

export interface LockWait {
  wait?: boolean;
  timeoutSeconds?: number;
  intervalSeconds?: number;
}

export async function lockHost(ctx: Context): Promise<string> {
  const config = await ctx.config();
  const host = config.primaryHost ?? config.allHosts[0];
  if (!host)
    throw new UserError(
      `${config.files[0] ?? 'config/deploy.yml'} lists no hosts, so there is nowhere to keep the deploy lock.`,
    );
  return host;
}

/** The lock's details, or undefined when there is no lock. */
export async function lockStatus(ctx: Context, remote: Remote): Promise<string | undefined> {
  const config = await ctx.config();
  const host = await lockHost(ctx);
  const result = await remote.run(host, new LockCommands(config).status(), 'read the deploy lock', {
    allowFailure: true,
  });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Takes the lock; throws one sentence naming the holder when it is held (after waiting with --lock-wait). */
export async function acquireLock(
  ctx: Context,
  remote: Remote,
  message: string,
  wait: LockWait = {},
): Promise<void> {
  const config = await ctx.config();
  const host = await lockHost(ctx);
  const stamp = await ctx.stamp();
  const lock = new LockCommands(config);
  const command = combine([
    lock.ensureLocksDirectory(),
    lock.acquire({ message, version: config.version, lockedBy: stamp.lockedBy, at: new Date() }),
  ]);
  const deadline = Date.now() + (wait.timeoutSeconds ?? 900) * 1000;
  for (;;) {
    const result = await remote.run(host, command, 'acquire the deploy lock', { allowFailure: true });
    if (result.code === 0) {
      ctx.holdingLock = true;
      return;
    }
    if (!result.stderr.includes(LOCK_HELD_MARKER)) {
      throw new UserError(
        `Acquiring the deploy lock on ${host} failed: ${result.stderr.trim().split('\n').pop()}.`,
      );
    }
    const details = (await lockStatus(ctx, remote)) ?? '';
    const manual = !details.includes(`Message: ${AUTOMATIC_DEPLOY_LOCK_MESSAGE}`);
    if (!wait.wait || manual || Date.now() >= deadline) {
      const summary = details.replace(/\s*\n\s*/g, '; ');
      const hint = manual
        ? 'it was taken with `wharf lock acquire`, so deploys do not wait for it (not even with --lock-wait); run `wharf lock release` once that work is done'
        : wait.wait
          ? `it was still held after waiting ${wait.timeoutSeconds ?? 900} s (--lock-wait-timeout); run \`wharf lock release\` if that deploy is gone`
          : 'wait for that deploy, retry with --lock-wait, or run `wharf lock release` if it is stale';
      throw new UserError(`The deploy lock on ${host} is held (${summary || 'no details'}); ${hint}.`);
    }
    ctx.reporter.info(`  Waiting for the deploy lock on ${host} (${details.split('\n')[0] ?? ''})…`);
    await new Promise((r) => setTimeout(r, (wait.intervalSeconds ?? 15) * 1000));
  }
}

export async function releaseLock(ctx: Context, remote: Remote): Promise<void> {
  const config = await ctx.config();
  const host = await lockHost(ctx);
  // Safe whatever a dropped connection left behind, so it reconnects to the lock host if need be.
  await remote.run(host, new LockCommands(config).release(), 'release the deploy lock', { afterDrop: true });
  ctx.holdingLock = false;
}

/** Runs fn holding the lock (unless this process, or a parent via KAMAL_LOCK, already holds it). */
export async function withLock<T>(
  ctx: Context,
  remote: Remote,
  wait: LockWait,
  fn: () => Promise<T>,
): Promise<T> {
  if (ctx.holdingLock) return fn();
  await acquireLock(ctx, remote, AUTOMATIC_DEPLOY_LOCK_MESSAGE, wait);
  try {
    return await fn();
  } finally {
    await releaseLock(ctx, remote).catch((error: Error) =>
      ctx.reporter.warn(`could not release the deploy lock: ${error.message}`),
    );
  }
}

/**
 * The lock this process took, for a caller that releases it in its own last
 * round trip (the deploy, beside tagging latest): `release` is the command,
 * `released()` says it succeeded there (else it is released as usual).
 */
export interface HeldLock {
  host: string;
  release: Command;
  released: () => void;
}

/**
 * `script`, then the lock's release whatever the script's status was: the
 * script's status is the exit status and `wharf_lock_released=<status>` the
 * release's (parse it with lockReleaseStatus).
 */
export function thenReleaseLock(script: string, release: Command): string {
  return `${script} ; wharf_status=$? ; { ${commandLine(release)} ; } ; echo "wharf_lock_released=$?" ; exit $wharf_status`;
}

/** The release's exit status from thenReleaseLock's output (undefined when it never ran). */
export function lockReleaseStatus(stdout: string): number | undefined {
  const match = /^wharf_lock_released=(\d+)$/m.exec(stdout);
  return match ? Number(match[1]) : undefined;
}

/**
 * Like withLock, but the lock is taken while `before` runs (the deploy's pull:
 * Kamal takes the lock right after it), which takes the lock's round trip off
 * the critical path. When `before` fails the lock is released again; when the
 * lock is held by someone else, its error is the one thrown (after `before`).
 */
export async function withLockTakenDuring<T>(
  ctx: Context,
  remote: Remote,
  wait: LockWait,
  before: () => Promise<void>,
  fn: (held: HeldLock | undefined) => Promise<T>,
  /** Called once the lock is held (while `before` may still run). */
  onLocked: () => void = () => {},
): Promise<T> {
  if (ctx.holdingLock) {
    onLocked();
    await before();
    return fn(undefined);
  }
  const locking = acquireLock(ctx, remote, AUTOMATIC_DEPLOY_LOCK_MESSAGE, wait);
  locking.then(onLocked, () => {});
  const release = () =>
    releaseLock(ctx, remote).catch((error: Error) =>
      ctx.reporter.warn(`could not release the deploy lock: ${error.message}`),
    );
  try {
    await before();
  } catch (error) {
    if (
      await locking.then(
        () => true,
        () => false,
      )
    )
      await release();
    throw error;
  }
  await locking;
  const config = await ctx.config();
  let releasedByFn = false;
  const held: HeldLock = {
    host: await lockHost(ctx),
    release: new LockCommands(config).release(),
    released: () => {
      releasedByFn = true;
      ctx.holdingLock = false;
    },
  };
  try {
    return await fn(held);
  } finally {
    if (!releasedByFn) await release();
  }
}
