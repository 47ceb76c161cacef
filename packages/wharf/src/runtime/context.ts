/**
 * Everything one CLI invocation needs, created lazily and once: the loaded
 * config, its secrets, the redactor, the SSH pool (one connection per host),
 * the host/role selection and the reporter. Commands take a Context and never
 * build these themselves.
 */
import { resolve } from 'node:path';
import { selectTargets, type Config, type Targets } from '../config/index.js';
import { loadConfigFromFlags } from '../cli/config-command.js';
import type { GlobalFlags } from '../cli/program.js';
import { createSecrets, type Secrets } from '../secrets/index.js';
import { SshPool, type SshSettings } from '../ssh/index.js';
import { Reporter, reporterMode } from './reporter.js';
import { identify } from './identity.js';
import type { Stamp } from '../commands/tags.js';

export interface ContextOptions {
  flags: GlobalFlags & { json?: boolean };
  env?: NodeJS.ProcessEnv;
  reporter?: Reporter;
}

export class Context {
  readonly flags: GlobalFlags & { json?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly reporter: Reporter;
  private configValue?: Promise<Config>;
  private secretsValue?: Secrets;
  private poolValue?: SshPool;
  private selectionValue?: Targets;
  private stampValue?: Promise<Stamp & { lockedBy: string }>;
  /** Kamal's command and subcommand names (for hooks and audit lines), set by the CLI. */
  command?: string;
  subcommand?: string;
  /** True while this process holds the deploy lock (or KAMAL_LOCK=true says a parent does). */
  holdingLock: boolean;

  constructor(options: ContextOptions) {
    this.flags = options.flags;
    this.env = options.env ?? process.env;
    this.reporter = options.reporter ?? new Reporter(reporterMode(options.flags));
    this.holdingLock = this.env.KAMAL_LOCK === 'true' || this.env.WHARF_LOCK === 'true';
  }

  /** Who runs this command and when (once per invocation). */
  async stamp(): Promise<Stamp & { lockedBy: string }> {
    this.stampValue ??= this.config().then((c) => identify(c.cwd));
    return this.stampValue;
  }

  config(): Promise<Config> {
    this.configValue ??= loadConfigFromFlags(this.flags);
    return this.configValue;
  }

  /** The secrets of the config's secrets files (read on first use, once). */
  async secrets(): Promise<Secrets> {
    if (!this.secretsValue) {
      const config = await this.config();
      this.secretsValue = createSecrets({
        projectDir: config.cwd,
        secretsPath: config.secretsPath,
        destination: config.destination,
        env: this.env,
        log: this.reporter.verbose ? (line) => this.reporter.info(line) : undefined,
      });
    }
    return this.secretsValue;
  }

  /** Masks every secret value known so far (never loads the secrets itself). */
  redact(text: string): string {
    return this.secretsValue ? this.secretsValue.redact(text) : text;
  }

  /** A lookup for config values that name secrets (env.secret, registry password, key_data). */
  async secretLookup(): Promise<(name: string) => string> {
    const secrets = await this.secrets();
    return (name) => secrets.get(name);
  }

  /** The hosts and roles this command acts on (-h/--hosts, -r/--roles, -p/--primary), Kamal's rules. */
  async selection(): Promise<Targets> {
    if (!this.selectionValue) {
      const config = await this.config();
      this.selectionValue = selectTargets(config, {
        hosts: this.flags.hosts,
        roles: this.flags.roles,
        primary: this.flags.primary,
      });
    }
    return this.selectionValue;
  }

  /** The SSH pool, configured from the config's ssh/sshkit sections. */
  async pool(): Promise<SshPool> {
    if (!this.poolValue) {
      const config = await this.config();
      const settings = await this.sshSettings(config);
      this.poolValue = new SshPool({
        settings,
        env: this.env,
        redact: (text) => this.redact(text),
        log: (event) => {
          if (event.type === 'exec') this.reporter.command(event.host, event.command, event.id);
          else if (event.type === 'exit')
            this.reporter.emit('command_end', {
              host: event.host,
              id: event.id,
              code: event.code,
              ms: event.ms,
            });
        },
      });
    }
    return this.poolValue;
  }

  private async sshSettings(config: Config): Promise<SshSettings> {
    const ssh = config.ssh;
    const port = typeof ssh.port === 'number' ? ssh.port : Number.parseInt(ssh.port, 10);
    let keyData: string[] | undefined;
    if (ssh.keyData) {
      const lookup = await this.secretLookup();
      keyData = ssh.keyData.map((name) => (name.includes('PRIVATE KEY') ? name : lookup(name)));
    }
    return {
      user: ssh.user,
      port: Number.isNaN(port) ? 22 : port,
      proxy: ssh.proxy,
      proxyCommand: ssh.proxyCommand,
      logLevel: ssh.logLevel,
      keysOnly: ssh.keysOnly,
      keys: ssh.keys?.map((k) => (k.startsWith('~') ? k : resolve(config.cwd, k))),
      keyData,
      config: ssh.config,
      maxConcurrentStarts: config.sshkit.maxConcurrentStarts,
      poolIdleTimeoutSeconds: config.sshkit.poolIdleTimeout,
      dnsRetries: config.sshkit.dnsRetries,
    };
  }

  async close(): Promise<void> {
    await this.poolValue?.close();
  }
}
