/**
 * Docker on the hosts (Kamal's Commands::Docker): checks, installation through
 * get.docker.com for a superuser, docker group membership, and the `kamal`
 * network shared by app, accessories and proxy.
 */
import { DOCKER_NETWORK, any, docker, pipe, shell, type Command } from './base.js';

/** Text `docker network create` prints when the network exists (not an error for wharf). */
export const NETWORK_EXISTS_MARKER = 'already exists';

/** `sh -c 'curl -fsSL https://get.docker.com || wget -O - https://get.docker.com || echo "exit 1"' | sh` */
export function install(): Command {
  return pipe(
    shell(
      any(
        ['curl', '-fsSL', 'https://get.docker.com'],
        ['wget', '-O -', 'https://get.docker.com'],
        ['echo', '"exit 1"'],
      ),
    ),
    ['sh'],
  );
}

/** `docker -v` (fails when Docker is not installed). */
export function installed(): Command {
  return docker('-v');
}

/** `docker version` (fails when the daemon is not reachable). */
export function running(): Command {
  return docker('version');
}

/** Root, or allowed to run `sudo usermod` without a password. */
export function superuser(): Command {
  return ['[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null'];
}

export function root(): Command {
  return ['[ "${EUID:-$(id -u)}" -eq 0 ]'];
}

export function inDockerGroup(): Command {
  return ['id -nG "${USER:-$(id -un)}" | grep -qw docker'];
}

export function addToDockerGroup(): Command {
  return ['sudo -n usermod -aG docker "${USER:-$(id -un)}"'];
}

/** Ends the SSH session so the next one picks up the new group. */
export function refreshSession(): Command {
  return ['kill -HUP $PPID'];
}

/** `docker network create kamal` */
export function createNetwork(): Command {
  return docker('network', 'create', DOCKER_NETWORK);
}
