/**
 * `wharf config`: the resolved configuration in the shape `kamal config`
 * prints (Configuration#to_h as Ruby YAML with symbol keys, so scripts that
 * parse Kamal's output keep working), with every secret-valued key redacted.
 */
import { stringify } from 'yaml';
import type { Config } from './config.js';

export const REDACTED = '[REDACTED]';

type Hash = Record<string, unknown>;
const isHash = (v: unknown): v is Hash => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A Ruby symbol in the printed YAML (`:fatal`). */
class RubySymbol {
  constructor(readonly name: string) {}
  toJSON(): string {
    return this.name;
  }
}

function redactEnv(env: unknown): unknown {
  if (!isHash(env)) return env;
  const out: Hash = { ...env };
  if (Array.isArray(out.secret)) out.secret = out.secret.map(() => REDACTED);
  if (isHash(out.tags))
    out.tags = Object.fromEntries(Object.entries(out.tags).map(([k, v]) => [k, redactEnv(v)]));
  return out;
}

function redactRegistry(reg: unknown): unknown {
  if (!isHash(reg)) return reg;
  const out: Hash = { ...reg };
  if ('password' in out)
    out.password = Array.isArray(out.password) ? out.password.map(() => REDACTED) : REDACTED;
  if (Array.isArray(out.username)) out.username = out.username.map(() => REDACTED);
  return out;
}

function redactAccessories(accessories: unknown): unknown {
  if (!isHash(accessories)) return accessories;
  return Object.fromEntries(
    Object.entries(accessories).map(([name, a]) => {
      if (!isHash(a)) return [name, a];
      const out: Hash = { ...a };
      if ('env' in out) out.env = redactEnv(out.env);
      if ('registry' in out) out.registry = redactRegistry(out.registry);
      if (isHash(out.proxy) && isHash(out.proxy.ssl))
        out.proxy = {
          ...out.proxy,
          ssl: Object.fromEntries(Object.keys(out.proxy.ssl).map((k) => [k, REDACTED])),
        };
      return [name, out];
    }),
  );
}

/** Kamal's Configuration#to_h, redacted; keys are Kamal's. */
export function kamalHash(config: Config): Record<string, unknown> {
  const ssh = config.ssh;
  const sshOptions: Hash = { user: ssh.user, port: ssh.port };
  if (ssh.proxy !== undefined) sshOptions.proxy = ssh.proxy;
  else if (config.ssh.raw.proxy_command !== undefined)
    sshOptions.proxy = `ProxyCommand ${String(config.ssh.raw.proxy_command)}`;
  sshOptions.keepalive = true;
  sshOptions.keepalive_interval = 30;
  if (ssh.keysOnly !== undefined) sshOptions.keys_only = ssh.keysOnly;
  if (ssh.keys !== undefined) sshOptions.keys = ssh.keys;
  if (ssh.keyData !== undefined) sshOptions.key_data = ssh.keyData.map(() => REDACTED);
  if (ssh.config !== undefined) sshOptions.config = ssh.config;
  if (ssh.forwardAgent !== undefined) sshOptions.forward_agent = ssh.forwardAgent;
  sshOptions.log_level = ssh.raw.log_level === undefined ? new RubySymbol('fatal') : ssh.logLevel;

  const builder: Hash = isHash(config.raw.builder) ? { ...config.raw.builder } : {};
  if (Array.isArray(builder.secrets)) builder.secrets = builder.secrets.map(() => REDACTED);

  const out: Hash = {
    roles: config.roleNames,
    hosts: config.allHosts,
    primary_host: config.primaryHost,
    version: config.version,
    repository: config.repository,
    absolute_image: config.absoluteImage,
    service_with_version: config.serviceWithVersion,
    volume_args: config.volumeArgs(),
    ssh_options: sshOptions,
    sshkit: isHash(config.raw.sshkit) ? config.raw.sshkit : {},
    builder,
    accessories: redactAccessories(config.raw.accessories),
    logging: config.loggingArgs(),
  };
  for (const k of Object.keys(out)) if (out[k] === undefined || out[k] === null) delete out[k];
  return out;
}

/** Converts to plain data with Ruby-style `:symbol` keys at the top and in ssh_options. */
function rubyKeys(value: unknown, symbolKeys: boolean): unknown {
  if (value instanceof RubySymbol) return `:${value.name}`;
  if (Array.isArray(value)) return value.map((v) => rubyKeys(v, false));
  if (isHash(value))
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [
        symbolKeys ? `:${k}` : k,
        rubyKeys(v, symbolKeys && k === 'ssh_options'),
      ]),
    );
  return value;
}

/** The `kamal config` text: a YAML document with Ruby symbol keys. */
export function kamalConfigYaml(config: Config): string {
  const data = rubyKeys(kamalHash(config), true) as Hash;
  // ssh_options keys are symbols in Kamal too.
  const ssh = data[':ssh_options'];
  if (isHash(ssh))
    data[':ssh_options'] = Object.fromEntries(
      Object.entries(ssh).map(([k, v]) => [k.startsWith(':') ? k : `:${k}`, v]),
    );
  return `---\n${stringify(data, { indentSeq: false, lineWidth: 0 })}`;
}
