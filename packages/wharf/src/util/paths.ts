import { homedir } from 'node:os';
import { join } from 'node:path';

/** wharf's own state directory on this machine: $WHARF_HOME, else ~/.wharf. */
export function wharfHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.WHARF_HOME && env.WHARF_HOME !== '' ? env.WHARF_HOME : join(homedir(), '.wharf');
}
