/**
 * SshPool: every remote command wharf runs goes through here. One SSH
 * connection per host for the whole wharf command, opened in parallel (at
 * most `max_concurrent_starts` handshakes at once); commands run as channels
 * multiplexed over it. Counts connections and round trips per host, logs
 * every command (redacted) for -v, and turns failures into one sentence
 * naming the host and the step.
 */
import type { Readable, Writable } from 'node:stream';
import { firstLine } from '../util/errors.js';
import { HostKeyStore, type HostKeyStoreOptions } from './host-keys.js';
import { loadAuthPlan, type AuthPlan } from './identities.js';
import { DEFAULT_CHANNELS_PER_CONNECTION, SshConnection, type RemoteForwardHandle } from './connection.js';
import { envPreamble } from './env-stdin.js';
import { batchScript, batchTail, newBatchNonce, splitBatchOutput, type BatchResult } from './batch.js';
import { SshError, classifySshError, sshFailure, type SshErrorContext } from './errors.js';
import { spawnProxyCommand } from './proxy-command.js';
import { commandText, shellQuote, type RemoteCommand } from './quote.js';
import { Semaphore } from './semaphore.js';
import type { SshConfig } from './ssh-config.js';
import {
  describeRoute,
  loadSshConfig,
  resolveTarget,
  type ConnectTarget,
  type SshSettings,
} from './target.js';
import { uploadCommand, formatMode, type UploadOptions } from './upload.js';

export interface ExecOptions {
  /** What wharf is doing, for errors and logs ("pull the app image"). */
  step?: string;
  stdin?: string | Buffer | Readable;
  /** Environment for the command; values travel on stdin, never in the command line or logs. */
  env?: Readonly<Record<string, string>>;
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Keep stdout/stderr in the result; default true (turn off for long streams such as `logs -f`). */
  capture?: boolean;
  /** Stream stdout into this sink with backpressure; ended on exit 0, destroyed otherwise. */
  stdoutTo?: Writable;
}

export interface ExecResult {
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export type SshLogEvent =
  | {
      type: 'connect';
      host: string;
      user: string;
      port: number;
      via?: string;
      ms: number;
      hostKey: 'known' | 'recorded' | 'unchecked';
    }
  | { type: 'exec'; host: string; id: number; step?: string; command: string; env?: string[] }
  | { type: 'exit'; host: string; id: number; code: number; ms: number }
  | {
      type: 'upload';
      host: string;
      id: number;
      step?: string;
      path: string;
      bytes: number;
      mode: string;
      owner?: string;
    }
  | { type: 'forward'; host: string; remote: string; local: string }
  | { type: 'close'; host: string }
  | { type: 'debug'; host: string; message: string };

export interface HostStats {
  /** SSH connections opened to this host (1 for a healthy deploy). */
  connections: number;
  /** Commands run (each exec or upload is one round trip on an open connection). */
  roundTrips: number;
  /** Milliseconds the last connection took to open (TCP, handshake, auth). */
  connectMs: number;
}

export interface SshPoolOptions {
  settings?: SshSettings;
  /** The OpenSSH client config; default: what settings.config selects. */
  sshConfig?: SshConfig;
  hostKeys?: HostKeyStore | HostKeyStoreOptions;
  /** Channels open at once per connection; default 10 (OpenSSH's MaxSessions). */
  channelsPerConnection?: number;
  connectTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  /** Receives every command and connection event; text in it has gone through `redact`. */
  log?: (event: SshLogEvent) => void;
  /** Masks secrets in any text wharf logs or puts in an error. */
  redact?: (text: string) => string;
  env?: NodeJS.ProcessEnv;
}

/**
 * sshd ignores SSH signal requests, so a command that outlives its timeout
 * would keep running after wharf gave up on it. `timeout` on the server ends
 * it (and its children: timeout runs it in its own process group) a second
 * after wharf stops waiting, with SIGKILL 5 s later if it ignores SIGTERM.
 */
export function withRemoteTimeout(script: string, timeoutMs: number | undefined): string {
  if (timeoutMs === undefined) return script;
  const seconds = Math.ceil(timeoutMs / 1000) + 1;
  // The user's login shell again (as without a timeout), so the command means the same thing.
  return `timeout -k 5 ${seconds} "\${SHELL:-/bin/sh}" -c ${shellQuote(script)}`;
}

interface HostSlot {
  target: ConnectTarget;
  connection?: SshConnection;
  opening?: Promise<SshConnection>;
  stats: HostStats;
  idleTimer?: NodeJS.Timeout;
  /** Used as a jump host by other targets (closed last). */
  isJump?: boolean;
  /** The first target reached through this jump host, for messages. */
  jumpFor?: string;
}

/** Thrown by connect() when hosts fail: the first failure's sentence, with all of them in `failures`. */
export class SshConnectError extends SshError {
  readonly failures: SshError[];
  constructor(failures: SshError[]) {
    const first = failures[0]!;
    super(first.message, first.kind, first.host, first);
    this.name = 'SshConnectError';
    this.failures = failures;
  }
}

export class SshPool {
  private readonly settings: SshSettings;
  private sshConfigValue: SshConfig | undefined;
  private readonly hostKeys: HostKeyStore;
  private readonly slots = new Map<string, HostSlot>();
  private readonly starts: Semaphore;
  private readonly options: SshPoolOptions;
  private readonly redact: (text: string) => string;
  private readonly authPlans = new Map<string, Promise<AuthPlan>>();
  private nextId = 1;
  private closed = false;
  /** Aborts handshakes still in progress when close() is called. */
  private readonly aborter = new AbortController();

  constructor(options: SshPoolOptions = {}) {
    this.options = options;
    this.settings = options.settings ?? {};
    this.sshConfigValue = options.sshConfig;
    this.hostKeys =
      options.hostKeys instanceof HostKeyStore ? options.hostKeys : new HostKeyStore(options.hostKeys ?? {});
    this.starts = new Semaphore(this.settings.maxConcurrentStarts ?? 30);
    this.redact = options.redact ?? ((text) => text);
  }

  private get sshConfig(): SshConfig {
    this.sshConfigValue ??= loadSshConfig(this.settings.config);
    return this.sshConfigValue;
  }

  /** Where `host` is reached and as whom (after the ssh config). */
  target(host: string): ConnectTarget {
    return this.slot(host).target;
  }

  private slot(host: string, target?: ConnectTarget): HostSlot {
    let slot = this.slots.get(host);
    if (!slot) {
      slot = {
        target:
          target ??
          resolveTarget(host, this.settings, this.sshConfig, {
            ...(this.options.env ? { env: this.options.env } : {}),
            ...(this.options.connectTimeoutMs !== undefined
              ? { connectTimeoutMs: this.options.connectTimeoutMs }
              : {}),
            ...(this.options.keepaliveIntervalMs !== undefined
              ? { keepaliveIntervalMs: this.options.keepaliveIntervalMs }
              : {}),
          }),
        stats: { connections: 0, roundTrips: 0, connectMs: 0 },
      };
      this.slots.set(host, slot);
    }
    return slot;
  }

  /**
   * Opens connections to every host in parallel (bounded by
   * max_concurrent_starts). Waits for all; throws SshConnectError naming the
   * first host that failed (every failure is in `.failures`).
   */
  async connect(hosts: readonly string[], step = 'connect'): Promise<void> {
    const results = await Promise.allSettled(hosts.map((host) => this.connection(host, step)));
    const failures = results
      .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
      .map((r) =>
        r.reason instanceof SshError ? r.reason : sshFailure(r.reason, { host: 'unknown', step }),
      );
    if (failures.length > 0) throw new SshConnectError(failures);
  }

  /** The open connection to `host`, opening it on first use (or after it dropped). */
  connection(host: string, step = 'connect'): Promise<SshConnection> {
    if (this.closed) return Promise.reject(new Error('the SSH pool is closed'));
    const slot = this.slot(host);
    if (slot.connection?.alive) return Promise.resolve(slot.connection);
    slot.opening ??= this.open(host, slot, step).finally(() => {
      slot.opening = undefined;
    });
    return slot.opening;
  }

  private async open(key: string, slot: HostSlot, step: string): Promise<SshConnection> {
    const target = slot.target;
    const context = {
      ...this.errorContext(target, step),
      connecting: true,
      ...(slot.jumpFor ? { jumpFor: slot.jumpFor } : {}),
    };
    const started = Date.now();
    const connection = await this.dial(target, step).catch((error: unknown) => {
      if (this.closed)
        throw new SshError(
          `The SSH pool was closed while connecting to ${target.name} during ${step}.`,
          'dropped',
          target.name,
          error,
        );
      throw sshFailure(error, context);
    });
    if (this.closed) {
      // close() ran while this connection was being set up: don't leave it open.
      await connection.close();
      throw new SshError(
        `The SSH pool was closed while connecting to ${target.name} during ${step}.`,
        'dropped',
        target.name,
      );
    }
    slot.connection = connection;
    slot.stats.connections++;
    slot.stats.connectMs = Date.now() - started;
    const via = describeRoute(target);
    this.options.log?.({
      type: 'connect',
      host: key,
      user: target.user,
      port: target.port,
      ...(via ? { via: this.redact(via) } : {}),
      ms: slot.stats.connectMs,
      hostKey: connection.hostKeyStatus ?? 'known',
    });
    connection.onClose(() => {
      if (slot.idleTimer) clearTimeout(slot.idleTimer);
      this.options.log?.({ type: 'close', host: key });
    });
    this.armIdleTimer(slot);
    return connection;
  }

  /** Closes a connection unused for pool_idle_timeout; the next command reconnects. */
  private armIdleTimer(slot: HostSlot): void {
    const idleMs = (this.settings.poolIdleTimeoutSeconds ?? 900) * 1000;
    if (slot.idleTimer) clearTimeout(slot.idleTimer);
    slot.idleTimer = setTimeout(() => {
      const connection = slot.connection;
      if (!connection?.alive) return;
      if (connection.channelsInUse === 0 && Date.now() - connection.lastUsed >= idleMs)
        void connection.close();
      else this.armIdleTimer(slot);
    }, idleMs);
    slot.idleTimer.unref();
  }

  /** TCP (with DNS retries), a jump host's forwardOut channel or a proxy command, then SSH over it. */
  private async dial(target: ConnectTarget, step: string): Promise<SshConnection> {
    const auth = await this.authPlan(target);
    if (target.jump) {
      const jumpKey = `${target.jump.user}@${target.jump.name}:${target.jump.port}`;
      const jumpSlot = this.slot(jumpKey, target.jump);
      jumpSlot.isJump = true;
      jumpSlot.jumpFor ??= target.name;
      const jump = await this.connection(jumpKey, step);
      const sock = await jump.forwardOut(target.host, target.port);
      return this.starts.use(() => this.openOver(target, auth, sock));
    }
    if (target.proxyCommand) {
      const proxy = spawnProxyCommand(target.proxyCommand, this.options.env ?? process.env);
      try {
        const connection = await this.starts.use(() => this.openOver(target, auth, proxy.stream));
        connection.onClose(() => proxy.kill());
        return connection;
      } catch (error) {
        proxy.kill();
        const stderr = proxy.stderr();
        if (stderr && classifySshError(error) !== 'host-key' && classifySshError(error) !== 'auth') {
          throw new Error(`proxy command said: ${firstLine(stderr)}`, { cause: error });
        }
        throw error;
      }
    }
    const retries = this.settings.dnsRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.starts.use(() => this.openOver(target, auth, undefined));
      } catch (error) {
        if (classifySshError(error) !== 'dns' || attempt >= retries) throw error;
        const backoff = Math.min(2000, 100 * 2 ** attempt);
        await new Promise((r) => setTimeout(r, backoff + Math.random() * backoff * 0.5));
      }
    }
  }

  private openOver(
    target: ConnectTarget,
    auth: AuthPlan,
    sock: import('node:stream').Duplex | undefined,
  ): Promise<SshConnection> {
    const debug = this.settings.logLevel === 'debug' && this.options.log ? this.options.log : undefined;
    return SshConnection.open(target, {
      signal: this.aborter.signal,
      hostKeys: this.hostKeys,
      auth,
      ...(sock ? { sock } : {}),
      channelsPerConnection: this.options.channelsPerConnection ?? DEFAULT_CHANNELS_PER_CONNECTION,
      ...(debug
        ? {
            debug: (message: string) =>
              debug({ type: 'debug', host: target.name, message: this.redact(message) }),
          }
        : {}),
    });
  }

  private authPlan(target: ConnectTarget): Promise<AuthPlan> {
    const env = this.options.env ?? process.env;
    const key = JSON.stringify([target.identities.map((i) => i.label), target.useAgent]);
    let plan = this.authPlans.get(key);
    if (!plan) {
      plan = loadAuthPlan(target.identities, target.useAgent ? env.SSH_AUTH_SOCK : undefined).then((p) => {
        if (p.identities.length === 0 && !p.agent) {
          const skipped = p.skipped.length > 0 ? ` (${p.skipped.join(', ')})` : '';
          throw new SshError(
            `No usable SSH private key to log in as ${target.user} on ${target.name}${skipped}; set ssh.keys or ssh.key_data, or start ssh-agent with your key loaded.`,
            'auth',
            target.name,
          );
        }
        return p;
      });
      this.authPlans.set(key, plan);
    }
    return plan;
  }

  private errorContext(
    target: ConnectTarget,
    step: string,
    command?: string,
    timeoutMs?: number,
  ): SshErrorContext {
    const via = describeRoute(target);
    return {
      host: target.name,
      port: target.port,
      user: target.user,
      step,
      ...(command !== undefined ? { command } : {}),
      ...(via ? { via: this.redact(via) } : {}),
      timeoutMs: timeoutMs ?? target.connectTimeoutMs,
      keys: target.identities.map((i) => i.label).concat(target.useAgent ? ['ssh-agent'] : []),
    };
  }

  /**
   * Runs one command on `host` (argv arrays are shell-quoted; a string is
   * shell text as is). Resolves with the exit code whatever it is; rejects
   * with an SshError when the connection fails, drops or the command times out.
   */
  async exec(host: string, command: RemoteCommand, options: ExecOptions = {}): Promise<ExecResult> {
    const text = commandText(command);
    const preamble = envPreamble(options.env);
    const id = this.nextId++;
    const shown = this.redact(text);
    const envNames = Object.keys(options.env ?? {});
    this.options.log?.({
      type: 'exec',
      host,
      id,
      ...(options.step ? { step: options.step } : {}),
      command: shown,
      ...(envNames.length > 0 ? { env: envNames } : {}),
    });
    return this.runText(host, withRemoteTimeout(preamble.script + text, options.timeoutMs), shown, id, {
      ...options,
      ...(preamble.stdinHead.length > 0 ? { stdinHead: preamble.stdinHead } : {}),
    });
  }

  private async runText(
    host: string,
    text: string,
    shown: string,
    id: number,
    options: ExecOptions & { stdinHead?: Buffer },
  ): Promise<ExecResult> {
    const step = options.step ?? 'run a command';
    const connection = await this.connection(host, step);
    const slot = this.slot(host);
    slot.stats.roundTrips++;
    const started = Date.now();
    try {
      const result = await connection.exec(text, {
        ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
        ...(options.stdinHead ? { stdinHead: options.stdinHead } : {}),
        ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
        ...(options.onStdout ? { onStdout: options.onStdout } : {}),
        ...(options.onStderr ? { onStderr: options.onStderr } : {}),
        ...(options.capture !== undefined ? { capture: options.capture } : {}),
        ...(options.stdoutTo ? { stdoutTo: options.stdoutTo } : {}),
      });
      this.options.log?.({ type: 'exit', host, id, code: result.code, ms: Date.now() - started });
      return result;
    } catch (error) {
      throw sshFailure(error, this.errorContext(slot.target, step, shown, options.timeoutMs));
    } finally {
      this.armIdleTimer(slot);
    }
  }

  /** Like exec, but a non-zero exit becomes an SshError quoting the command's first line of stderr. */
  async run(host: string, command: RemoteCommand, options: ExecOptions = {}): Promise<ExecResult> {
    const result = await this.exec(host, command, options);
    if (result.code !== 0) {
      const shown = this.redact(commandText(command));
      const said = firstLine(this.redact(result.stderr)) || firstLine(this.redact(result.stdout));
      const step = options.step ? ` during ${options.step}` : '';
      throw new SshError(
        `\`${shown.length > 120 ? `${shown.slice(0, 117)}...` : shown}\` failed on ${host}${step} with exit code ${result.code}${said ? `: ${said}` : ''}.`,
        'unknown',
        host,
      );
    }
    return result;
  }

  /**
   * Runs several commands one after another in ONE round trip and returns a
   * result per command that ran (with stopOnError, the default, the batch
   * stops after the first failure, so the last result is the failing one).
   * Logged as one exec per command. Commands must not read stdin.
   */
  async execBatch(
    host: string,
    commands: readonly RemoteCommand[],
    options: Omit<ExecOptions, 'stdin' | 'onStdout' | 'onStderr' | 'capture'> & {
      stopOnError?: boolean;
    } = {},
  ): Promise<BatchResult[]> {
    if (commands.length === 0) return [];
    const nonce = newBatchNonce();
    const id = this.nextId++;
    for (const command of commands) {
      this.options.log?.({
        type: 'exec',
        host,
        id,
        ...(options.step ? { step: options.step } : {}),
        command: this.redact(commandText(command)),
      });
    }
    const preamble = envPreamble(options.env);
    const script = batchScript(commands, nonce, options.stopOnError !== false);
    const shown = this.redact(commands.map((c) => commandText(c)).join(' ; '));
    const raw = await this.runText(
      host,
      withRemoteTimeout(preamble.script + script, options.timeoutMs),
      shown,
      id,
      {
        ...options,
        ...(preamble.stdinHead.length > 0 ? { stdinHead: preamble.stdinHead } : {}),
      },
    );
    const results = splitBatchOutput(raw.stdout, raw.stderr, nonce);
    if (
      results.length < commands.length &&
      (options.stopOnError === false || results.every((r) => r.code === 0))
    ) {
      // The shell itself ended early (killed, or a command replaced it with exec): report it on the next command.
      results.push({
        code: raw.code === 0 ? 255 : raw.code,
        stdout: batchTail(raw.stdout, nonce),
        stderr: batchTail(raw.stderr, nonce),
      });
    }
    return results;
  }

  /**
   * Writes `content` to `path` on `host` in one round trip, atomically
   * (temporary file + mv), with the given mode and owner. The content never
   * appears in logs.
   */
  async upload(
    host: string,
    path: string,
    content: string | Buffer,
    options: UploadOptions & { step?: string } = {},
  ): Promise<void> {
    const text = uploadCommand(path, options);
    const id = this.nextId++;
    const bytes = Buffer.byteLength(content);
    const mode = formatMode(options.mode ?? 0o644);
    this.options.log?.({
      type: 'upload',
      host,
      id,
      ...(options.step ? { step: options.step } : {}),
      path: this.redact(path),
      bytes,
      mode,
      ...(options.owner ? { owner: options.owner } : {}),
    });
    const step = options.step ?? `upload ${path}`;
    const result = await this.runText(host, text, `upload ${this.redact(path)}`, id, {
      step,
      stdin: content,
    });
    if (result.code !== 0) {
      throw new SshError(
        `Could not write ${this.redact(path)} on ${host} during ${step}: ${firstLine(result.stderr) || `exit code ${result.code}`}; check that ${this.target(host).user} may write there.`,
        'unknown',
        host,
      );
    }
  }

  /**
   * Remote port forward (ssh -R): the server's localhost:remotePort reaches
   * this machine's localHost:localPort while the handle is open. Used for
   * Kamal's local registry (`registry.server: localhost:PORT`).
   */
  async forwardRemote(
    host: string,
    options: {
      remotePort: number;
      localPort?: number;
      localHost?: string;
      bindAddress?: string;
      step?: string;
    },
  ): Promise<RemoteForwardHandle> {
    const step = options.step ?? `forward port ${options.remotePort}`;
    const connection = await this.connection(host, step);
    const localPort = options.localPort ?? options.remotePort;
    const localHost = options.localHost ?? '127.0.0.1';
    const bind = options.bindAddress ?? 'localhost';
    try {
      const handle = await connection.forwardRemote(options.remotePort, localPort, bind, localHost);
      this.options.log?.({
        type: 'forward',
        host,
        remote: `${bind}:${handle.remotePort}`,
        local: `${localHost}:${localPort}`,
      });
      return handle;
    } catch (error) {
      if (classifySshError(error) === 'dropped')
        throw sshFailure(error, this.errorContext(this.target(host), step));
      throw new SshError(
        `The server ${host} would not listen on ${bind}:${options.remotePort} for the port forward during ${step} (${(error as Error).message}); free that port on the server or check AllowTcpForwarding in its sshd_config.`,
        'unknown',
        host,
        error,
      );
    }
  }

  /** Forwards remotePort on every host at once and runs `fn`; the forwards are removed afterwards. */
  async withRemoteForward<T>(
    hosts: readonly string[],
    options: { remotePort: number; localPort?: number; localHost?: string; step?: string },
    fn: () => Promise<T>,
  ): Promise<T> {
    const settled = await Promise.allSettled(hosts.map((host) => this.forwardRemote(host, options)));
    const handles = settled
      .filter((s): s is PromiseFulfilledResult<RemoteForwardHandle> => s.status === 'fulfilled')
      .map((s) => s.value);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    try {
      if (failed) throw failed.reason;
      return await fn();
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  }

  /** Connections and round trips per host (jump hosts appear as user@host:port). */
  stats(): Record<string, HostStats> {
    const out: Record<string, HostStats> = {};
    for (const [host, slot] of this.slots) out[host] = { ...slot.stats };
    return out;
  }

  /** Closes every connection; targets first, then the jump hosts they go through. */
  async close(): Promise<void> {
    this.closed = true;
    const slots = [...this.slots.values()];
    for (const slot of slots) if (slot.idleTimer) clearTimeout(slot.idleTimer);
    this.aborter.abort();
    const direct = slots.filter((s) => !s.isJump && s.connection).map((s) => s.connection!);
    const jumps = slots.filter((s) => s.isJump && s.connection).map((s) => s.connection!);
    await Promise.all(direct.map((c) => c.close()));
    await Promise.all(jumps.map((c) => c.close()));
  }
}
