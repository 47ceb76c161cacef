/**
 * Registry commands on this machine: `docker login` with the password on
 * stdin (never on argv, unlike Kamal's `-p`), and Kamal's local-registry mode
 * (`registry.server: localhost:PORT`: no login; a `registry:3` container on
 * 127.0.0.1:PORT unless something already answers there).
 */
import { request } from 'node:http';
import { command, words, type Command } from './words.js';
import { isLocalRegistry, localRegistryPort } from './spec.js';

export interface RegistryCredentials {
  /** undefined: Docker Hub. */
  server?: string;
  username?: string;
  password?: string;
}

/** `docker login [SERVER] -u USER --password-stdin`; undefined for a local registry. The password goes on stdin. */
export function loginCommand(registry: RegistryCredentials): Command | undefined {
  if (isLocalRegistry(registry.server)) return undefined;
  return command(
    words(
      'docker',
      'login',
      ...(registry.server ? [registry.server] : []),
      '-u',
      registry.username ?? '',
      '--password-stdin',
    ),
  );
}

/** `docker logout [SERVER]`. */
export function logoutCommand(registry: RegistryCredentials): Command {
  return command(words('docker', 'logout', ...(registry.server ? [registry.server] : [])));
}

/** Kamal's local registry: `docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:PORT:5000 --name kamal-docker-registry registry:3`. */
export function localRegistrySetupCommands(port: number): [start: Command, run: Command] {
  return [
    command(words('docker', 'start', 'kamal-docker-registry')),
    command(
      words(
        'docker',
        'run',
        '--detach',
        '-p',
        `127.0.0.1:${port}:5000`,
        '--name',
        'kamal-docker-registry',
        'registry:3',
      ),
    ),
  ];
}

export function localRegistryRemoveCommands(): [stop: Command, rm: Command] {
  return [
    command(words('docker', 'stop', 'kamal-docker-registry')),
    command(words('docker', 'rm', 'kamal-docker-registry')),
  ];
}

/** True when a registry answers `GET /v2/` on 127.0.0.1:PORT (any HTTP status: 200, or 401 when it wants auth). */
export function registryAnswers(port: number, timeoutMs = 3000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v2/', method: 'GET', timeout: timeoutMs },
      (res) => {
        res.resume();
        resolve(res.headers['docker-distribution-api-version'] !== undefined || res.statusCode === 200);
      },
    );
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

export { isLocalRegistry, localRegistryPort };
