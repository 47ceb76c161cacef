/**
 * The build phase of deploy: build and push the image (or only pull with -P),
 * then pull it on every app host in parallel, forwarding a local registry's
 * port over SSH for the pull when the hosts cannot reach it themselves.
 */
import {
  buildAndPush,
  buildInputsFromConfig,
  detectCapabilities,
  pullOnHosts,
  registryForwardPort,
  type RemoteExec,
} from '../build/index.js';
import { requireEngine } from '../docker/engine.js';
import type { Context } from '../runtime/context.js';
import type { RemoteForwardHandle } from '../ssh/index.js';
import { runConfiguredHook } from './hook-env.js';
import type { Remote } from './remote.js';

export async function buildPush(ctx: Context, options: { noCache?: boolean } = {}): Promise<void> {
  const config = await ctx.config();
  const engine = await requireEngine();
  const lookup = await ctx.secretLookup();
  const capabilities = await detectCapabilities(engine.client);
  const inputs = buildInputsFromConfig(config, lookup, capabilities);
  await buildAndPush({
    spec: inputs.spec,
    client: engine.client,
    cwd: config.cwd,
    registry: inputs.registry,
    secrets: inputs.secrets,
    options: { noCache: options.noCache },
    onLine: ctx.reporter.verbose ? (line) => ctx.reporter.info(`    ${ctx.redact(line)}`) : undefined,
    log: (line) => (ctx.reporter.verbose ? ctx.reporter.info(`  ${line}`) : undefined),
    warn: (line) => ctx.reporter.warn(line),
    preBuild: async () => {
      await runConfiguredHook(ctx, 'pre-build');
    },
  });
}

/**
 * Opens a reverse forward of a local registry's port on each host that does not
 * already have something listening there (wharf's fleet forwards it itself).
 */
async function forwardRegistry(
  ctx: Context,
  remote: Remote,
  hosts: readonly string[],
  port: number,
): Promise<RemoteForwardHandle[]> {
  const handles: RemoteForwardHandle[] = [];
  await remote.onHosts(hosts, async (host) => {
    const probe = await remote.run(
      host,
      `curl -sf -o /dev/null http://localhost:${port}/v2/ && echo reachable || true`,
      'probe the registry',
    );
    if (probe.stdout.includes('reachable')) return;
    handles.push(
      await remote.pool.forwardRemote(host, { remotePort: port, step: 'forward the local registry' }),
    );
  });
  return handles;
}

export async function pullImage(ctx: Context, remote: Remote, hosts: readonly string[]): Promise<void> {
  const config = await ctx.config();
  const lookup = await ctx.secretLookup();
  const local = /^localhost(:|$)/.test(config.registry.server ?? '');
  const registry = {
    server: config.registry.server,
    username: local ? undefined : config.registry.username(lookup),
    password: local ? undefined : config.registry.password(lookup),
  };
  const port = registryForwardPort(registry);
  const handles = port ? await forwardRegistry(ctx, remote, hosts, port) : [];
  try {
    const exec: RemoteExec = async (host, command, options) => {
      const result = await remote.pool.exec(host, command, { step: options.step, env: options.env });
      return result;
    };
    await ctx.reporter.step(
      undefined,
      `pull ${config.absoluteImage} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
      () => pullOnHosts(hosts, { service: config.service, image: config.absoluteImage, registry }, exec),
    );
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }
}
