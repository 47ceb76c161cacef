/**
 * The one remote command that writes a file from stdin atomically: the parent
 * directory is created, the content goes to a temporary file next to the
 * target (created under umask 077, so it is never readable by others), gets
 * its mode and owner, and is renamed over the target. No sftp needed.
 */
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import { shellQuote } from './quote.js';

export interface UploadOptions {
  /** File mode; default 0o644. */
  mode?: number;
  /** `user`, `user:group` or numeric ids; default: the SSH user. */
  owner?: string;
  /** Create the parent directory; default true. */
  mkdir?: boolean;
}

export function formatMode(mode: number): string {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new Error(`file mode ${mode} is not valid`);
  return mode.toString(8).padStart(4, '0');
}

export function uploadCommand(
  path: string,
  options: UploadOptions = {},
  suffix: string = randomBytes(6).toString('hex'),
): string {
  if (path === '' || path.endsWith('/')) throw new Error(`upload path "${path}" must name a file`);
  if (
    options.owner !== undefined &&
    !/^[A-Za-z0-9._][A-Za-z0-9._-]*(:[A-Za-z0-9._][A-Za-z0-9._-]*)?$/.test(options.owner)
  ) {
    throw new Error(`owner "${options.owner}" is not a user or user:group`);
  }
  const dir = posix.dirname(path);
  const temp = `${path}.wharf-tmp-${suffix}`;
  const steps: string[] = [];
  if (options.mkdir !== false && dir !== '.' && dir !== '/') steps.push(`mkdir -p ${shellQuote(dir)}`);
  steps.push(
    'umask 077',
    `wharf_tmp=${shellQuote(temp)}`,
    'cat > "$wharf_tmp"',
    `chmod ${formatMode(options.mode ?? 0o644)} "$wharf_tmp"`,
  );
  if (options.owner !== undefined) steps.push(`chown ${shellQuote(options.owner)} "$wharf_tmp"`);
  steps.push(`mv -f "$wharf_tmp" ${shellQuote(path)}`);
  return `${steps.join(' && ')} || { s=$?; rm -f "$wharf_tmp"; exit $s; }`;
}
