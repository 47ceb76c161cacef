/**
 * The HA Postgres tier declared in `x-wharf-db:`, a root extension key that
 * Kamal ignores (its Configuration validator skips root keys starting with
 * `x-`), so the same deploy.yml still loads in Kamal. The block names
 * accessories already declared under `accessories:`; this module checks the
 * block with zod and resolves it against the config into nodes with hosts.
 */
import * as z from 'zod';
import type { Accessory, Config } from '../config/index.js';
import { UserError } from '../util/errors.js';
import { formatBytes, parseSize } from './dump-restore/size.js';

export const DB_CONFIG_KEY = 'x-wharf-db';

const name = () => z.string({ error: 'should be an accessory name' }).min(1, 'should not be empty');
const port = () =>
  z
    .int({ error: 'should be a port number' })
    .min(1, 'should be a port from 1 to 65535')
    .max(65535, 'should be a port from 1 to 65535');
const positive = (what: string) =>
  z.number({ error: `should be ${what}` }).positive(`should be ${what} greater than 0`);

export const dbConfigSchema = z.strictObject(
  {
    primary: name(),
    standbys: z
      .array(name(), { error: 'should be a list of accessory names' })
      .min(1, 'should name at least one standby accessory'),
    admin_user: z.string({ error: 'should be a string' }).min(1).optional(),
    database: z.string({ error: 'should be a string' }).min(1).optional(),
    port: port().optional(),
    data_dir: z
      .string({ error: 'should be a path' })
      .startsWith('/', 'should be an absolute path')
      .optional(),
    agent_port: port().optional(),
    replication: z.strictObject(
      {
        user: z
          .string({ error: 'should be a string' })
          .regex(/^[a-z_][a-z0-9_]*$/, 'should be a lowercase SQL identifier')
          .optional(),
        password: z.string({ error: 'should be the name of a secret' }).min(1),
      },
      { error: 'should be a hash with password (a secret name) and optionally user' },
    ),
    pgbouncer: z
      .strictObject(
        {
          accessories: z.array(name(), { error: 'should be a list of accessory names' }),
          port: port().optional(),
        },
        { error: 'should be a hash with accessories and port' },
      )
      .optional(),
    haproxy: z.strictObject(
      {
        accessory: name(),
        port: port().optional(),
        config_dir: z
          .string({ error: 'should be a path' })
          .startsWith('/', 'should be an absolute path')
          .optional(),
      },
      { error: 'should be a hash with accessory, port and config_dir' },
    ),
    switchover: z
      .strictObject(
        {
          max_lag_bytes: z.int({ error: 'should be a whole number of bytes' }).min(0).optional(),
          timeout: positive('a number of seconds').optional(),
        },
        { error: 'should be a hash with max_lag_bytes and timeout' },
      )
      .optional(),
    backup: z
      .strictObject(
        {
          from: name().optional(),
          path: z
            .string({ error: 'should be a path' })
            .startsWith('/', 'should be an absolute path')
            .optional(),
          s3: z
            .strictObject(
              {
                endpoint: z
                  .string({ error: 'should be a URL' })
                  .regex(
                    /^https?:\/\/[^/\s]+\/?$/,
                    'should be a URL like https://ACCOUNT.r2.cloudflarestorage.com (no path)',
                  ),
                bucket: z
                  .string({ error: 'should be a bucket name' })
                  .regex(
                    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
                    'should be a bucket name (3-63 lowercase letters, digits, dots, hyphens)',
                  ),
                prefix: z
                  .string({ error: 'should be a key prefix' })
                  .regex(/^[A-Za-z0-9._/-]*$/, 'should use only letters, digits and . _ / -')
                  .optional(),
                region: z
                  .string({ error: 'should be a region name' })
                  .regex(/^[a-z0-9-]+$/, 'should be a region name like auto or us-east-1')
                  .optional(),
                access_key_id: z.string({ error: 'should be the name of a secret' }).min(1),
                secret_access_key: z.string({ error: 'should be the name of a secret' }).min(1),
                part_size: z
                  .union([z.number().int().positive(), z.string()], {
                    error: 'should be a size such as 1GB or 512MB',
                  })
                  .optional(),
              },
              {
                error:
                  'should be a hash with endpoint, bucket, prefix, region, access_key_id, secret_access_key and part_size',
              },
            )
            .optional(),
        },
        { error: 'should be a hash with from and either path or s3' },
      )
      .optional(),
  },
  { error: 'should be a hash' },
);

export type RawDbConfig = z.infer<typeof dbConfigSchema>;

/** One Postgres accessory of the tier, on exactly one host. */
export interface DbNode {
  /** The accessory name (key under `accessories:`). */
  name: string;
  /** Its container name. */
  service: string;
  host: string;
  accessory: Accessory;
  /** The pgbouncer accessory on the same host, when the tier has pgbouncer. */
  bouncer?: { name: string; service: string; host: string; accessory: Accessory };
}

export interface DbTier {
  nodes: DbNode[];
  /** The node that `db setup` makes the primary (at run time the primary is whichever is not in recovery). */
  configuredPrimary: DbNode;
  adminUser: string;
  database: string;
  /** The host port of each node's Postgres (replication connects there). */
  port: number;
  dataDir: string;
  agentPort: number;
  replicationUser: string;
  /** Secret name holding the replication password. */
  replicationPasswordSecret: string;
  bouncerPort: number | undefined;
  haproxy: {
    name: string;
    service: string;
    hosts: string[];
    port: number;
    configDir: string;
    accessory: Accessory;
  };
  maxLagBytes: number;
  timeoutSeconds: number;
  /** The backup repository and the node that archives WAL into it (`backup:`). */
  backup?: BackupConfig;
}

/** Where base backups and archived WAL go. */
export type BackupRepository =
  | {
      kind: 'path';
      /** The directory inside the backup node's container. */
      containerPath: string;
      /** The same directory on the backup node's server (relative paths are under the SSH user's home). */
      hostPath: string;
    }
  | {
      kind: 's3';
      endpoint: string;
      bucket: string;
      /** Key prefix without a trailing slash ('' for none). */
      prefix: string;
      region: string;
      /** Secret names (resolved from .kamal/secrets). */
      accessKeyIdSecret: string;
      secretAccessKeySecret: string;
      /** Files larger than this are stored as KEY.part-NNNNN objects of this size (S3's single PUT stops at 5 GiB). */
      partBytes: number;
    };

export interface BackupConfig {
  /** The node whose Postgres archives WAL (archive_mode=always) and whose server runs the base backups. */
  node: DbNode;
  repository: BackupRepository;
}

export const DB_DEFAULTS = {
  port: 5432,
  dataDir: '/var/lib/postgresql/data',
  agentPort: 8008,
  replicationUser: 'replicator',
  bouncerPort: 6432,
  haproxyPort: 6433,
  haproxyConfigDir: '/usr/local/etc/haproxy',
  maxLagBytes: 16 * 1024 * 1024,
  timeoutSeconds: 30,
} as const;

function keyPath(path: readonly PropertyKey[]): string {
  return [DB_CONFIG_KEY, ...path.map(String)].join('.');
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = raw;
  for (const key of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[key];
  }
  return v;
}

/** The block as written, checked; one sentence naming the key when it is wrong. */
export function parseDbConfig(raw: unknown, file = 'config/deploy.yml'): RawDbConfig {
  if (raw === undefined || raw === null) {
    throw new UserError(
      `${file} has no ${DB_CONFIG_KEY} block; add one naming the primary and standby accessories (see docs/db.md).`,
    );
  }
  const result = dbConfigSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    if (issue.code === 'unrecognized_keys') {
      throw new UserError(
        `${keyPath(issue.path)} in ${file} has unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}; remove ${issue.keys.length > 1 ? 'them' : 'it'} (see docs/db.md for the keys).`,
      );
    }
    const missing = issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined;
    throw new UserError(
      missing
        ? `${keyPath(issue.path)} is missing in ${file}; add it (see docs/db.md).`
        : `${keyPath(issue.path)} in ${file} ${issue.message}; fix it (see docs/db.md).`,
    );
  }
  return result.data;
}

function accessoryOn(config: Config, file: string, key: string, accessoryName: string): Accessory {
  const found = config.accessory(accessoryName);
  if (!found) {
    const names = config.accessories.map((a) => a.name);
    throw new UserError(
      `${key} names the accessory ${accessoryName}, which ${file} does not define${names.length > 0 ? ` (accessories: ${names.join(', ')})` : ''}; declare it under accessories or fix the name.`,
    );
  }
  return found;
}

function singleHost(accessory: Accessory, key: string, file: string): string {
  const hosts = accessory.hosts;
  if (hosts.length !== 1) {
    throw new UserError(
      `${key}: the accessory ${accessory.name} runs on ${hosts.length === 0 ? 'no host' : `${hosts.length} hosts (${hosts.join(', ')})`} but a database node needs exactly one; set accessories.${accessory.name}.host in ${file}.`,
    );
  }
  return hosts[0]!;
}

/** The tier from the loaded config: every name resolved to an accessory, every node on its one host. */
export function resolveDbTier(config: Config): DbTier {
  const file = config.files[0] ?? 'config/deploy.yml';
  const raw = parseDbConfig((config.raw as Record<string, unknown>)[DB_CONFIG_KEY], file);
  const nodeNames = [raw.primary, ...raw.standbys];
  const duplicate = nodeNames.find((n, i) => nodeNames.indexOf(n) !== i);
  if (duplicate !== undefined) {
    throw new UserError(
      `${DB_CONFIG_KEY} names the accessory ${duplicate} twice among primary and standbys in ${file}; each node must be listed once.`,
    );
  }
  const bouncers = (raw.pgbouncer?.accessories ?? []).map((b, i) => {
    const key = `${DB_CONFIG_KEY}.pgbouncer.accessories[${i}]`;
    const accessory = accessoryOn(config, file, key, b);
    return { name: b, service: accessory.serviceName, host: singleHost(accessory, key, file), accessory };
  });
  const nodes: DbNode[] = nodeNames.map((n, i) => {
    const key = i === 0 ? `${DB_CONFIG_KEY}.primary` : `${DB_CONFIG_KEY}.standbys[${i - 1}]`;
    const accessory = accessoryOn(config, file, key, n);
    const host = singleHost(accessory, key, file);
    const onHost = bouncers.filter((b) => b.host === host);
    if (raw.pgbouncer && onHost.length !== 1) {
      throw new UserError(
        `${DB_CONFIG_KEY}.pgbouncer.accessories has ${onHost.length === 0 ? 'no' : onHost.length} pgbouncer on ${host}, where the node ${n} runs; list exactly one pgbouncer accessory per database host in ${file}.`,
      );
    }
    return { name: n, service: accessory.serviceName, host, accessory, bouncer: onHost[0] };
  });
  const hostTwice = nodes.find((node, i) => nodes.findIndex((o) => o.host === node.host) !== i);
  if (hostTwice) {
    throw new UserError(
      `${DB_CONFIG_KEY}: two database nodes run on ${hostTwice.host}; put the primary and each standby on a different host in ${file}.`,
    );
  }
  const haproxyKey = `${DB_CONFIG_KEY}.haproxy.accessory`;
  const haproxyAccessory = accessoryOn(config, file, haproxyKey, raw.haproxy.accessory);
  if (haproxyAccessory.hosts.length === 0) {
    throw new UserError(
      `${haproxyKey}: the accessory ${haproxyAccessory.name} has no host; set accessories.${haproxyAccessory.name}.host or hosts in ${file}.`,
    );
  }
  const primaryEnv = nodes[0]!.accessory.env.clear;
  return {
    nodes,
    configuredPrimary: nodes[0]!,
    adminUser: raw.admin_user ?? primaryEnv.POSTGRES_USER ?? 'postgres',
    database: raw.database ?? 'postgres',
    port: raw.port ?? DB_DEFAULTS.port,
    dataDir: raw.data_dir ?? DB_DEFAULTS.dataDir,
    agentPort: raw.agent_port ?? DB_DEFAULTS.agentPort,
    replicationUser: raw.replication.user ?? DB_DEFAULTS.replicationUser,
    replicationPasswordSecret: raw.replication.password,
    bouncerPort: raw.pgbouncer ? (raw.pgbouncer.port ?? DB_DEFAULTS.bouncerPort) : undefined,
    haproxy: {
      name: haproxyAccessory.name,
      service: haproxyAccessory.serviceName,
      hosts: haproxyAccessory.hosts,
      port: raw.haproxy.port ?? DB_DEFAULTS.haproxyPort,
      configDir: raw.haproxy.config_dir ?? DB_DEFAULTS.haproxyConfigDir,
      accessory: haproxyAccessory,
    },
    maxLagBytes: raw.switchover?.max_lag_bytes ?? DB_DEFAULTS.maxLagBytes,
    timeoutSeconds: raw.switchover?.timeout ?? DB_DEFAULTS.timeoutSeconds,
    backup: raw.backup
      ? resolveBackup(raw.backup, nodes, file, raw.data_dir ?? DB_DEFAULTS.dataDir)
      : undefined,
  };
}

const DEFAULT_PART_BYTES = 1024 ** 3;
const MIN_PART_BYTES = 1024 ** 2;
const MAX_PART_BYTES = 5 * 1024 ** 3;

function resolveBackup(
  raw: NonNullable<RawDbConfig['backup']>,
  nodes: DbNode[],
  file: string,
  dataDir: string,
): BackupConfig {
  const key = `${DB_CONFIG_KEY}.backup`;
  const node = raw.from === undefined ? nodes[1]! : nodes.find((n) => n.name === raw.from);
  if (!node) {
    throw new UserError(
      `${key}.from names ${raw.from}, which is not a database node of ${DB_CONFIG_KEY} in ${file}; use one of ${nodes.map((n) => n.name).join(', ')}.`,
    );
  }
  if ((raw.path === undefined) === (raw.s3 === undefined)) {
    throw new UserError(
      `${key} in ${file} ${raw.path === undefined ? 'names no repository' : 'names two repositories'}; set exactly one of path (a directory on ${node.name}'s server) or s3 (see docs/db.md).`,
    );
  }
  if (raw.path !== undefined) {
    const wanted = raw.path.replace(/\/+$/, '') || '/';
    const dir = node.accessory.directories.find(
      (d) => d.containerPath.replace(/\/+$/, '') === wanted || d.hostPath.replace(/\/+$/, '') === wanted,
    );
    if (!dir) {
      throw new UserError(
        `${key}.path ${raw.path} is not a directory that accessories.${node.name} mounts from its server; add \`directories: [backups:${wanted}]\` to accessories.${node.name} in ${file} (or point path at one it mounts).`,
      );
    }
    const inside = dir.containerPath.replace(/\/+$/, '');
    if (inside === dataDir || inside.startsWith(`${dataDir}/`) || dataDir.startsWith(`${inside}/`)) {
      throw new UserError(
        `${key}.path ${raw.path} is the data directory of ${node.name}; a rejoin would erase it, so mount a separate directory for backups in ${file}.`,
      );
    }
    return {
      node,
      repository: {
        kind: 'path',
        containerPath: dir.containerPath.replace(/\/+$/, ''),
        hostPath: dir.hostPath.replace(/\/+$/, ''),
      },
    };
  }
  const s3 = raw.s3!;
  const partBytes =
    s3.part_size === undefined
      ? DEFAULT_PART_BYTES
      : typeof s3.part_size === 'number'
        ? s3.part_size
        : parseSize(s3.part_size, `${key}.s3.part_size in ${file}:`);
  if (partBytes < MIN_PART_BYTES || partBytes > MAX_PART_BYTES) {
    throw new UserError(
      `${key}.s3.part_size in ${file} is ${formatBytes(partBytes)}; use a size from 1 MB to 5 GB (S3 stores at most 5 GiB in one PUT).`,
    );
  }
  return {
    node,
    repository: {
      kind: 's3',
      endpoint: s3.endpoint.replace(/\/+$/, ''),
      bucket: s3.bucket,
      prefix: (s3.prefix ?? '').replace(/^\/+|\/+$/g, ''),
      region: s3.region ?? 'us-east-1',
      accessKeyIdSecret: s3.access_key_id,
      secretAccessKeySecret: s3.secret_access_key,
      partBytes,
    },
  };
}

/** The node by accessory name, or a sentence listing the nodes. */
export function nodeNamed(tier: DbTier, nodeName: string, option: string): DbNode {
  const node = tier.nodes.find((n) => n.name === nodeName || n.service === nodeName || n.host === nodeName);
  if (!node) {
    throw new UserError(
      `${option} ${nodeName} is not a database node of ${DB_CONFIG_KEY}; use one of ${tier.nodes.map((n) => n.name).join(', ')}.`,
    );
  }
  return node;
}
