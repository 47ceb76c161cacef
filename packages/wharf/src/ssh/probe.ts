import ssh2 from 'ssh2';
import { hostKeyLine } from './keys.js';

export interface ProbeTarget {
  host: string;
  port: number;
  user: string;
  privateKey: string | Buffer;
}

export interface ProbeResult {
  hostKey: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Opens one SSH connection, runs one command, closes. For health probes
 * (fleet readiness and status), not for deploys.
 */
export function sshProbe(target: ProbeTarget, command: string, timeoutMs = 10_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    let hostKey = '';
    let settled = false;
    const timer = setTimeout(() => finish(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    const finish = (error: Error | undefined, result?: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (error) reject(error);
      else resolve(result!);
    };
    client.on('ready', () => {
      client.exec(command, (error, stream) => {
        if (error) return finish(error);
        let stdout = '';
        let stderr = '';
        stream.on('data', (d: Buffer) => (stdout += d.toString()));
        stream.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        stream.on('close', (code: number | null) =>
          finish(undefined, { hostKey, code: code ?? 255, stdout, stderr }),
        );
      });
    });
    client.on('error', (error) => finish(error));
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey: target.privateKey,
      readyTimeout: timeoutMs,
      hostVerifier: (key: Buffer) => {
        hostKey = hostKeyLine(key);
        return true;
      },
    });
  });
}
