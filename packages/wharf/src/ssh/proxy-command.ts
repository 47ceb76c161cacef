/**
 * `ssh.proxy_command` / ProxyCommand: a local command whose stdin and stdout
 * carry the SSH connection (e.g. `ssh -W %h:%p bastion`).
 */
import { spawn } from 'node:child_process';
import { Duplex } from 'node:stream';

export interface ProxyCommandSocket {
  stream: Duplex;
  /** The last lines the command wrote to stderr, for error messages. */
  stderr(): string;
  kill(): void;
}

export function spawnProxyCommand(command: string, env: NodeJS.ProcessEnv = process.env): ProxyCommandSocket {
  const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-2000);
  });
  const stream = Duplex.from({ readable: child.stdout!, writable: child.stdin! });
  // When the command ends or cannot start, the "socket" closes, as a TCP socket would.
  const fail = (error?: Error): void => {
    setImmediate(() => {
      if (!stream.destroyed) stream.destroy(error);
    });
  };
  child.on('error', (error) => fail(error));
  child.on('exit', () => fail());
  child.stdin!.on('error', () => undefined);
  return {
    stream,
    stderr: () => stderr.trim(),
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
