/**
 * One SSH connection to one host (ssh2 Client): opened once, then carries
 * many exec channels at a time (bounded so a stock sshd's MaxSessions=10 is
 * never exceeded), remote port forwards and forwardOut streams for jump
 * hosts. Errors here are raw; the pool maps them to sentences.
 */
import { connect as netConnect } from 'node:net';
import type { Duplex, Readable, Writable } from 'node:stream';
import ssh2 from 'ssh2';
import type { HostKeyStore } from './host-keys.js';
import type { AuthPlan } from './identities.js';
import { SshDropError } from './errors.js';
import { Semaphore } from './semaphore.js';
import type { ConnectTarget } from './target.js';

/** OpenSSH's default MaxSessions. */
export const DEFAULT_CHANNELS_PER_CONNECTION = 10;

export interface RawExecOptions {
  stdin?: string | Buffer | Readable;
  /** Bytes written before `stdin` (the env preamble's values). */
  stdinHead?: Buffer;
  timeoutMs?: number;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Keep stdout/stderr in the result; default true. */
  capture?: boolean;
  /**
   * Stream stdout into this sink with backpressure (the remote command is
   * slowed to the sink's pace). Ended after an exit status of 0; destroyed
   * with an error on any other outcome, so a reader never takes a cut stream
   * for a whole one.
   */
  stdoutTo?: Writable;
}

export interface RawExecResult {
  code: number;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface OpenOptions {
  hostKeys: HostKeyStore;
  auth: AuthPlan;
  /** A ready stream to run SSH over (jump host channel or proxy command); else TCP to target.host:port. */
  sock?: Duplex;
  channelsPerConnection?: number;
  debug?: (message: string) => void;
  /** Gives up the handshake (the pool is closing). */
  signal?: AbortSignal;
}

export interface RemoteForwardHandle {
  bindAddress: string;
  remotePort: number;
  close(): Promise<void>;
}

/** The server refused to open a channel (its MaxSessions is lower than our limit). */
class ChannelRefused extends Error {
  override readonly cause: Error;
  constructor(cause: Error) {
    super(cause.message);
    this.cause = cause;
  }
}

interface ForwardRoute {
  localHost: string;
  localPort: number;
}

export class SshConnection {
  readonly target: ConnectTarget;
  private readonly client: ssh2.Client;
  private readonly channels: Semaphore;
  private closedWith: Error | undefined;
  private readonly closeListeners: ((error: Error | undefined) => void)[] = [];
  private readonly routes = new Map<number, ForwardRoute>();
  private readonly inFlight = new Set<() => void>();
  /** Host key check outcome: 'known' or 'recorded' (first use). */
  hostKeyStatus: 'known' | 'recorded' | 'unchecked' | undefined;
  lastUsed = Date.now();

  private constructor(target: ConnectTarget, client: ssh2.Client, channels: number) {
    this.target = target;
    this.client = client;
    this.channels = new Semaphore(channels);
    client.on('close', () => this.markClosed(new SshDropError('connection closed')));
    client.on('error', (error) => this.markClosed(error));
    client.on('tcp connection', (info, accept, reject) => this.onForwardedConnection(info, accept, reject));
  }

  /** Connects, verifies the host key and authenticates; rejects with the raw cause. */
  static open(target: ConnectTarget, options: OpenOptions): Promise<SshConnection> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      let settled = false;
      let hostKeyError: Error | undefined;
      let hostKeyStatus: SshConnection['hostKeyStatus'];
      const connection = new SshConnection(
        target,
        client,
        options.channelsPerConnection ?? DEFAULT_CHANNELS_PER_CONNECTION,
      );
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        client.destroy();
        if (options.sock) options.sock.destroy();
        reject(hostKeyError ?? error);
      };
      client.once('ready', () => {
        if (settled) return;
        settled = true;
        connection.hostKeyStatus = hostKeyStatus;
        resolve(connection);
      });
      client.on('error', fail);
      client.on('close', () => fail(new SshDropError('connection closed before it was ready')));
      if (options.signal) {
        if (options.signal.aborted) return fail(new SshDropError('the pool was closed'));
        const onAbort = (): void => fail(new SshDropError('the pool was closed'));
        options.signal.addEventListener('abort', onAbort, { once: true });
        client.once('ready', () => options.signal!.removeEventListener('abort', onAbort));
        client.once('close', () => options.signal!.removeEventListener('abort', onAbort));
      }

      void options.hostKeys.algorithmsFor(target.host, target.port, target.knownHostsFiles).then(
        (serverHostKey) => {
          if (settled) return;
          try {
            client.connect({
              host: target.host,
              port: target.port,
              username: target.user,
              ...(options.sock ? { sock: options.sock as unknown as ssh2.ConnectConfig['sock'] } : {}),
              readyTimeout: target.connectTimeoutMs,
              keepaliveInterval: target.keepaliveIntervalMs,
              keepaliveCountMax: 3,
              algorithms: { serverHostKey: serverHostKey as ssh2.ServerHostKeyAlgorithm[] },
              hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
                options.hostKeys
                  .verify(target.host, target.port, key, target.knownHostsFiles, target.hostKeyChecking)
                  .then(
                    (status) => {
                      hostKeyStatus = status;
                      verify(true);
                    },
                    (error: Error) => {
                      hostKeyError = error;
                      verify(false);
                    },
                  );
              },
              authHandler: authSequence(target.user, options.auth),
              ...(target.forwardAgent ? { agent: target.forwardAgent, agentForward: true } : {}),
              ...(options.debug ? { debug: options.debug } : {}),
            } as ssh2.ConnectConfig);
            // SSH sends small packets back to back (NEWKEYS then SERVICE_REQUEST; exec then EOF):
            // with Nagle and the server's delayed ACK each pair would wait ~40 ms.
            client.setNoDelay(true);
          } catch (error) {
            fail(error as Error);
          }
        },
        (error: Error) => fail(error),
      );
    });
  }

  get alive(): boolean {
    return this.closedWith === undefined;
  }

  get channelLimit(): number {
    return this.channels.limit;
  }

  get channelsInUse(): number {
    return this.channels.inUse;
  }

  onClose(listener: (error: Error | undefined) => void): void {
    this.closeListeners.push(listener);
  }

  private markClosed(error: Error): void {
    if (this.closedWith) return;
    this.closedWith = error;
    for (const abort of [...this.inFlight]) abort();
    for (const listener of this.closeListeners) listener(error);
  }

  /** Runs one command on a new channel. Rejects with SshDropError when the connection goes away first. */
  async exec(command: string, options: RawExecOptions = {}): Promise<RawExecResult> {
    let loneRefusals = 0;
    for (let attempt = 0; ; attempt++) {
      const release = await this.channels.acquire();
      let pause = 0;
      try {
        return await this.execOnChannel(command, options);
      } catch (error) {
        // A server with a lower MaxSessions refuses channels beyond it: lower the limit below what
        // is in use and queue again. Refused with nothing else in use: the server may not have
        // finished closing our previous sessions yet, so wait a little (three times) before
        // taking the refusal as real.
        const others = this.channels.inUse - 1;
        const refused = error instanceof ChannelRefused;
        if (refused && others === 0 && loneRefusals < 3 && !this.closedWith) {
          pause = 100 * 2 ** loneRefusals++;
        } else if (!refused || others === 0 || attempt >= 50) {
          throw refused ? error.cause : error;
        } else {
          this.channels.setLimit(Math.min(this.channels.limit, others));
        }
      } finally {
        release();
        this.lastUsed = Date.now();
      }
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
  }

  private execOnChannel(command: string, options: RawExecOptions): Promise<RawExecResult> {
    return new Promise((resolve, reject) => {
      if (this.closedWith) return reject(new SshDropError('connection is closed'));
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      const capture = options.capture !== false;
      let exit: { code: number; signal?: string } | undefined;
      const finish = (error: Error | undefined): void => {
        if (settled) return;
        settled = true;
        if (timer) clearTimeout(timer);
        this.inFlight.delete(abort);
        const sink = options.stdoutTo;
        if (sink) {
          if (!error && exit!.code === 0) sink.end();
          else sink.destroy(error ?? new Error(`the command exited with status ${exit!.code}`));
        }
        if (error) return reject(error);
        resolve({
          code: exit!.code,
          ...(exit!.signal ? { signal: exit!.signal } : {}),
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
        });
      };
      const abort = (): void => finish(new SshDropError('connection lost while the command ran'));
      this.inFlight.add(abort);
      try {
        this.client.exec(
          command,
          // ssh2 reads agentForward here; its typings don't list it.
          (this.target.forwardAgent ? { agentForward: true } : {}) as ssh2.ExecOptions,
          (error, stream) => {
            if (error) {
              this.inFlight.delete(abort);
              settled = true;
              if (this.closedWith) return reject(new SshDropError(error.message));
              if (/open failed|administratively prohibited|resource shortage/i.test(error.message))
                return reject(new ChannelRefused(error));
              return reject(error);
            }
            if (settled) {
              stream.close();
              return;
            }
            if (options.timeoutMs !== undefined) {
              timer = setTimeout(() => {
                try {
                  stream.signal('KILL');
                } catch {
                  // signal requests are best effort
                }
                stream.close();
                finish(new SshDropError(`no exit within ${options.timeoutMs} ms`, 'command-timeout'));
              }, options.timeoutMs);
            }
            stream.on('data', (chunk: Buffer) => {
              if (capture) out.push(chunk);
              options.onStdout?.(chunk);
            });
            if (options.stdoutTo) stream.pipe(options.stdoutTo, { end: false });
            stream.stderr.on('data', (chunk: Buffer) => {
              if (capture) err.push(chunk);
              options.onStderr?.(chunk);
            });
            stream.on('exit', (code: number | null, signal?: string) => {
              exit =
                code === null || code === undefined
                  ? { code: 128 + signalNumber(signal), ...(signal ? { signal } : {}) }
                  : { code };
            });
            stream.on('close', () => {
              if (exit) return finish(undefined);
              // ssh2 emits the client's close before closing its channels, so a dead connection shows here.
              setImmediate(() => {
                if (this.closedWith || !exit)
                  finish(new SshDropError('channel closed without an exit status'));
                else finish(undefined);
              });
            });
            stream.on('error', () => undefined);
            writeStdin(stream, options);
          },
        );
      } catch (error) {
        this.inFlight.delete(abort);
        settled = true;
        reject(this.closedWith ? new SshDropError((error as Error).message) : error);
      }
    });
  }

  /** Opens a direct-tcpip channel to host:port as seen from this server (for jump hosts). */
  forwardOut(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      if (this.closedWith) return reject(new SshDropError('connection is closed'));
      this.client.forwardOut('127.0.0.1', 0, host, port, (error, stream) => {
        if (error) return reject(error);
        this.lastUsed = Date.now();
        resolve(stream as unknown as Duplex);
      });
    });
  }

  /**
   * Asks the server to listen on bindAddress:remotePort and sends each
   * connection to localHost:localPort on this machine (ssh -R).
   */
  forwardRemote(
    remotePort: number,
    localPort: number,
    bindAddress = 'localhost',
    localHost = '127.0.0.1',
  ): Promise<RemoteForwardHandle> {
    return new Promise((resolve, reject) => {
      if (this.closedWith) return reject(new SshDropError('connection is closed'));
      this.client.forwardIn(bindAddress, remotePort, (error, boundPort) => {
        if (error) return reject(error);
        const port = remotePort === 0 ? boundPort : remotePort;
        this.routes.set(port, { localHost, localPort });
        this.lastUsed = Date.now();
        resolve({
          bindAddress,
          remotePort: port,
          close: () =>
            new Promise<void>((done) => {
              this.routes.delete(port);
              if (this.closedWith) return done();
              try {
                this.client.unforwardIn(bindAddress, remotePort, () => done());
              } catch {
                done();
              }
            }),
        });
      });
    });
  }

  private onForwardedConnection(
    info: ssh2.TcpConnectionDetails,
    accept: () => ssh2.ClientChannel,
    reject: () => void,
  ): void {
    const route = this.routes.get(info.destPort);
    if (!route) return reject();
    this.lastUsed = Date.now();
    const local = netConnect(route.localPort, route.localHost);
    let channel: ssh2.ClientChannel | undefined;
    local.once('connect', () => {
      channel = accept();
      channel.on('error', () => local.destroy());
      local.pipe(channel).pipe(local);
    });
    local.on('error', () => {
      if (channel) channel.close();
      else reject();
    });
  }

  /** Ends the connection (in-flight commands fail as dropped). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.closedWith) return resolve();
      this.client.once('close', () => resolve());
      this.markClosed(new SshDropError('connection closed by wharf'));
      this.client.end();
      setTimeout(resolve, 1000).unref();
    });
  }
}

function writeStdin(stream: ssh2.ClientChannel, options: RawExecOptions): void {
  if (options.stdinHead && options.stdinHead.length > 0) stream.write(options.stdinHead);
  const stdin = options.stdin;
  if (stdin === undefined) {
    stream.end();
  } else if (typeof stdin === 'string' || Buffer.isBuffer(stdin)) {
    stream.end(stdin);
  } else {
    stdin.on('error', () => stream.close());
    stdin.pipe(stream);
  }
}

const SIGNALS: Record<string, number> = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  ABRT: 6,
  KILL: 9,
  SEGV: 11,
  PIPE: 13,
  ALRM: 14,
  TERM: 15,
};

function signalNumber(signal: string | undefined): number {
  return (signal && SIGNALS[signal.replace(/^SIG/, '')]) || 0;
}

/** The ssh2 authHandler: ssh-agent first (if allowed), then each key in order. */
function authSequence(user: string, plan: AuthPlan): ssh2.AuthHandlerMiddleware {
  const attempts: ssh2.AnyAuthMethod[] = [];
  if (plan.agent) attempts.push({ type: 'agent', username: user, agent: plan.agent });
  for (const identity of plan.identities)
    attempts.push({ type: 'publickey', username: user, key: identity.key });
  let next = 0;
  return (methodsLeft, _partial, callback) => {
    while (next < attempts.length) {
      const attempt = attempts[next++]!;
      // Before the first attempt ssh2 passes null: the server has not said what it allows yet.
      const left = methodsLeft as ssh2.AuthenticationType[] | null;
      if (left === null || left.includes('publickey')) return callback(attempt);
    }
    // ssh2 reads false as "no more methods"; its typings don't say so.
    return callback(false as unknown as ssh2.AnyAuthMethod);
  };
}
