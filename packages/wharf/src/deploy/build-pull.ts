/**
 * The build phase of deploy: build and push the image (or only pull with -P),
 * then pull it on every app host in parallel, forwarding a local registry's
 * port over SSH for the pull when the hosts cannot reach it themselves.
 * Kamal's pull steps (read the registry mirror, login, remove the old image,
 * pull, check the service label) go to each host in one round trip
 * (SshPool#execBatch), not five.
 */
import {
  firstMirrorStep,
  lastLine,
  planPull,
  registryForwardPort,
  stepText,
  type PullSpec,
  type RemoteStep,
} from '../build/pull.js';
import type { Context } from '../runtime/context.js';
import { shellRaw } from '../ssh/quote.js';
import type { BatchResult, RemoteForwardHandle } from '../ssh/index.js';
import { UserError } from '../util/errors.js';
import { runConfiguredHook } from './hook-env.js';
import type { Remote } from './remote.js';

export async function buildPush(ctx: Context, options: { noCache?: boolean } = {}): Promise<void> {
  // Loaded here: `deploy --skip-push` (and every pull-only path) never needs the builder's modules.
  const [{ buildAndPush, buildInputsFromConfig, detectCapabilities }, { requireEngine }] = await Promise.all([
    import('../build/index.js'),
    import('../docker/engine.js'),
  ]);
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
    await ctx.reporter.step(
      undefined,
      `pull ${config.absoluteImage} on ${hosts.length} host${hosts.length === 1 ? '' : 's'}`,
      () =>
        pullBatched(
          remote,
          hosts,
          { service: config.service, image: config.absoluteImage, registry },
          (line) => ctx.reporter.info(line),
        ),
    );
  } finally {
    await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
  }
}

/**
 * The pull steps as one batch: a step that may fail (removing the old image)
 * gets `|| true` so that the batch goes on; the first other failure stops it.
 */
export function pullBatch(steps: readonly RemoteStep[]): RemoteStep['command'][] {
  return steps.map((s) => (s.mayFail ? [...s.command, shellRaw('|| true')] : s.command));
}

/**
 * The old image's removal runs beside the registry login (neither needs the
 * other; the pull after them waits for both): one docker run less on the
 * critical path of every host's pull. The merged step keeps the login's name
 * and exit status (the removal may fail, as in Kamal).
 */
export function overlapCleanWithLogin(steps: readonly RemoteStep[]): RemoteStep[] {
  const login = steps.findIndex((s) => s.step.startsWith('log in to '));
  const clean = steps.findIndex((s) => s.step === 'remove the old image');
  if (login < 0 || clean !== login + 1) return [...steps];
  const merged: RemoteStep = {
    ...steps[login]!,
    command: [
      shellRaw('('),
      ...steps[clean]!.command,
      shellRaw(') >/dev/null 2>&1 &'),
      ...steps[login]!.command,
      shellRaw('; wharf_login=$?; wait; exit $wharf_login'),
    ],
  };
  return [...steps.slice(0, login), merged, ...steps.slice(clean + 1)];
}

/** The first failed step of a batch run as one sentence naming the host, or undefined when all passed. */
export function pullFailure(
  host: string,
  steps: readonly RemoteStep[],
  results: readonly BatchResult[],
): string | undefined {
  for (const [i, result] of results.entries()) {
    if (result.code === 0) continue;
    const step = steps[i] ?? steps[steps.length - 1]!;
    const said = lastLine(result.stderr) || lastLine(result.stdout) || `exit code ${result.code}`;
    return `Could not ${step.step} on ${host}: ${said}.`;
  }
  if (results.length < steps.length)
    return `Could not ${steps[results.length]!.step} on ${host}: the command did not run.`;
  return undefined;
}

/** Exit status of the mirror gate when the host has a registry mirror. */
export const MIRROR_FOUND = 3;

/**
 * The first command of a multi-host pull batch: reads the host's first
 * registry mirror (Kamal's `docker info` step) and, when there is one, prints
 * it and stops the batch with MIRROR_FOUND, so that the host pulls later in
 * Kamal's seeding order; without a mirror the batch goes on to pull at once.
 */
export function mirrorGate(): RemoteStep['command'] {
  return [
    shellRaw(
      `wharf_mirror=$(${stepText(firstMirrorStep())} 2>/dev/null); [ -z "$wharf_mirror" ] || { echo "$wharf_mirror"; exit ${MIRROR_FOUND}; }`,
    ),
  ];
}

function throwFailures(failures: unknown[]): void {
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) {
    const messages = failures.map((f) => (f instanceof Error ? f.message.replace(/\.$/, '') : String(f)));
    throw new UserError(`Pulling the image failed on ${failures.length} hosts: ${messages.join('; ')}.`);
  }
}

/**
 * Kamal's `build pull` on every host in parallel, in one round trip per host.
 * With several hosts each batch first reads the host's registry mirror: a
 * host without one pulls in the same round trip; hosts with one pull
 * afterwards in Kamal's order, one host per mirror first to seed it, then the
 * rest. Waits for every host of a group, then reports all failures at once.
 */
async function pullBatched(
  remote: Remote,
  hosts: readonly string[],
  spec: PullSpec,
  log: (line: string) => void,
): Promise<void> {
  const steps = overlapCleanWithLogin(planPull(spec));
  const env = Object.assign({}, ...steps.map((s) => s.env ?? {})) as Record<string, string>;
  const batch = pullBatch(steps);
  const mirrors = new Map<string, string[]>();
  const pullGroup = async (group: readonly string[], gated: boolean) => {
    const results = await Promise.allSettled(
      group.map(async (host) => {
        let ran = await remote.pool.execBatch(host, gated ? [mirrorGate(), ...batch] : batch, {
          step: 'pull the image',
          ...(Object.keys(env).length > 0 ? { env } : {}),
        });
        if (gated) {
          if (ran[0]?.code === MIRROR_FOUND) {
            const mirror = ran[0].stdout.trim();
            mirrors.set(mirror, [...(mirrors.get(mirror) ?? []), host]);
            return;
          }
          ran = ran.slice(1);
        }
        const failure = pullFailure(host, steps, ran);
        if (failure) throw new UserError(failure);
      }),
    );
    throwFailures(results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : [])));
  };
  await pullGroup(hosts, hosts.length > 1);
  if (mirrors.size === 0) return;
  const seeds = [...mirrors.values()].map((group) => group[0]!);
  log(`  Pulling image on ${seeds.join(', ')} to seed the ${seeds.length > 1 ? 'mirrors' : 'mirror'}...`);
  await pullGroup(seeds, false);
  const rest = [...mirrors.values()].flatMap((group) => group.slice(1));
  if (rest.length > 0) await pullGroup(rest, false);
}
