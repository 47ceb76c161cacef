/**
 * Registry commands on the hosts (Kamal's Commands::Registry).
 *
 * Deliberate difference from Kamal: `docker login` reads the password from
 * stdin (`--password-stdin`), and user name and password travel as
 * environment variables that the SSH layer sends on stdin, so no credential
 * is ever in a command line, a process listing or a log. The login itself
 * (from src/build/pull.ts) writes the same ~/.docker/config.json as Kamal's.
 * The local-registry commands (`registry.server: localhost:PORT`) run on this
 * machine and come from src/build/registry.ts.
 */
import { localRegistryRemoveCommands, localRegistrySetupCommands } from '../build/registry.js';
import { remoteLoginStep } from '../build/pull.js';
import { kamalText } from '../build/words.js';
import type { Config, Registry, SecretLookup } from '../config/index.js';
import { commandText } from '../ssh/quote.js';
import { any, combine, docker, type Command, type EnvCommand } from './base.js';

/** The name of Kamal's local registry container. */
export const LOCAL_REGISTRY_CONTAINER = 'kamal-docker-registry';

export class RegistryCommands {
  constructor(readonly config: Config) {}

  /**
   * `printf '%s\n' "$WHARF_REGISTRY_PASSWORD" | docker login <server> -u "$WHARF_REGISTRY_USERNAME" --password-stdin`
   * with the credentials in `env`; undefined for a local registry. Throws a UserError when a credential is missing.
   */
  login(lookup: SecretLookup, registry: Registry = this.config.registry): EnvCommand | undefined {
    if (registry.local) return undefined;
    const step = remoteLoginStep({
      server: registry.server,
      username: registry.username(lookup),
      password: registry.password(lookup),
    });
    if (!step) return undefined;
    return { command: step.command.map((word) => commandText([word])), env: step.env ?? {} };
  }

  /** `docker logout [<server>]` */
  logout(registry: Registry = this.config.registry): Command {
    return docker('logout', registry.server);
  }

  /** Local registry: `docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:<port>:5000 --name kamal-docker-registry registry:3` (runs on this machine). */
  setup(registry: Registry = this.config.registry): Command {
    const [start, run] = localRegistrySetupCommands(registry.localPort ?? 0);
    return any(kamalText(start).split(' '), kamalText(run).split(' '));
  }

  /** Local registry: `docker stop kamal-docker-registry && docker rm kamal-docker-registry`. */
  remove(): Command {
    const [stop, rm] = localRegistryRemoveCommands();
    return combine([kamalText(stop).split(' '), kamalText(rm).split(' ')]);
  }

  get local(): boolean {
    return this.config.registry.local;
  }
}
