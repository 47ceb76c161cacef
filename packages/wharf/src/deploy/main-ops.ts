/**
 * Kamal's top-level commands that combine others: audit, details, remove and
 * setup.
 */
import { Auditor } from '../commands/auditor.js';
import type { HostOutput } from '../cli/command-support.js';
import type { Context } from '../runtime/context.js';
import { accessoryRemove, ALL_ACCESSORIES } from './accessory-ops.js';
import { appRemove } from './app-ops.js';
import { proxyRemove } from './proxy-ops.js';
import { registryRemove } from './registry-ops.js';
import type { Remote } from './remote.js';

/** `audit`: the last 50 lines of the audit log on every selected host. */
export async function audit(ctx: Context, remote: Remote): Promise<HostOutput[]> {
  const config = await ctx.config();
  const reveal = new Auditor(config, await ctx.stamp()).reveal();
  const hosts = (await ctx.selection()).hosts;
  return remote.onHosts(hosts, async (host) => {
    const result = await remote.run(host, reveal, 'read the audit log', { allowFailure: true });
    return {
      host,
      output:
        result.code === 0
          ? result.stdout
          : `No audit log yet (${new Auditor(config, await ctx.stamp()).auditLogFile} is missing)`,
    };
  });
}

/** `remove`: app remove, proxy remove (kept where other apps remain), accessory remove all, registry logout on the hosts. */
export async function removeEverything(ctx: Context, remote: Remote): Promise<void> {
  await appRemove(ctx, remote);
  await proxyRemove(ctx, remote, false);
  await accessoryRemove(ctx, remote, ALL_ACCESSORIES);
  await registryRemove(ctx, remote, { skipLocal: true });
}
