import { execFile } from '../util/exec.js';
import type { Stamp } from '../commands/tags.js';

async function gitConfig(key: string, cwd: string): Promise<string | undefined> {
  try {
    const result = await execFile('git', ['config', key], { cwd, timeoutMs: 5000 });
    const value = result.stdout.trim();
    return result.code === 0 && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Who runs wharf, as Kamal names them: the performer (git user.email, else whoami) and the lock holder (git user.name, else Unknown). */
export async function identify(cwd: string): Promise<Stamp & { lockedBy: string }> {
  // Both are read at once: each is a process start, and a deploy waits for them before the lock.
  const [email, name] = await Promise.all([gitConfig('user.email', cwd), gitConfig('user.name', cwd)]);
  let performer = email;
  if (!performer) {
    const who = await execFile('whoami', []).catch(() => undefined);
    performer = who?.stdout.trim() || 'unknown';
  }
  return { performer, at: new Date(), lockedBy: name ?? 'Unknown' };
}
