/**
 * The build phase of `wharf deploy` in two calls, from a loaded config:
 * `pushPhase` (Kamal's `build push`: detect buildx, log in or use the local
 * registry, clean clone, build, push) and `pullPhase` (`build pull`: on every
 * app host in parallel, login, pull, label check; the local registry's port
 * forwarded over SSH while pulling). `deliverPhase` is both.
 * Dependencies come in as plain values and functions, so this module does not
 * reach into the CLI's runtime context.
 */
import type { DockerClient } from '../docker/client.js';
import { requireEngine } from '../docker/engine.js';
import { detectCapabilities } from './capabilities.js';
import { buildInputsFromConfig, type BuildConfigLike } from './from-config.js';
import type { BuildOptions } from './plan.js';
import { pullOnHosts, registryForwardPort, type RemoteExec } from './pull.js';
import { buildAndPush, type PushResult } from './push.js';
import { isLocalRegistry } from './spec.js';

export interface PushPhaseDeps {
  /** The loaded Config (src/config), or anything with the same shape. */
  config: BuildConfigLike & { cwd: string };
  /** Secret lookup (Context#secretLookup): registry credentials and builder.secrets. */
  lookup: (name: string) => string;
  /** The local engine; default: requireEngine(). */
  client?: DockerClient;
  options?: BuildOptions;
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /** Build output lines (secrets redacted). */
  onLine?: (line: string) => void;
  /** Kamal's pre-build hook. */
  preBuild?: () => Promise<void>;
  tmpdir?: string;
}

export async function pushPhase(deps: PushPhaseDeps): Promise<PushResult> {
  const client = deps.client ?? (await requireEngine()).client;
  const capabilities = await detectCapabilities(client);
  const inputs = buildInputsFromConfig(deps.config, deps.lookup, capabilities);
  return buildAndPush({
    spec: inputs.spec,
    client,
    cwd: deps.config.cwd,
    registry: inputs.registry,
    secrets: inputs.secrets,
    ...(deps.options ? { options: deps.options } : {}),
    ...(deps.log ? { log: deps.log } : {}),
    ...(deps.warn ? { warn: deps.warn } : {}),
    ...(deps.onLine ? { onLine: deps.onLine } : {}),
    ...(deps.preBuild ? { preBuild: deps.preBuild } : {}),
    ...(deps.tmpdir ? { tmpdir: deps.tmpdir } : {}),
  });
}

export interface PullPhaseDeps {
  config: BuildConfigLike;
  lookup: (name: string) => string;
  /** The app hosts (Selection#appHosts). */
  hosts: readonly string[];
  /** SshPool#exec, bound. */
  exec: RemoteExec;
  /**
   * SshPool#withRemoteForward, bound: used for a localhost registry so the
   * servers reach this machine's registry port while pulling (as Kamal does).
   * Leave it out when the servers reach the registry by themselves (the local
   * fleet forwards the port already).
   */
  withRemoteForward?: <T>(
    hosts: readonly string[],
    options: { remotePort: number; step?: string },
    fn: () => Promise<T>,
  ) => Promise<T>;
  log?: (line: string) => void;
}

export async function pullPhase(deps: PullPhaseDeps): Promise<void> {
  const server = deps.config.registry.server;
  const local = isLocalRegistry(server);
  const username = local ? undefined : deps.config.registry.username(deps.lookup);
  const password = local ? undefined : deps.config.registry.password(deps.lookup);
  const registry = {
    ...(server !== undefined ? { server } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
  };
  const spec = {
    service: deps.config.service,
    image: `${deps.config.repository}:${deps.config.version}`,
    registry,
  };
  const pull = () => pullOnHosts(deps.hosts, spec, deps.exec, deps.log ? { log: deps.log } : {});
  const port = registryForwardPort(registry);
  if (port !== undefined && deps.withRemoteForward) {
    deps.log?.(`Setting up local registry port forwarding to ${deps.hosts.join(', ')}...`);
    return deps.withRemoteForward(
      deps.hosts,
      { remotePort: port, step: 'forward the local registry port' },
      pull,
    );
  }
  return pull();
}

/** `build deliver`: push, then pull. */
export async function deliverPhase(
  push: PushPhaseDeps,
  pull: Omit<PullPhaseDeps, 'config' | 'lookup'>,
): Promise<PushResult> {
  const result = await pushPhase(push);
  await pullPhase({ ...pull, config: push.config, lookup: push.lookup });
  return result;
}
