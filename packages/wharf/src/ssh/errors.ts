/**
 * Turning whatever went wrong on an SSH connection into one sentence that
 * names the host and the step and says what to do.
 */
import { UserError } from '../util/errors.js';
import { HostKeyError } from './host-keys.js';

export type SshFailureKind =
  | 'refused'
  | 'timeout'
  | 'dns'
  | 'unreachable'
  | 'auth'
  | 'host-key'
  | 'dropped'
  | 'handshake'
  | 'command-timeout'
  | 'unknown';

export interface SshErrorContext {
  /** The host as the user named it (deploy.yml). */
  host: string;
  port?: number;
  user?: string;
  /** What wharf was doing, e.g. "pull the app image"; default "connect". */
  step?: string;
  /** The (already redacted) command that was running, if any. */
  command?: string;
  /** The jump host or proxy command in between, for messages. */
  via?: string;
  timeoutMs?: number;
  /** Keys offered, for auth failures. */
  keys?: string[];
  /** When the host is a jump host: the target it was opened for. */
  jumpFor?: string;
  /** True while the connection is being set up (a drop then means the server hung up on the handshake). */
  connecting?: boolean;
}

/** Thrown by the SSH layer: a UserError that also says what kind of failure and which host. */
export class SshError extends UserError {
  readonly kind: SshFailureKind;
  readonly host: string;
  /** What wharf was doing when it failed ("hand … to wharf-proxy"), when known. */
  step: string | undefined;
  constructor(message: string, kind: SshFailureKind, host: string, cause?: unknown) {
    super(message, cause === undefined ? {} : { cause });
    this.name = 'SshError';
    this.kind = kind;
    this.host = host;
  }
}

/** Marker for failures wharf itself detects (a channel that ended without exit status, a command timeout). */
export class SshDropError extends Error {
  readonly kind: 'dropped' | 'command-timeout';
  constructor(message: string, kind: 'dropped' | 'command-timeout' = 'dropped') {
    super(message);
    this.kind = kind;
  }
}

/** Which kind of failure a raw error from ssh2, net or dns is. */
export function classifySshError(error: unknown): SshFailureKind {
  if (error instanceof SshError) return error.kind;
  if (error instanceof HostKeyError) return 'host-key';
  if (error instanceof SshDropError) return error.kind;
  const e = error as { code?: string; level?: string; message?: string } | undefined;
  const code = e?.code ?? '';
  const level = e?.level ?? '';
  const message = e?.message ?? String(error);
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || level === 'client-dns')
    return 'dns';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EHOSTDOWN' || code === 'ENETDOWN')
    return 'unreachable';
  if (
    code === 'ETIMEDOUT' ||
    level === 'client-timeout' ||
    /Timed out while waiting for handshake/i.test(message)
  )
    return 'timeout';
  if (level === 'client-authentication' || /authentication methods failed/i.test(message)) return 'auth';
  if (/host key/i.test(message) && /verif|mismatch/i.test(message)) return 'host-key';
  if (
    code === 'ECONNRESET' ||
    code === 'EPIPE' ||
    code === 'ECONNABORTED' ||
    /Connection lost before handshake|No response from server|Not connected|Keepalive timeout|socket hang up|connection (was )?(closed|lost|reset)/i.test(
      message,
    )
  )
    return 'dropped';
  if (level === 'handshake' || level === 'protocol' || /handshake|negotiat/i.test(message))
    return 'handshake';
  return 'unknown';
}

function short(command: string): string {
  const one = command.replace(/\s+/g, ' ').trim();
  return one.length > 120 ? `${one.slice(0, 117)}...` : one;
}

/** The one-sentence error for `error` on the host in `context`. Host-key errors keep their own sentence. */
export function sshFailure(error: unknown, context: SshErrorContext): SshError {
  if (error instanceof SshError) return error;
  const kind = classifySshError(error);
  const port = context.port ?? 22;
  const user = context.user ?? 'root';
  const step = context.step ?? 'connect';
  const at = `${context.host}${port === 22 ? '' : `:${port}`}${context.jumpFor ? ` (the jump host for ${context.jumpFor})` : ''}`;
  const via = context.via ? ` (via ${context.via})` : '';
  const during = `during ${step}`;
  const running = context.command ? ` while running \`${short(context.command)}\`` : '';
  const seconds =
    context.timeoutMs !== undefined ? `${Math.round(context.timeoutMs / 100) / 10} s` : undefined;
  const detail = (error as Error | undefined)?.message ?? String(error);
  let message: string;
  switch (kind) {
    case 'host-key':
      message =
        error instanceof HostKeyError
          ? `Refusing to connect to ${error.knownName}${context.jumpFor ? ` (the jump host for ${context.jumpFor})` : ''}${via} ${during}: ${error.detail}`
          : `Host key of ${at}${via} could not be verified ${during} (${detail.replace(/\.$/, '')}).`;
      break;
    case 'refused':
      message = `Cannot connect to ${at}${via} ${during}: the connection was refused; check that sshd runs there and that ${context.jumpFor ? 'the port in ssh.proxy' : 'ssh.port'} (${port}) is right.`;
      break;
    case 'timeout':
      message = `Cannot connect to ${at}${via} ${during}: no answer${seconds ? ` within ${seconds}` : ''}; check that the server is up and its address is right.`;
      break;
    case 'dns':
      message = `Cannot connect to ${context.host}${context.jumpFor ? ` (the jump host for ${context.jumpFor})` : ''}${via} ${during}: the host name does not resolve; check the host name in your configuration.`;
      break;
    case 'unreachable':
      message = `Cannot connect to ${at}${via} ${during}: no route to the host; check that the server is up and reachable from this machine.`;
      break;
    case 'auth': {
      const keys = context.keys && context.keys.length > 0 ? ` (tried ${context.keys.join(', ')})` : '';
      message = `SSH login as ${user} on ${at}${via} was refused ${during}${keys}; add your public key to ${user === 'root' ? '/root' : `~${user}`}/.ssh/authorized_keys on the server, or set ssh.keys / ssh.key_data.`;
      break;
    }
    case 'dropped':
      if (context.connecting) {
        message = `Cannot connect to ${at}${via} ${during}: the server closed the connection before SSH was set up; check that port ${port} there is an SSH server and that it is healthy.`;
        break;
      }
      message = `The SSH connection to ${at}${via} dropped ${during}${running}; check that the server is up and run the command again.`;
      break;
    case 'command-timeout':
      message = `\`${short(context.command ?? 'the command')}\` on ${at} did not finish${seconds ? ` within ${seconds}` : ''} ${during}; check what it waits for on the server, or allow it more time.`;
      break;
    case 'handshake':
      message = `SSH handshake with ${at}${via} failed ${during} (${detail.replace(/\.$/, '')}); check that port ${port} there is an SSH server that accepts modern algorithms.`;
      break;
    default:
      message = `SSH to ${at}${via} failed ${during}${running} (${detail.replace(/\.$/, '')}).`;
  }
  const failure = new SshError(message, kind, context.host, error);
  failure.step = step;
  return failure;
}
