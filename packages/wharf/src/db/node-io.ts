/**
 * Reading and driving the tier's containers over the SSH pool: node status,
 * HAProxy's view, SQL with secrets in the environment, waiting for a
 * condition, and booting an accessory of the tier.
 */
import { connect } from 'node:net';
import { AccessoryCommands } from '../commands/accessory.js';
import { docker, type Command } from '../commands/base.js';
import { NETWORK_EXISTS_MARKER } from '../commands/docker.js';
import type { Remote } from '../deploy/remote.js';
import type { Context } from '../runtime/context.js';
import { UserError } from '../util/errors.js';
import {
  containerState,
  haproxyShowStat,
  HAPROXY_BACKEND,
  pgbouncerShowPools,
  psqlCommand,
  readyCommand,
  REPLICATION_PASSWORD_ENV,
  STATUS_SQL,
} from './commands.js';
import type { DbNode, DbTier } from './config.js';
import {
  parseNodeStatus,
  parseShowPools,
  parseShowStat,
  unreachable,
  type BouncerPool,
  type HaproxyServer,
  type NodeStatus,
} from './state.js';

export const PROBE_TIMEOUT_MS = 15_000;

export function errorText(error: unknown): string {
  return (error as Error).message.replace(/\.$/, '');
}

export async function replicationEnv(ctx: Context, tier: DbTier): Promise<Record<string, string>> {
  const lookup = await ctx.secretLookup();
  return { [REPLICATION_PASSWORD_ENV]: lookup(tier.replicationPasswordSecret) };
}

/** Runs SQL on a node (stdin), returning stdout trimmed. */
export async function sql(
  remote: Remote,
  tier: DbTier,
  node: DbNode,
  text: string,
  step: string,
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<string> {
  const result = await remote.run(node.host, psqlCommand(tier, node, Object.keys(options.env ?? {})), step, {
    stdin: text,
    env: options.env,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return result.stdout.trim();
}

export async function readNode(remote: Remote, tier: DbTier, node: DbNode): Promise<NodeStatus> {
  try {
    const out = await sql(remote, tier, node, STATUS_SQL, `read the state of ${node.name}`, {
      timeoutMs: PROBE_TIMEOUT_MS,
    });
    return parseNodeStatus(node, out.split('\n').pop() ?? '{}');
  } catch (error) {
    return unreachable(node, errorText(error));
  }
}

export async function readNodes(remote: Remote, tier: DbTier): Promise<NodeStatus[]> {
  return Promise.all(tier.nodes.map((n) => readNode(remote, tier, n)));
}

/**
 * Whether the host's SSH port accepts a TCP connection within `ms` (true when
 * SSH goes through a jump host or proxy command: then only SSH can tell). A
 * server that is gone is found in a few seconds instead of an SSH timeout.
 */
export async function sshPortAnswers(ctx: Context, host: string, ms = 3_000): Promise<boolean> {
  const config = await ctx.config();
  if (config.ssh.proxy !== undefined || config.ssh.proxyCommand !== undefined) return true;
  const port =
    typeof config.ssh.port === 'number' ? config.ssh.port : Number.parseInt(config.ssh.port, 10) || 22;
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** readNodes, skipping SSH to hosts whose SSH port does not answer (failover's first look). */
export async function readNodesQuickly(ctx: Context, remote: Remote, tier: DbTier): Promise<NodeStatus[]> {
  return Promise.all(
    tier.nodes.map(async (n) =>
      (await sshPortAnswers(ctx, n.host))
        ? readNode(remote, tier, n)
        : unreachable(n, `the server ${n.host} does not answer on its SSH port`),
    ),
  );
}

export interface HaproxyView {
  host: string;
  servers?: HaproxyServer[];
  error?: string;
}

export async function haproxyViews(remote: Remote, tier: DbTier): Promise<HaproxyView[]> {
  return Promise.all(
    tier.haproxy.hosts.map(async (host) => {
      try {
        const out = await remote.run(host, haproxyShowStat(tier.haproxy.service), "read HAProxy's view", {
          timeoutMs: PROBE_TIMEOUT_MS,
        });
        return { host, servers: parseShowStat(out.stdout, HAPROXY_BACKEND) };
      } catch (error) {
        return { host, error: errorText(error) };
      }
    }),
  );
}

export interface BouncerView {
  /** The pgbouncer accessory and its host. */
  name: string;
  host: string;
  pools?: BouncerPool[];
  error?: string;
}

/** Each node's pgbouncer pools (none without pgbouncer), read in parallel; a failure is that view's error. */
export async function bouncerViews(remote: Remote, tier: DbTier): Promise<BouncerView[]> {
  return Promise.all(
    tier.nodes
      .filter((n) => n.bouncer)
      .map(async (node) => {
        const view = { name: node.bouncer!.name, host: node.bouncer!.host };
        try {
          const out = await remote.run(
            node.host,
            pgbouncerShowPools(tier, node),
            `read ${view.name}'s pools`,
            {
              timeoutMs: PROBE_TIMEOUT_MS,
            },
          );
          return { ...view, pools: parseShowPools(out.stdout) };
        } catch (error) {
          return { ...view, error: errorText(error) };
        }
      }),
  );
}

/** True when every reachable HAProxy sends writes to `primary` only. */
export function routesOnlyTo(views: HaproxyView[], primary: string): boolean {
  return views.every(
    (v) =>
      v.servers !== undefined &&
      v.servers.every((s) => (s.name === primary ? s.status.startsWith('UP') : !s.status.startsWith('UP'))),
  );
}

/** Polls `check` every `intervalMs` until it returns a value, or throws `failure()` after `timeoutMs`. */
export async function waitFor<T>(
  check: () => Promise<T | undefined>,
  timeoutMs: number,
  failure: () => Promise<Error> | Error,
  intervalMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw await failure();
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export async function waitReady(
  remote: Remote,
  tier: DbTier,
  node: DbNode,
  timeoutMs = 90_000,
): Promise<void> {
  await waitFor(
    async () => {
      const r = await remote.run(
        node.host,
        readyCommand(tier, node),
        `check that ${node.name} accepts connections`,
        {
          allowFailure: true,
          timeoutMs: PROBE_TIMEOUT_MS,
        },
      );
      return r.code === 0 ? true : undefined;
    },
    timeoutMs,
    () =>
      new UserError(
        `${node.name} on ${node.host} did not accept connections within ${timeoutMs / 1000} s; look at \`wharf accessory logs ${node.name}\`.`,
      ),
    500,
  );
}

/** `running`, `exited`, … or `missing` when there is no such container. */
export async function stateOf(remote: Remote, host: string, service: string): Promise<string> {
  const r = await remote.run(host, containerState(service), `inspect ${service}`, {
    allowFailure: true,
    timeoutMs: PROBE_TIMEOUT_MS,
  });
  return r.code === 0 ? r.stdout.trim() : 'missing';
}

/** The accessory's network (kamal unless set), created when missing as Kamal's boot does. */
export async function ensureNetwork(remote: Remote, host: string, network: string): Promise<void> {
  const create = docker('network', 'create', network);
  const r = await remote.run(host, create, `create the ${network} network`, { allowFailure: true });
  if (r.code !== 0 && !`${r.stderr}${r.stdout}`.includes(NETWORK_EXISTS_MARKER)) {
    await remote.run(host, create, `create the ${network} network`);
  }
}

/**
 * Prepares an accessory on one host as Kamal's boot does (env file 0600,
 * directories, files) without starting it.
 */
export async function prepareAccessory(
  ctx: Context,
  remote: Remote,
  name: string,
  host: string,
): Promise<AccessoryCommands> {
  const config = await ctx.config();
  const acc = new AccessoryCommands(config, name);
  const lookup = await ctx.secretLookup();
  await ensureNetwork(remote, host, acc.accessory.network);
  await remote.run(host, acc.ensureEnvDirectory(), `prepare accessory ${name}`);
  const env = acc.envFile(lookup);
  await remote.upload(host, env.path, env.content, 0o600, `write the env file of accessory ${name}`);
  for (const command of acc.directoryCommands())
    await remote.run(host, command, `create a directory of ${name}`);
  for (const { file, steps } of acc.fileSteps()) {
    for (const step of steps) {
      if ('command' in step) await remote.run(host, step.command, `prepare a file of ${name}`);
      else
        await remote.upload(
          host,
          step.upload.remote,
          acc.accessory.renderFile(file, lookup),
          0o644,
          `upload ${step.upload.remote}`,
        );
    }
  }
  return acc;
}

/** Makes sure the accessory's container runs on the host: started when stopped, booted when missing. */
export async function ensureAccessory(
  ctx: Context,
  remote: Remote,
  name: string,
  host: string,
): Promise<'running' | 'started' | 'booted'> {
  const config = await ctx.config();
  const acc = new AccessoryCommands(config, name);
  const state = await stateOf(remote, host, acc.serviceName);
  if (state === 'running') return 'running';
  if (state !== 'missing') {
    await ensureNetwork(remote, host, acc.accessory.network);
    await remote.run(host, acc.start(), `start ${acc.serviceName}`);
    return 'started';
  }
  await prepareAccessory(ctx, remote, name, host);
  await remote.run(host, acc.run(host), `boot ${acc.serviceName}`);
  return 'booted';
}

export async function runOn(
  remote: Remote,
  host: string,
  command: Command,
  step: string,
  env?: Record<string, string>,
): Promise<string> {
  const r = await remote.run(host, command, step, { env, timeoutMs: 300_000 });
  return r.stdout.trim();
}
