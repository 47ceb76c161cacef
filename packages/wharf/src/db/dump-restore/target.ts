/**
 * The accessory a dump is restored into: resolved from the config, refused
 * when it is one of the HA tier's own accessories (a node's data is never
 * overwritten by a restore), and checked on its host (running, Postgres
 * answering, no restore already running there).
 */
import type { Config } from '../../config/index.js';
import type { Remote } from '../../deploy/remote.js';
import { UserError } from '../../util/errors.js';
import { DB_CONFIG_KEY, type DbTier } from '../config.js';
import { stateOf } from '../node-io.js';
import {
  execScript,
  prepareScript,
  PREPARE_BUSY,
  PREPARE_NO_PG_RESTORE,
  PREPARE_NOT_READY,
  type TargetDb,
} from './scripts.js';

export interface RestoreTarget extends TargetDb {
  name: string;
  host: string;
}

export function resolveTarget(config: Config, tier: DbTier | undefined, into: string): RestoreTarget {
  const file = config.files[0] ?? 'config/deploy.yml';
  const accessory = config.accessory(into);
  if (!accessory) {
    const names = config.accessories.map((a) => a.name);
    throw new UserError(
      `--into ${into}: ${file} has no accessory named ${into}${names.length > 0 ? ` (accessories: ${names.join(', ')})` : ''}; name the Postgres accessory to restore into.`,
    );
  }
  if (tier) {
    const node = tier.nodes.find((n) => n.name === into);
    if (node) {
      throw new UserError(
        `--into ${into}: ${into} is the ${node === tier.configuredPrimary ? 'primary' : 'standby'} node of ${DB_CONFIG_KEY} in ${file}, and a restore never overwrites a tier node; restore into a separate Postgres accessory (such as a staging database).`,
      );
    }
    const helper =
      tier.haproxy.name === into || tier.nodes.some((n) => n.bouncer?.name === into) ? true : false;
    if (helper) {
      throw new UserError(
        `--into ${into}: ${into} is the tier's ${tier.haproxy.name === into ? 'HAProxy' : 'pgbouncer'} accessory in ${file}, not a Postgres database; name a Postgres accessory.`,
      );
    }
  }
  const hosts = accessory.hosts;
  if (hosts.length !== 1) {
    throw new UserError(
      `--into ${into}: the accessory runs on ${hosts.length === 0 ? 'no host' : `${hosts.length} hosts (${hosts.join(', ')})`}; a restore target needs exactly one host (set accessories.${into}.host in ${file}).`,
    );
  }
  const env = accessory.env.clear;
  return {
    name: into,
    service: accessory.serviceName,
    host: hosts[0]!,
    user: env.POSTGRES_USER ?? tier?.adminUser ?? 'postgres',
    database: env.POSTGRES_DB ?? tier?.database ?? 'postgres',
  };
}

/** Checks the target on its host and empties its restore directory; one sentence when it cannot take a restore. */
export async function prepareTarget(remote: Remote, target: RestoreTarget): Promise<void> {
  const state = await stateOf(remote, target.host, target.service);
  if (state !== 'running') {
    throw new UserError(
      `The accessory ${target.name} (${target.service}) is ${state === 'missing' ? 'not booted' : `${state}, not running`} on ${target.host}; start it with \`wharf accessory ${state === 'missing' ? 'boot' : 'start'} ${target.name}\` and restore again.`,
    );
  }
  const r = await remote.run(
    target.host,
    execScript(target.service, prepareScript()),
    `prepare ${target.service} for the restore`,
    { allowFailure: true, timeoutMs: 60_000 },
  );
  if (r.code === 0) return;
  if (r.code === PREPARE_BUSY) {
    throw new UserError(
      `A restore is already running in ${target.name} on ${target.host} (${r.stdout.trim()} in its container); follow it with \`wharf db restore --into ${target.name} --status\` and start a new one when it has ended.`,
    );
  }
  if (r.code === PREPARE_NO_PG_RESTORE || r.code === PREPARE_NOT_READY) {
    throw new UserError(
      `The accessory ${target.name} on ${target.host} is not a Postgres server that accepts connections on its local socket${r.code === PREPARE_NO_PG_RESTORE ? ' (it has no pg_restore)' : ''}; name a running Postgres accessory (look at \`wharf accessory logs ${target.name}\`).`,
    );
  }
  throw new UserError(
    `Preparing ${target.name} on ${target.host} for the restore failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().split('\n').pop() ?? ''}.`,
  );
}
