/**
 * Pruning old app containers and images (Kamal's Commands::Prune). Both go by
 * the `service` label only (all destinations of the service), as Kamal does.
 */
import type { Config } from '../config/index.js';
import { docker, pipe, type Command } from './base.js';

export class PruneCommands {
  constructor(readonly config: Config) {}

  private get serviceFilter(): string[] {
    return ['--filter', `label=service=${this.config.service}`];
  }

  /** `docker image prune --force --filter label=service=<service>` (untagged images only). */
  danglingImages(): Command {
    return docker('image', 'prune', '--force', ...this.serviceFilter);
  }

  /** `docker rmi` every tagged image of the service that no container uses, except `<repo>:latest[-dest]` and `<repo>:<none>`. */
  taggedImages(): Command {
    return pipe(
      docker('image', 'ls', ...this.serviceFilter, '--format', "'{{.ID}} {{.Repository}}:{{.Tag}}'"),
      ['grep', '-v', '-w', `"${this.activeImageList()}"`],
      ['while read image tag; do docker rmi $tag; done'],
    );
  }

  /** Remove stopped (created/exited/dead) containers of the service beyond the newest `retain`. */
  appContainers(retain: number): Command {
    return pipe(
      this.stoppedContainerIds(),
      ['tail', '-n', `+${retainOffset(retain)}`],
      ['while read container_id; do docker rm $container_id; done'],
    );
  }

  /**
   * taggedImages with one `docker rmi` for all the unused tags instead of one
   * per tag (the same images go; Docker still removes the others when one
   * cannot be).
   */
  taggedImagesAtOnce(): Command {
    // The same lines and grep as taggedImages (a container shows its image by id once the
    // tag moved on, so the id stays in the line), then only the tags.
    const list = pipe(
      docker('image', 'ls', ...this.serviceFilter, '--format', "'{{.ID}} {{.Repository}}:{{.Tag}}'"),
      ['grep', '-v', '-w', `"${this.activeImageList()}"`],
      ['cut', '-d', "' '", '-f', '2'],
    );
    return [
      `wharf_tags=$(${list.join(' ')})`,
      ';',
      '[',
      '-z',
      '"$wharf_tags"',
      ']',
      '||',
      'docker',
      'rmi',
      '$wharf_tags',
    ];
  }

  /** appContainers with one `docker rm` for all the containers beyond `retain`. */
  appContainersAtOnce(retain: number): Command {
    const list = pipe(this.stoppedContainerIds(), ['tail', '-n', `+${retainOffset(retain)}`]);
    return [
      `wharf_old=$(${list.join(' ')})`,
      ';',
      '[',
      '-z',
      '"$wharf_old"',
      ']',
      '||',
      'docker',
      'rm',
      '$wharf_old',
    ];
  }

  private stoppedContainerIds(): Command {
    return docker(
      'ps',
      '-q',
      '-a',
      ...this.serviceFilter,
      ...['created', 'exited', 'dead'].flatMap((s) => ['--filter', `status=${s}`]),
    );
  }

  /** Images used by any container of the service, then latest and `<none>` (a grep alternation). */
  private activeImageList(): string {
    const c = this.config;
    return `$(docker container ls -a --format '{{.Image}}\\|' --filter label=service=${c.service} | tr -d '\\n')${c.latestImage}\\|${c.repository}:<none>`;
  }
}

/** `tail -n +N` that skips the newest `retain` lines. */
function retainOffset(retain: number): number {
  if (!Number.isInteger(retain) || retain < 1) {
    throw new Error(`retain must be a whole number of at least 1 (got ${retain})`);
  }
  return retain + 1;
}
