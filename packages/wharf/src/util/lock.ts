import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from './errors.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A lock between wharf processes on this machine: a directory created
 * atomically, holding the owner's pid. A lock whose owner died is taken over.
 */
export async function withLocalLock<T>(
  dir: string,
  what: string,
  fn: () => Promise<T>,
  timeoutMs = 600_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(dir, { recursive: false });
      await writeFile(join(dir, 'pid'), String(process.pid));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const pid = Number(await readFile(join(dir, 'pid'), 'utf8').catch(() => '0'));
      if (pid > 0 && !alive(pid)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new UserError(
          `Another wharf process (pid ${pid}) holds the lock on ${what} (${dir}); wait for it to finish.`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
