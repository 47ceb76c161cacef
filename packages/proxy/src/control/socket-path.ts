// Where the CLI and the running server meet, as kamal-proxy decides it:
// $KAMAL_PROXY_SOCKET, else $XDG_RUNTIME_DIR/kamal-proxy.sock, else <tmp>/kamal-proxy.sock.
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env['KAMAL_PROXY_SOCKET'];
  if (explicit) return explicit;
  return join(env['XDG_RUNTIME_DIR'] || tmpdir(), 'kamal-proxy.sock');
}
