/**
 * Before the hosts pull from a local registry (`registry.server:
 * localhost:PORT`, reached through an SSH port forward): it must answer on
 * this machine. Otherwise each host's pull fails with a confusing
 * port-forward or connection error, after wharf has already started work.
 */
import { isLocalRegistry, localRegistryPort } from '../build/spec.js';
import { registryAnswers } from '../build/registry.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';

export async function requireReachableRegistry(ctx: Context): Promise<void> {
  const config = await ctx.config();
  const server = config.registry.server;
  if (!isLocalRegistry(server)) return;
  const port = localRegistryPort(server!);
  if (await registryAnswers(port)) return;
  throw new UserError(
    `The registry ${server} (registry.server in ${config.files[0] ?? 'config/deploy.yml'}) does not answer on 127.0.0.1:${port}, so the servers cannot pull ${config.absoluteImage} and nothing was changed on them; start that registry (or correct registry.server) and run the command again.`,
  );
}
